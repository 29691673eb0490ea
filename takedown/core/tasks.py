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
