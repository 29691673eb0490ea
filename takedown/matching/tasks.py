"""Celery tasks for checks: thin shells over `services`, idempotent, retried only when it can help."""

from __future__ import annotations

import atexit
import random
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_shutdown, worker_shutdown
from django.conf import settings
from django.db import InterfaceError, OperationalError

from takedown.matching import services
from takedown.matching.bank import BANK_SIGNALS, bank_snapshot_build
from takedown.matching.rendering import process_renderer, process_renderer_close

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
    elif outcome == "render":
        render_check.delay(check_id)
    return outcome


@shared_task(
    bind=True,
    name="takedown.matching.tasks.render_check",
    max_retries=MAX_FETCH_RETRIES,
    autoretry_for=DATABASE_DOWN,
    retry_backoff=True,
    soft_time_limit=settings.RENDER_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.RENDER_TASK_TIME_LIMIT,
)
def render_check(self, check_id: int) -> str:  # type: ignore[no-untyped-def]
    """The page again, in this worker process's browser (queue RENDER_QUEUE, routed in settings)."""
    final = bool(self.request.is_eager) or self.request.retries >= MAX_FETCH_RETRIES
    try:
        outcome = services.check_render(check_id=check_id, renderer=process_renderer(), final_attempt=final)
    except SoftTimeLimitExceeded:
        services.check_render_timed_out(check_id=check_id, limit=settings.RENDER_TASK_SOFT_TIME_LIMIT)
        return "done"
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


@shared_task(
    name="takedown.matching.tasks.bank_snapshots_build",
    soft_time_limit=settings.BANK_SNAPSHOT_BUILD_TIME_LIMIT - 60,
    time_limit=settings.BANK_SNAPSHOT_BUILD_TIME_LIMIT,
)
def bank_snapshots_build() -> list[str]:
    """On the beat: publish the next snapshot of each signal's bank where one is due (idempotent)."""
    published = []
    for signal in BANK_SIGNALS:
        ref = bank_snapshot_build(signal=signal)
        if ref is not None:
            published.append(ref.name)
    return published


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close_renderer(**_kwargs: Any) -> None:
    """Stop this process's browser when its worker process (prefork child, or a solo worker) ends."""
    process_renderer_close()


# The embedded default renders in the web process: stop the browser when it exits.
atexit.register(process_renderer_close)
