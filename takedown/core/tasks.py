"""Periodic housekeeping tasks of the shared kernel."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

from takedown.core.health import BEAT_HEARTBEAT_CACHE_KEY


@shared_task(name="takedown.core.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Record that beat and a worker are alive, so /healthz can say when beat last ran."""
    cache.set(BEAT_HEARTBEAT_CACHE_KEY, time.time(), timeout=None)


@shared_task(name="takedown.core.tasks.sessions_clear", ignore_result=True)
def sessions_clear() -> int:
    """Delete expired sessions, as `manage.py clearsessions` does, on beat's schedule.

    A session can hold a new case's reference and PIN until the survivor confirms they saved them;
    an expired one must not linger in the database until someone remembers to run the command.
    """
    from importlib import import_module

    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    expired = Session.objects.filter(expire_date__lt=timezone.now()).count()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return expired
