"""Celery tasks for checks: thin shells over `services`, idempotent, retried only when it can help."""

from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from takedown.matching import services

MAX_FETCH_RETRIES = 5
# The database restarting under a task: try again in a few seconds rather than fail the message
# (a failed message is acknowledged and only the `checks_resume` sweep would find the work again).
DATABASE_DOWN = (OperationalError, InterfaceError)


def _backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped at 60 base periods (30 minutes by default)."""
    base = float(settings.FETCH_RETRY_BASE_SECONDS)
    return min(base * 2.0**retries, base * 60) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy


@shared_task(
    bind=True,
    name="takedown.matching.tasks.fetch_check",
    max_retries=MAX_FETCH_RETRIES,
    autoretry_for=DATABASE_DOWN,
    retry_backoff=True,
)
def fetch_check(self, check_id: int) -> str:  # type: ignore[no-untyped-def]
    # In process (no broker) nothing can retry later, so the first answer is the final one.
    final = bool(self.request.is_eager) or self.request.retries >= MAX_FETCH_RETRIES
    outcome = services.check_fetch(check_id=check_id, final_attempt=final)
    if outcome == "retry":
        raise self.retry(countdown=_backoff(self.request.retries))
    if outcome == "fetched":
        match_check.delay(check_id)
    return outcome


@shared_task(name="takedown.matching.tasks.match_check", autoretry_for=DATABASE_DOWN, retry_backoff=True, max_retries=5)
def match_check(check_id: int) -> str:
    verdict = services.check_match(check_id=check_id)
    return str(verdict or "skipped")


@shared_task(name="takedown.matching.tasks.recheck_due")
def recheck_due() -> int:
    return services.recheck_due()


@shared_task(name="takedown.matching.tasks.checks_resume")
def checks_resume() -> int:
    return services.checks_resume()
