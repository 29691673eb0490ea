"""Helpers every cases service shares: the audit event, the active-case rule, the case lock.

Lock order for everything that writes a case's data (docs/architecture.md): the case row first,
then its items, then checks, notices, and the feed counter last. Every service that changes a
case's rows starts with `lock_case`, so two writers of one case queue instead of deadlocking.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict


def case_audit(actor: Actor, case: Case, action: str, data: dict[str, Any] | None = None) -> None:
    """A case event (it appears on the case's timeline), in the caller's transaction."""
    audit_record(
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
        data=data,
    )


def require_active(case: Case) -> None:
    if not case.is_active:
        raise Conflict(_("This case is closed. Nothing can be added to it."))


def lock_case(case_id: int) -> Case:
    """The case row, locked until the transaction ends (the first lock of every case write)."""
    return Case.objects.select_for_update(of=("self",)).select_related("organization").get(pk=case_id)
