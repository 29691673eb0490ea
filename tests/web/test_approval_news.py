"""Asking the survivor to approve a request is news for a survivor who chose email: one neutral
email through the outbox (nothing about the case in it), and none for one who did not choose email."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django import Settings

from takedown.cases.models import ContactPreference
from takedown.core.access import Actor
from takedown.core.models import AuditEvent, OutboxMessage
from takedown.core.outbox import outbox_relay
from takedown.notices.services import notice_draft, notice_mark_ready
from takedown.organizations.models import Organization
from tests.notices.conftest import ORG_NOTICE_EMAIL, open_case, org_a, registry  # noqa: F401 - fixtures
from tests.notices.servers import SmtpServer, smtp_server  # noqa: F401 - the local SMTP server

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

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
    settings.SURVIVOR_NEWS_MIN_INTERVAL_SECONDS = 0
    settings.CHECK_ON_REPORT = False
    return smtp_server


@pytest.fixture
def org(org_a: Organization) -> Organization:  # noqa: F811 - the fixture above
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return org_a


def to(mail: SmtpServer, address: str) -> list[Any]:
    return [mail.inbox.parsed(i) for i, m in enumerate(mail.inbox.messages) if m[1] == [address]]


def test_being_asked_is_news_by_email_and_says_nothing_about_the_case(org: Organization, mail: SmtpServer) -> None:
    case = open_case(
        organization=org,
        urls=["https://x.com/someone/status/1"],
        contact_preference=ContactPreference.EMAIL,
        contact_email=SURVIVOR_EMAIL,
    )
    quiet = open_case(organization=org, urls=["https://x.com/other/status/2"])  # no email contact
    for each in (case, quiet):
        notice_mark_ready(actor=STAFF, notice=notice_draft(actor=STAFF, case=each, items=list(each.items.all())))
    assert OutboxMessage.objects.filter(consumer="web.survivor_news").count() == 2
    outbox_relay()

    (message,) = to(mail, SURVIVOR_EMAIL)
    assert message["Subject"] == "News on your case"
    text = message.as_string()
    for secret in (case.reference, "x.com", "someone", "approve", "removal"):
        assert secret.lower() not in text.lower(), secret
    emailed = AuditEvent.objects.filter(action="case.survivor_news_emailed").values_list("subject_id", flat=True)
    assert list(emailed) == [str(case.pk)]
    assert len(mail.inbox.messages) == 1
