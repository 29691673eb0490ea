"""Delivering notices in process: email to a local SMTP server, signed webhooks to a local endpoint,
form packets marked submitted; retries, permanent failures, and redelivered task messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import Settings

from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.notices.models import DeliveryAttempt, DeliveryOutcome, Notice, NoticeChannel, NoticeStatus
from takedown.notices.packets import form_packet
from takedown.notices.services import delivery_key, notice_deliver, notice_mark_submitted, notice_send
from takedown.notices.tasks import deliver_notice
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case, webhook_platform
from tests.notices.servers import WEBHOOK_SECRET, Receiver, SmtpServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def org(org_a: Organization) -> Organization:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return org_a


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer) -> SmtpServer:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.NOTICES_FROM_EMAIL = "Helpline notices <send@helpline.example.org>"
    return smtp_server


@pytest.fixture
def loopback(settings: Settings) -> None:
    settings.FETCH_ALLOW_LOOPBACK = True


def text_body(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    raise AssertionError("no text part")


def test_email_notice_reaches_the_smtp_server_with_the_four_take_it_down_elements(
    org: Organization, smtp_settings: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    case = open_case(organization=org, urls=["https://t.me/somechannel/12"])
    notice = approved_notice(case)
    assert notice.basis == b.US_TAKE_IT_DOWN and notice.channel == NoticeChannel.EMAIL
    assert notice.recipient == "abuse@telegram.org"

    with django_capture_on_commit_callbacks(execute=True):
        notice_send(actor=STAFF, notice=notice)

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.is_frozen and notice.due_at is not None
    # Telegram's abuse address is not a designated TAKE IT DOWN process: the 48 hours do not start
    # there (Sec. 3(a)(1)(A)); the platform's follow-up window applies instead.
    assert not notice.legal_deadline and notice.intake == "abuse_email"
    assert (notice.due_at - notice.sent_at).total_seconds() == 7 * 24 * 3600
    (attempt,) = DeliveryAttempt.objects.filter(notice=notice)
    assert attempt.outcome == DeliveryOutcome.DELIVERED and attempt.idempotency_key == delivery_key(notice.pk)

    inbox = smtp_settings.inbox
    assert len(inbox.messages) == 1
    sender, recipients, _raw = inbox.messages[0]
    assert recipients == ["abuse@telegram.org"] and sender == "send@helpline.example.org"
    message = inbox.parsed()
    assert message["Reply-To"] == ORG_NOTICE_EMAIL
    assert message["Subject"] == f"Non-consensual intimate image: removal request {notice.reference}"
    assert message["Message-ID"] == f"<{delivery_key(notice.pk)}@notices.takedown>"
    body = text_body(message)
    assert body.replace("\r\n", "\n") == notice.content_text  # what was frozen is what was sent
    # TAKE IT DOWN Act Sec. 3(a)(1)(B): signature, identification/location, good-faith statement, contact.
    elements = notice.content_json["elements"]
    assert set(b.BASES[b.US_TAKE_IT_DOWN].required_elements) >= {
        b.SIGNATURE,
        b.LOCATION,
        b.GOOD_FAITH_NONCONSENT,
        b.CONTACT,
    }
    assert "Alex Example" in body and "https://t.me/somechannel/12" in body and ORG_NOTICE_EMAIL in body
    assert elements[b.GOOD_FAITH_NONCONSENT].split("\n")[0] in body
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= kinds


def test_smtp_5xx_is_permanent_and_the_notice_can_be_sent_again(
    org: Organization, smtp_settings: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    case = open_case(organization=org, urls=["https://t.me/somechannel/12"])
    notice = approved_notice(case)
    smtp_settings.inbox.reply = "554 Transaction failed: policy"
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(actor=STAFF, notice=notice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.DELIVERY_FAILED and not notice.is_frozen
    (attempt,) = DeliveryAttempt.objects.filter(notice=notice)
    assert attempt.outcome == DeliveryOutcome.PERMANENT_FAILURE and "554" in attempt.detail

    smtp_settings.inbox.reply = "250 OK"
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(actor=STAFF, notice=notice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and len(smtp_settings.inbox.messages) == 1
    assert DeliveryAttempt.objects.filter(notice=notice).count() == 2


def test_smtp_4xx_and_refused_connections_are_transient(
    org: Organization, smtp_settings: SmtpServer, settings: Settings
) -> None:
    case = open_case(organization=org, urls=["https://t.me/somechannel/12"])
    notice = approved_notice(case)
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.QUEUED)
    smtp_settings.inbox.reply = "451 Try again later"
    assert notice_deliver(notice_id=notice.pk) == "retry"
    settings.EMAIL_PORT = 1  # nothing listens there: connection refused
    assert notice_deliver(notice_id=notice.pk) == "retry"
    settings.EMAIL_PORT = smtp_settings.port
    smtp_settings.inbox.reply = "250 OK"
    assert notice_deliver(notice_id=notice.pk) == "delivered"
    outcomes = list(DeliveryAttempt.objects.filter(notice=notice).values_list("outcome", flat=True))
    assert outcomes == [DeliveryOutcome.TRANSIENT_FAILURE] * 2 + [DeliveryOutcome.DELIVERED]


def test_webhook_retries_a_503_then_delivers_once_signed_with_a_stable_key(
    org: Organization, receiver: Receiver, loopback: None
) -> None:
    webhook_platform(receiver.url, WEBHOOK_SECRET)
    case = open_case(organization=org, jurisdictions=["EU"], urls=["https://hashmatch.example/v/1"])
    notice = approved_notice(case)
    assert notice.channel == NoticeChannel.WEBHOOK and notice.basis == b.EU_DSA
    receiver.statuses = [503]
    notice_send(actor=STAFF, notice=notice)  # queued; the task runs below, as a worker would
    assert notice_deliver(notice_id=notice.pk, final_attempt=False) == "retry"
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.QUEUED
    assert notice_deliver(notice_id=notice.pk, final_attempt=False) == "delivered"

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    attempts = list(DeliveryAttempt.objects.filter(notice=notice))
    assert [(a.outcome, a.http_status) for a in attempts] == [
        (DeliveryOutcome.TRANSIENT_FAILURE, 503),
        (DeliveryOutcome.DELIVERED, 200),
    ]
    assert len(receiver.requests) == 2 and all(r["signed"] for r in receiver.requests)
    keys = {r["key"] for r in receiver.requests}
    assert keys == {delivery_key(notice.pk)} and len(receiver.accepted) == 1
    received = receiver.accepted[delivery_key(notice.pk)]
    assert received["format"] == "takedown-notice" and received["basis"]["code"] == b.EU_DSA
    assert received == notice.content_json

    # The task message delivered again (a worker lost its ack): nothing is sent twice.
    assert deliver_notice.apply(args=[notice.pk]).get() == "skipped"
    assert len(receiver.requests) == 2 and DeliveryAttempt.objects.filter(notice=notice).count() == 2


def test_webhook_4xx_is_permanent(org: Organization, receiver: Receiver, loopback: None) -> None:
    webhook_platform(receiver.url, WEBHOOK_SECRET)
    case = open_case(organization=org, jurisdictions=["EU"], urls=["https://hashmatch.example/v/1"])
    notice = approved_notice(case)
    receiver.statuses = [400]
    notice_send(actor=STAFF, notice=notice)
    assert notice_deliver(notice_id=notice.pk, final_attempt=False) == "failed"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.DELIVERY_FAILED and notice.sent_at is None
    (attempt,) = DeliveryAttempt.objects.filter(notice=notice)
    assert attempt.outcome == DeliveryOutcome.PERMANENT_FAILURE and attempt.http_status == 400
    assert '"status": 400' in attempt.response_excerpt
    assert len(receiver.requests) == 1


def test_webhook_to_loopback_is_refused_without_the_test_allowance(org: Organization, receiver: Receiver) -> None:
    webhook_platform("http://127.0.0.1:8080/hook", WEBHOOK_SECRET)  # an allowed port, a forbidden address
    case = open_case(organization=org, jurisdictions=["EU"], urls=["https://hashmatch.example/v/1"])
    notice = approved_notice(case)
    notice_send(actor=STAFF, notice=notice)
    assert notice_deliver(notice_id=notice.pk, final_attempt=False) == "failed"
    attempt = DeliveryAttempt.objects.get(notice=notice)
    assert attempt.detail.startswith("forbidden_address") and "loopback" in attempt.detail
    assert receiver.requests == []


def test_a_claimed_notice_is_not_sent_by_a_second_message(
    org: Organization, receiver: Receiver, loopback: None
) -> None:
    from django.utils import timezone

    webhook_platform(receiver.url, WEBHOOK_SECRET)
    case = open_case(organization=org, jurisdictions=["EU"], urls=["https://hashmatch.example/v/1"])
    notice = approved_notice(case)
    notice_send(actor=STAFF, notice=notice)
    Notice.objects.filter(pk=notice.pk).update(delivery_claimed_at=timezone.now())  # another worker has it
    assert deliver_notice.apply(args=[notice.pk]).get() == "skipped"
    assert receiver.requests == [] and not DeliveryAttempt.objects.filter(notice=notice).exists()


def test_sending_needs_an_approved_notice_and_not_a_form(org: Organization) -> None:
    from takedown.notices.services import notice_draft

    case = open_case(organization=org, urls=["https://t.me/somechannel/12"])
    draft = notice_draft(actor=STAFF, case=case, items=list(case.items.all()))
    with pytest.raises(Conflict):
        notice_send(actor=STAFF, notice=draft)
    x_case = open_case(organization=org, urls=["https://x.com/a/status/1"])
    form_notice = approved_notice(x_case)
    assert form_notice.channel == NoticeChannel.FORM
    with pytest.raises(Conflict):
        notice_send(actor=STAFF, notice=form_notice)
    assert Notice.objects.get(pk=draft.pk).status == NoticeStatus.DRAFT


def test_form_packet_lists_the_values_and_is_marked_submitted_with_a_ticket(org: Organization) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1", "https://x.com/a/status/2"])
    notice = approved_notice(case)
    packet = form_packet(notice)
    assert packet.link == "https://help.x.com/forms/safety-and-sensitive-content/take-it-down"
    values = {f.label: f.value for f in packet.fields}
    assert values["signature"] == "Alex Example"
    assert "https://x.com/a/status/2" in values["location (URLs) of the content"]
    assert "Alex Example" in packet.text

    with pytest.raises(InvalidInput):
        notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="  ")
    notice = notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="X-TIDA-12345")
    assert notice.status == NoticeStatus.SENT and notice.platform_ticket == "X-TIDA-12345"
    assert notice.due_at is not None and notice.is_frozen
    (attempt,) = DeliveryAttempt.objects.filter(notice=notice)
    assert attempt.outcome == DeliveryOutcome.DELIVERED and attempt.channel == NoticeChannel.FORM
    with pytest.raises(Conflict):
        notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="again")
    assert DeliveryAttempt.objects.filter(notice=notice).count() == 1
