"""Delivery through a real Celery worker on Redis and PostgreSQL: an email to a local SMTP server and
a signed webhook to a local endpoint that first answers 503 (retried with backoff, delivered once)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest
from pytest_django import Settings

from takedown.core.access import Actor
from takedown.notices.models import DeliveryAttempt, DeliveryOutcome, Notice, NoticeChannel, NoticeStatus
from takedown.notices.services import delivery_key, notice_send
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from tests.conftest import wait_for
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case, webhook_platform
from tests.notices.servers import WEBHOOK_SECRET, Receiver, SmtpServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def real_broker(broker_url: str, settings: Settings) -> Iterator[str]:
    """Publish tasks to the real Redis broker instead of running them in process."""
    from takedown.celery import app

    def forget_connections() -> None:
        # The app caches its producer pool for the broker it first connected to; drop it.
        app.amqp._producer_pool = None
        app._pool = None

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = broker_url
    forget_connections()
    yield broker_url
    app.conf.task_always_eager, app.conf.broker_url = saved
    forget_connections()


def test_a_real_worker_delivers_email_and_a_retried_webhook_once(
    org_a: Organization,
    smtp_server: SmtpServer,
    receiver: Receiver,
    real_broker: str,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    start_worker(
        queues="deliver,default",
        env={
            "FETCH_ALLOW_LOOPBACK": "true",
            "NOTICES_RETRY_BASE_SECONDS": "0.2",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_server.port),
            "EMAIL_USE_TLS": "false",
            "NOTICES_FROM_EMAIL": "send@helpline.example.org",
        },
    )
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    webhook_platform(receiver.url, WEBHOOK_SECRET)
    receiver.statuses = [503]
    email_case = open_case(organization=org_a, urls=["https://t.me/somechannel/12"])
    webhook_case = open_case(organization=org_a, jurisdictions=["EU"], urls=["https://hashmatch.example/v/1"])
    email_notice = approved_notice(email_case)
    webhook_notice = approved_notice(webhook_case)
    assert email_notice.channel == NoticeChannel.EMAIL and webhook_notice.channel == NoticeChannel.WEBHOOK

    notice_send(actor=STAFF, notice=email_notice)
    notice_send(actor=STAFF, notice=webhook_notice)

    def sent(notice: Notice) -> bool:
        return Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT

    wait_for(lambda: sent(email_notice) and sent(webhook_notice), 60, "the worker to deliver both notices")

    assert len(smtp_server.inbox.messages) == 1
    body = smtp_server.inbox.messages[0][2].decode("utf-8", "replace")
    email_notice.refresh_from_db()
    for code in (b.SIGNATURE, b.LOCATION, b.CONTACT):
        assert email_notice.content_json["elements"][code].splitlines()[0] in body
    assert "good-faith belief" in body

    attempts = list(DeliveryAttempt.objects.filter(notice=webhook_notice).order_by("id"))
    assert [(a.outcome, a.http_status) for a in attempts] == [
        (DeliveryOutcome.TRANSIENT_FAILURE, 503),
        (DeliveryOutcome.DELIVERED, 200),
    ]
    assert [r["status"] for r in receiver.requests] == [503, 200]
    assert all(r["signed"] and r["key"] == delivery_key(webhook_notice.pk) for r in receiver.requests)
    assert list(receiver.accepted) == [delivery_key(webhook_notice.pk)]
