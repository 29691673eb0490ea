"""Retention: closed cases are deleted CASE_RETENTION_DAYS after closing, by service, task and command,
leaving nothing identifying behind (the same scan as withdrawal)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from pytest_django import Settings

from takedown.cases.models import Case, CaseStatus, RegisteredHash, ReportedItem
from takedown.cases.services import case_set_status, cases_purge_expired
from takedown.cases.tasks import purge_expired_cases
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from tests.lifecycle.populate import populate_case
from tests.lifecycle.scan import cache_texts, database_texts, find
from tests.matching.conftest import Site, site  # noqa: F401 - fixture
from tests.notices.conftest import open_case, registry  # noqa: F401 - fixtures

STAFF = Actor(kind="staff", mfa_verified=True)


def _closed(days_ago: float, **kwargs: object) -> Case:
    case = open_case(**kwargs)  # type: ignore[arg-type]
    case_set_status(actor=STAFF, case=case, status=CaseStatus.CLOSED)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    return case


@pytest.mark.django_db
def test_only_cases_closed_longer_than_the_retention_period_are_purged(settings: Settings) -> None:
    settings.CASE_RETENTION_DAYS = 30
    old = _closed(31)
    recent = _closed(29)
    reopened = _closed(40)
    case_set_status(actor=STAFF, case=reopened, status=CaseStatus.OPEN)  # reopened: no longer closed
    active = open_case()
    Case.objects.filter(pk=active.pk).update(created_at=timezone.now() - timedelta(days=400))

    assert cases_purge_expired() == 1
    assert not Case.objects.filter(pk=old.pk).exists()
    assert not ReportedItem.objects.filter(case_id=old.pk).exists()
    assert set(Case.objects.values_list("pk", flat=True)) == {recent.pk, reopened.pk, active.pk}
    event = AuditEvent.objects.get(subject_type="case", subject_id=str(old.pk), action="case.purged")
    assert event.actor_kind == "system" and event.data == {
        "hashes_deleted": 0,
        "items_deleted": 1,
        "retention_days": 30,
    }
    assert cases_purge_expired() == 0  # idempotent


@pytest.mark.django_db
def test_purge_is_bounded_and_the_command_finishes_the_backlog(settings: Settings) -> None:
    settings.CASE_RETENTION_DAYS = 1
    for _ in range(5):
        _closed(2)
    assert cases_purge_expired(limit=2) == 2
    out = StringIO()
    call_command("purge_expired_cases", "--limit", "2", stdout=out)
    assert "Purged 3 closed case(s) older than 1 days." in out.getvalue()
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_the_task_runs_the_purge_and_beat_schedules_it(settings: Settings) -> None:
    settings.CASE_RETENTION_DAYS = 365
    _closed(366)
    _closed(364)
    assert purge_expired_cases.apply().get() == 1  # in process, as a worker would run it
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == purge_expired_cases.name)
    assert entry["schedule"] <= 24 * 60 * 60
    from takedown.celery import app

    assert purge_expired_cases.name in app.tasks


def test_the_default_retention_is_a_year() -> None:
    assert settings.CASE_RETENTION_DAYS == 365


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("registry")
def test_a_purged_case_leaves_no_residue(site: Site, settings: Settings) -> None:  # noqa: F811
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    populated = populate_case(site, photo_number=2)
    assert RegisteredHash.objects.filter(case_id=populated.case_id).exists()
    case = Case.objects.get(pk=populated.case_id)
    case_set_status(actor=STAFF, case=case, status=CaseStatus.CLOSED)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=settings.CASE_RETENTION_DAYS + 1))
    assert cases_purge_expired() == 1
    hits = find(populated.needles, [*database_texts(), *cache_texts()])
    assert hits == [], "residue after purge:\n" + "\n".join(f"- {h.needle.kind} in {h.where}" for h in hits)
