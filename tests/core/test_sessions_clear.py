"""Expired sessions (which may hold a new case's PIN) are deleted on beat's schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from takedown.core.tasks import sessions_clear

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_deleted_and_live_ones_kept() -> None:
    old, live = SessionStore(), SessionStore()
    old["new_case_credentials"] = {"reference": "TD-X", "pin": "12345678"}
    old.save()
    live.save()
    Session.objects.filter(session_key=old.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert sessions_clear() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert "sessions-clear" in settings.CELERY_BEAT_SCHEDULE
