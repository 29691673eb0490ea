"""Celery tasks for cases: thin shells over `services`, safe to run again at any time."""

from __future__ import annotations

from celery import shared_task

from takedown.cases import services
from takedown.cases.services import news


@shared_task(name="takedown.cases.tasks.purge_expired_cases")
def purge_expired_cases() -> int:
    """Beat, every 6 hours: delete closed cases past CASE_RETENTION_DAYS (idempotent, bounded)."""
    return services.cases_purge_expired()


@shared_task(name="takedown.cases.tasks.erase_withdrawn_case", acks_late=True)
def erase_withdrawn_case(case_id: int) -> bool:
    """After a withdrawal: delete the case's rows (idempotent; the case was withdrawn at once)."""
    return services.case_erase_withdrawn(case_id=case_id)


@shared_task(name="takedown.cases.tasks.erase_withdrawn_cases")
def erase_withdrawn_cases() -> int:
    """Beat, every 10 minutes: erase withdrawn cases whose task was lost."""
    return services.cases_erase_withdrawn()


@shared_task(name="takedown.cases.tasks.survivor_news_send", acks_late=True)
def survivor_news_send(case_id: int) -> str:
    """News that came within the interval after the last email: send it once the interval ends
    (idempotent: an email sent meanwhile covers it)."""
    return news.case_news_email(case_id=case_id, reason="deferred", defer=False)
