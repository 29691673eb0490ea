"""The audit trail is append-only through every ORM path."""

from __future__ import annotations

import pytest

from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.audit_actions import ACTIONS
from takedown.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_events_are_recorded_and_cannot_be_changed_or_deleted() -> None:
    event = audit_record(actor=Actor.system(), action="case.opened", subject_type="thing", subject_id=7)
    assert AuditEvent.objects.filter(action="case.opened", subject_id="7").count() == 1

    event.action = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "case.opened"


def test_every_action_has_plain_words_and_unknown_actions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_record(actor=Actor.system(), action="thing.happened")
    assert not AuditEvent.objects.exists()
    assert all(str(label) and "." not in str(label)[:1] for label in ACTIONS.values())
    event = audit_record(actor=Actor.system(), action="item.reappeared")
    assert event.label == "Content came back after removal"
