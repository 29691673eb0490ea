"""The one chokepoint through which any request reaches a case.

`access_case(actor, case_id)` applies every rule: a survivor reaches only the case they signed in
to; staff reach cases of their own organisations, and only with MFA enrolled; nobody else reaches
any. Missing and forbidden look the same (`NotFound`). Every staff access is recorded.

Survivor sessions: signing in with reference + PIN stores the case id and a time in the session;
it expires after `SURVIVOR_SESSION_IDLE_SECONDS` of inactivity and, however active, after
`SURVIVOR_SESSION_MAX_SECONDS`, so a shared or seized device does not stay signed in.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import NotFound
from takedown.core.models import ActorKind

SURVIVOR_SESSION_KEY = "survivor_case"


def survivor_pin_mark(case: Case) -> str:
    """A keyed digest of the case's current PIN hash: a session signed in with an old PIN (before an
    advocate issued a new one) no longer matches it."""
    return keyed_digest("survivor-session-pin", case.pin_hash)[:24]


def survivor_sign_in(request: HttpRequest, case: Case) -> None:
    request.session.cycle_key()  # a new session id at sign-in: no fixation
    now = time.time()
    request.session[SURVIVOR_SESSION_KEY] = {"id": case.pk, "seen": now, "since": now, "pin": survivor_pin_mark(case)}


def survivor_session_current(request: HttpRequest, case: Case) -> bool:
    """Whether the survivor's session was signed in with the case's current PIN."""
    data = request.session.get(SURVIVOR_SESSION_KEY)
    return isinstance(data, dict) and data.get("pin") == survivor_pin_mark(case)


def survivor_sign_out(request: HttpRequest) -> None:
    request.session.pop(SURVIVOR_SESSION_KEY, None)
    request.session.cycle_key()


def survivor_actor(request: HttpRequest) -> Actor | None:
    """The signed-in survivor, or None when not signed in or the session went idle."""
    data = request.session.get(SURVIVOR_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    now = time.time()
    idle = now - float(data.get("seen", 0)) > settings.SURVIVOR_SESSION_IDLE_SECONDS
    too_long = now - float(data.get("since", 0)) > settings.SURVIVOR_SESSION_MAX_SECONDS
    if idle or too_long:
        request.session.pop(SURVIVOR_SESSION_KEY, None)
        return None
    data["seen"] = now
    request.session[SURVIVOR_SESSION_KEY] = data
    return Actor(kind=ActorKind.SURVIVOR, case_id=int(data["id"]))


def access_case(actor: Actor, case_id: int | str | None) -> Case:
    not_found = NotFound(_("We could not find that case."))
    try:
        pk = int(case_id) if case_id is not None else None
    except (TypeError, ValueError):
        raise not_found from None
    if pk is None:
        raise not_found
    if actor.kind == ActorKind.SURVIVOR:
        if actor.case_id != pk:
            raise not_found
        case = Case.objects.filter(pk=pk).exclude(status=CaseStatus.WITHDRAWN).select_related("organization").first()
    elif actor.kind == ActorKind.STAFF and actor.mfa_verified and actor.organization_ids:
        # A withdrawn case is gone for everyone at once; its rows are being erased by a task.
        case = (
            Case.objects.filter(pk=pk, organization_id__in=actor.organization_ids)
            .exclude(status=CaseStatus.WITHDRAWN)
            .select_related("organization", "assignee")
            .first()
        )
        if case is not None:
            audit_record(
                actor=actor,
                action="case.viewed",
                subject_type="case",
                subject_id=case.pk,
                organization_id=case.organization_id,
            )
    else:
        case = None
    if case is None:
        raise not_found
    return case


def access_item(actor: Actor, case_id: int | str | None, item_id: int | str | None) -> tuple[Case, ReportedItem]:
    """A reported item, reached only through its case's access check."""
    case = access_case(actor, case_id)
    try:
        item = case.items.filter(pk=int(item_id)).first() if item_id is not None else None
    except (TypeError, ValueError):
        item = None
    if item is None:
        raise NotFound(_("We could not find that link."))
    return case, item
