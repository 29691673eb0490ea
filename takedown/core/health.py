"""Readiness checks for `/healthz`: the database, the broker when configured, and beat."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

BEAT_HEARTBEAT_CACHE_KEY = "takedown:beat:last-seen"


def check_database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> dict[str, Any]:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"ok": True, "mode": "in-process"}
    started = time.monotonic()
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def beat_last_seen() -> float | None:
    """When beat last ran its heartbeat task (informational: beat may legitimately be off)."""
    try:
        value = cache.get(BEAT_HEARTBEAT_CACHE_KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not make health checks crash
        return None
    return float(value) if value is not None else None


def health_report() -> tuple[bool, dict[str, Any]]:
    database = check_database()
    broker = check_broker()
    healthy = bool(database["ok"] and broker["ok"])
    report = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "beat_last_seen": beat_last_seen(),
    }
    return healthy, report
