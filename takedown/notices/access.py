"""Reaching a notice: only through its case's chokepoint (`cases.access.access_case`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from takedown.cases.access import access_case
from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.errors import NotFound
from takedown.notices.models import Escalation, Notice


def access_notice(actor: Actor, case_id: int | str | None, notice_id: int | str | None) -> tuple[Case, Notice]:
    """A notice of a case the actor may reach; missing and forbidden alike raise NotFound."""
    case = access_case(actor, case_id)
    try:
        notice = (
            case.notices.select_related("platform").filter(pk=int(notice_id)).first() if notice_id is not None else None
        )
    except (TypeError, ValueError):
        notice = None
    if notice is None:
        raise NotFound(_("We could not find that notice."))
    notice.case = case  # the case access_case loaded (with its organisation), not a second query
    return case, notice


def access_escalation(
    actor: Actor, case_id: int | str | None, escalation_id: int | str | None
) -> tuple[Case, Escalation]:
    """A proposed escalation step of a case the actor may reach; missing and forbidden alike raise NotFound."""
    case = access_case(actor, case_id)
    try:
        escalation = (
            Escalation.objects.select_related("notice__platform", "draft_notice")
            .filter(pk=int(escalation_id), notice__case=case)
            .first()
            if escalation_id is not None
            else None
        )
    except (TypeError, ValueError):
        escalation = None
    if escalation is None:
        raise NotFound(_("We could not find that step."))
    escalation.notice.case = case
    return case, escalation
