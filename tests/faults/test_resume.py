"""The resume sweeps: work recorded in PostgreSQL whose task message was lost is published again.

In these tests tasks run in process and `transaction.on_commit` callbacks never run (the test's
transaction is not committed), which is exactly a message never published: the broker was down
when the report or the send was committed. The sweep finds the work and finishes it, once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.core.access import Actor
from takedown.core.models import OutboxMessage
from takedown.core.outbox import outbox_relay
from takedown.matching.models import CheckState, ItemCheck, Verdict
from takedown.matching.services import checks_resume
from takedown.notices.models import DeliveryAttempt, DeliveryOutcome, Notice, NoticeStatus
from takedown.notices.services import ABANDONED_DETAIL, MAX_ABANDONED_DELIVERIES, deliveries_resume, notice_send
from takedown.notices.services.delivery import _release_abandoned
from takedown.organizations.models import Organization
from tests.cases.conftest import bundle_text
from tests.matching.conftest import Site, page_with, photo, recompressed
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case
from tests.notices.servers import SmtpServer

pytestmark = [pytest.mark.django_db]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def resume_settings(settings: Settings) -> Settings:
    settings.TASK_RESUME_AFTER_SECONDS = 600
    settings.TASK_CLAIM_STALE_SECONDS = 180
    return settings


def test_a_check_never_published_is_fetched_and_matched_by_the_sweep(site: Site, resume_settings: Settings) -> None:
    resume_settings.FETCH_ALLOW_LOOPBACK = True
    resume_settings.CHECK_ON_REPORT = True
    site.put("/img/copy.jpg", recompressed(photo(3), 60), "image/jpeg")
    url = site.put("/post", page_with("/img/copy.jpg"))
    case = case_services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="S",
        bundle=case_services.parse_bundle(bundle_text(photo(3))),
        urls=[url],
    ).case
    # The report records its effect for the matching floor with the case (the outbox); the relay's
    # on-commit kick was lost here, and the beat's relay carries it out.
    assert OutboxMessage.objects.filter(topic="case.items_reported").count() == 1
    assert not ItemCheck.objects.filter(case=case).exists()
    assert outbox_relay() == 1
    check = ItemCheck.objects.get(case=case)
    assert check.state == CheckState.PENDING and site.hits == []  # recorded, never published

    assert checks_resume() == 0  # queued a moment ago: its message may still be on its way
    ItemCheck.objects.filter(pk=check.pk).update(created_at=timezone.now() - timedelta(seconds=601))
    assert checks_resume() == 1
    check.refresh_from_db()
    assert check.state == CheckState.DONE and check.verdict == Verdict.MATCH
    assert checks_resume() == 0


def test_a_check_claimed_by_a_dead_worker_is_published_again_once_the_claim_is_stale(
    resume_settings: Settings,
) -> None:
    from takedown.cases.models import ReportedItem

    case = case_services.case_open(
        actor=Actor(kind="survivor"), signature_name="S", urls=["https://example.org/x"]
    ).case
    item = ReportedItem.objects.get(case=case)
    check = ItemCheck.objects.create(item=item, case=case, trigger="report", requested_url=item.url)
    ItemCheck.objects.filter(pk=check.pk).update(started_at=timezone.now() - timedelta(seconds=170))
    assert checks_resume() == 0  # the worker may still be on it
    ItemCheck.objects.filter(pk=check.pk).update(started_at=timezone.now() - timedelta(seconds=190))
    assert checks_resume() == 1  # the offline resolver answers nothing: the check ends unreachable
    check.refresh_from_db()
    assert check.state == CheckState.DONE and check.verdict == Verdict.UNREACHABLE


@pytest.mark.usefixtures("registry")
def test_a_notice_queued_while_the_broker_was_down_is_delivered_once_by_the_sweep(
    org_a: Organization,
    smtp_server: SmtpServer,
    resume_settings: Settings,
) -> None:
    resume_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    resume_settings.EMAIL_HOST = "127.0.0.1"
    resume_settings.EMAIL_PORT = smtp_server.port
    resume_settings.EMAIL_USE_TLS = False
    resume_settings.EMAIL_USE_SSL = False
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    notice = approved_notice(open_case(organization=org_a, urls=["https://t.me/somechannel/12"]))
    notice_send(actor=STAFF, notice=notice)  # committed; its message never published
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.QUEUED

    assert deliveries_resume() == 0
    Notice.objects.filter(pk=notice.pk).update(updated_at=timezone.now() - timedelta(seconds=601))
    assert deliveries_resume() == 1
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    assert deliveries_resume() == 0
    assert len(smtp_server.inbox.messages) == 1


@pytest.mark.usefixtures("registry")
def test_a_delivery_abandoned_again_and_again_ends_failed_for_the_advocate_not_resent_forever(
    org_a: Organization,
    resume_settings: Settings,
) -> None:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    notice = approved_notice(open_case(organization=org_a, urls=["https://t.me/somechannel/12"]))
    notice_send(actor=STAFF, notice=notice)
    released = []
    for _ in range(MAX_ABANDONED_DELIVERIES):
        claimed = timezone.now() - timedelta(seconds=200)  # a worker took it, then died
        Notice.objects.filter(pk=notice.pk).update(delivery_claimed_at=claimed)
        released.append(_release_abandoned(notice.pk, timezone.now() - timedelta(seconds=180)))
    assert released == [True] * (MAX_ABANDONED_DELIVERIES - 1) + [False]
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.DELIVERY_FAILED and notice.delivery_claimed_at is None
    outcomes = list(
        DeliveryAttempt.objects.filter(notice=notice, detail=ABANDONED_DETAIL).values_list("outcome", flat=True)
    )
    assert outcomes == [DeliveryOutcome.TRANSIENT_FAILURE] * (MAX_ABANDONED_DELIVERIES - 1) + [
        DeliveryOutcome.PERMANENT_FAILURE
    ]
