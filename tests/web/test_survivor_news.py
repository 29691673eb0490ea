"""Survivors who chose email get a short, neutral email when there is news (a request sent or
answered, a link removed or back), through the outbox, over real SMTP, at most one per interval."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ContactPreference, ItemStatus
from takedown.cases.tasks import survivor_news_send
from takedown.core.access import Actor
from takedown.core.models import AuditEvent, OutboxMessage
from takedown.core.outbox import outbox_relay
from takedown.notices.services import notice_mark_sent, notice_record_reply
from takedown.organizations.models import Organization
from tests.notices.conftest import (  # noqa: F401 - org_a and registry are fixtures
    ORG_NOTICE_EMAIL,
    approved_notice,
    open_case,
    org_a,
    registry,
)
from tests.notices.servers import SmtpServer, smtp_server  # noqa: F401 - the local SMTP server

pytestmark = pytest.mark.django_db

STAFF = Actor(kind="staff", mfa_verified=True)
SURVIVOR_EMAIL = "sam.survivor@example.net"


@pytest.fixture
def mail(settings: Settings, smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811 - the fixture above
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "https://help.example.org"
    settings.DEFAULT_FROM_EMAIL = "Helpline <hello@help.example.org>"
    settings.NOTICES_FROM_EMAIL = "Helpline notices <send@help.example.org>"
    settings.SURVIVOR_NEWS_MIN_INTERVAL_SECONDS = 3600
    settings.CHECK_ON_REPORT = False
    return smtp_server


@pytest.fixture
def org(org_a: Organization) -> Organization:  # noqa: F811 - the fixture above
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return org_a


def body(message: Any) -> str:
    parts = [p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def to_survivor(mail: SmtpServer) -> list[Any]:
    return [mail.inbox.parsed(i) for i, m in enumerate(mail.inbox.messages) if m[1] == [SURVIVOR_EMAIL]]


@pytest.mark.usefixtures("registry")
def test_news_reaches_the_survivor_s_email_without_a_word_about_the_case(
    org: Organization, mail: SmtpServer, settings: Settings
) -> None:
    case = open_case(
        organization=org,
        urls=["https://t.me/somechannel/12"],
        contact_preference=ContactPreference.EMAIL,
        contact_email=SURVIVOR_EMAIL,
    )
    notice = approved_notice(case)
    notice_mark_sent(actor=STAFF, notice=notice)
    assert OutboxMessage.objects.filter(consumer="web.survivor_news").count() == 1
    outbox_relay()

    (message,) = to_survivor(mail)
    text = message["Subject"] + "\n" + body(message)
    assert message["Subject"] == "News on your case"
    assert "There is news on your case. Sign in to read it." in text
    assert "https://help.example.org/case/sign-in/" in text
    # Nothing about the case: not its reference, not the website, not the link, not the request.
    for secret in (case.reference, "t.me", "somechannel", "Telegram", notice.reference, "Sam", "removal"):
        assert secret.lower() not in text.lower(), secret
    assert "hello@help.example.org" in message["From"] and message["X-Takedown-Notice"] is None
    assert "takedown" not in message["Message-ID"].lower()
    assert AuditEvent.objects.filter(action="case.survivor_news_emailed", subject_id=case.pk).count() == 1

    # The platform answers within the hour: no second email now (the first one covers it).
    notice_record_reply(actor=STAFF, notice=notice, outcome="acknowledged")
    outbox_relay()
    assert len(to_survivor(mail)) == 1

    # That answer is sent once the interval is over (by the task the deferral started), only once.
    # (An interval of 2 s stands for the hour; the audit events that date the last email are
    # append-only, so the test waits instead of moving them back.)
    assert survivor_news_send(case.pk) == "covered"
    settings.SURVIVOR_NEWS_MIN_INTERVAL_SECONDS = 2
    time.sleep(2.1)
    cache.clear()  # the guard against two workers sending at once lasts at most 5 minutes
    assert survivor_news_send(case.pk) == "sent"
    assert survivor_news_send(case.pk) == "covered"
    assert len(to_survivor(mail)) == 2


@pytest.mark.usefixtures("registry")
def test_a_link_removed_and_back_is_news_once_the_interval_allows(
    org: Organization, mail: SmtpServer, settings: Settings
) -> None:
    settings.SURVIVOR_NEWS_MIN_INTERVAL_SECONDS = 0
    case = open_case(organization=org, contact_preference=ContactPreference.EMAIL, contact_email=SURVIVOR_EMAIL)
    item = case.items.get()
    checked = {"actor": Actor.system(), "checked_at": timezone.now(), "platform": "x", "check_id": 1}
    case_services.item_check_recorded(item=item, found=ItemStatus.LIVE, **checked)
    outbox_relay()
    assert to_survivor(mail) == []  # still online: not news by itself
    case_services.item_check_recorded(item=case.items.get(), found=ItemStatus.REMOVED, **checked)
    outbox_relay()
    case_services.item_check_recorded(item=case.items.get(), found=ItemStatus.LIVE, **checked)
    outbox_relay()
    assert len(to_survivor(mail)) == 2
    reasons = AuditEvent.objects.filter(action="case.survivor_news_emailed").values_list("data__reason", flat=True)
    assert sorted(reasons) == ["item_back", "item_removed"]


@pytest.mark.usefixtures("registry")
def test_no_email_for_survivors_who_did_not_choose_email(org: Organization, mail: SmtpServer) -> None:
    case = open_case(
        organization=org,
        urls=["https://t.me/somechannel/12"],
        contact_preference=ContactPreference.EMAIL,
        contact_email=SURVIVOR_EMAIL,
    )
    survivor = Actor(kind="survivor", case_id=case.pk)
    case_services.case_update_contact(actor=survivor, case=case, contact_preference=ContactPreference.ADVOCATE)
    notice_mark_sent(actor=STAFF, notice=approved_notice(Case.objects.get(pk=case.pk)))
    outbox_relay()
    assert mail.inbox.messages == []
    assert not AuditEvent.objects.filter(action="case.survivor_news_emailed").exists()
    assert not OutboxMessage.objects.exists()  # handled, nothing left to retry


@pytest.mark.usefixtures("registry")
def test_a_mail_server_that_cannot_take_it_now_is_retried_by_the_outbox(
    org: Organization, mail: SmtpServer, settings: Settings
) -> None:
    case = open_case(
        organization=org,
        urls=["https://t.me/somechannel/12"],
        contact_preference=ContactPreference.EMAIL,
        contact_email=SURVIVOR_EMAIL,
    )
    mail.inbox.reply = "451 Try again later"
    notice_mark_sent(actor=STAFF, notice=approved_notice(case))
    outbox_relay()
    (waiting,) = OutboxMessage.objects.filter(consumer="web.survivor_news")
    assert waiting.attempts == 1 and "451" in waiting.last_error
    mail.inbox.reply = "250 OK"
    OutboxMessage.objects.filter(pk=waiting.pk).update(available_at=timezone.now())
    outbox_relay()
    assert len(to_survivor(mail)) == 1 and not OutboxMessage.objects.filter(consumer="web.survivor_news").exists()
    assert Case.objects.get(pk=case.pk).contact_details == {"email": SURVIVOR_EMAIL}
