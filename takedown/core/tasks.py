"""Periodic housekeeping tasks of the shared kernel."""

from __future__ import annotations

import time
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from takedown.core.health import BEAT_HEARTBEAT_CACHE_KEY
from takedown.core.outbox import outbox_relay as relay


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
    expired = Session.objects.filter(expire_date__lt=timezone.now()).count()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return expired


@shared_task(name="takedown.core.tasks.outbox_relay", ignore_result=True)
def outbox_relay() -> int:
    """On commit of every change that emits, and on beat every minute: carry out recorded effects."""
    return relay()
