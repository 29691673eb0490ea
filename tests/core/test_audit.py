"""The audit trail is append-only through every ORM path."""

from __future__ import annotations

import pytest

from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_events_are_recorded_and_cannot_be_changed_or_deleted() -> None:
    event = audit_record(actor=Actor.system(), action="thing.happened", subject_type="thing", subject_id=7)
    assert AuditEvent.objects.filter(action="thing.happened", subject_id="7").count() == 1

    event.action = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "thing.happened"
