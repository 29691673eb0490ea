"""Celery tasks for cases: thin shells over `services`, safe to run again at any time."""

from __future__ import annotations

from celery import shared_task

from takedown.cases import services


@shared_task(name="takedown.cases.tasks.purge_expired_cases")
def purge_expired_cases() -> int:
    """Beat, every 6 hours: delete closed cases past CASE_RETENTION_DAYS (idempotent, bounded)."""
    return services.cases_purge_expired()
