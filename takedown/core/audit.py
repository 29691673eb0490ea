"""Writing audit events. Services call `audit_record` inside the same transaction as the change."""

from __future__ import annotations

from typing import Any

from takedown.core.access import Actor
from takedown.core.audit_actions import ACTIONS
from takedown.core.models import AuditEvent


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject_type: str = "",
    subject_id: str | int = "",
    organization_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `data` must not contain sensitive values (see AuditEvent).

    `action` must be in `audit_actions.ACTIONS`, so every event has plain words for the timeline.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to takedown/core/audit_actions.py")
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        organization_id=organization_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data or {},
    )
