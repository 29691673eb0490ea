"""Celery tasks for notices: thin shells over `services`, idempotent, retried only when it can help.

`deliver_notice` runs on the `deliver` queue; `deadlines_due` is the beat task (queue `default`).
"""

from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from takedown.notices import services

MAX_DELIVERY_RETRIES = 6


def _backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped at 60 base periods (30 minutes by default)."""
    base = float(settings.NOTICES_RETRY_BASE_SECONDS)
    return min(base * 2.0**retries, base * 60) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy


# autoretry: the database restarting under the task (before its claim, typically) retries it in a
# few seconds rather than failing the message, which only `deliveries_resume` would find again.
@shared_task(
    bind=True,
    name="takedown.notices.tasks.deliver_notice",
    max_retries=MAX_DELIVERY_RETRIES,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
)
def deliver_notice(self, notice_id: int) -> str:  # type: ignore[no-untyped-def]
    # In process (no broker) nothing can retry later, so the first answer is the final one.
    final = bool(self.request.is_eager) or self.request.retries >= MAX_DELIVERY_RETRIES
    outcome = services.notice_deliver(notice_id=notice_id, final_attempt=final)
    if outcome == "retry":
        raise self.retry(countdown=_backoff(self.request.retries))
    return outcome


@shared_task(name="takedown.notices.tasks.deadlines_due")
def deadlines_due() -> int:
    return services.deadlines_review()


@shared_task(name="takedown.notices.tasks.deliveries_resume")
def deliveries_resume() -> int:
    return services.deliveries_resume()
