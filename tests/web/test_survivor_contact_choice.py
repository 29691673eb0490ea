"""Defect 6 of issue 14, the survivor's side: their own email reaches a platform only when they chose
it for that one request, on their case page, after a plain warning; otherwise the organisation's
address is in the notice, in the email's Reply-To and in what the platform API serves."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_string
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import ContactPreference
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.services import notice_approve, notice_draft, notice_edit, notice_mark_ready, notice_send
from takedown.organizations.models import Organization
from takedown.registry.models import ContentKind
from tests.notices.conftest import (  # noqa: F401 - org_a and registry are fixtures
    ORG_NOTICE_EMAIL,
    open_case,
    org_a,
    registry,
)
from tests.notices.servers import SmtpServer, smtp_server  # noqa: F401 - the local SMTP server
from tests.platforms.conftest import account_for, api_client, key_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)
OWN = "sam.survivor@example.net"


@pytest.fixture
def org(org_a: Organization) -> Organization:  # noqa: F811 - the fixture above
    Organization.objects.filter(pk=org_a.pk).update(
        notice_contact_email=ORG_NOTICE_EMAIL, notice_postal_address="1 Example Street", notice_phone="+1 555 0100"
    )
    org_a.refresh_from_db()
    return org_a


@pytest.fixture
def mail(settings: Settings, smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811 - the fixture above
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    return smtp_server


def ready_notice(org: Organization, basis: str | None = None, email: str = OWN) -> Notice:
    """A request an advocate prepared for a survivor who chose to be contacted by email."""
    opened = case_services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="Sam Survivor",
        jurisdictions=["US"],
        content_kind=ContentKind.AUTHENTIC,
        consent_share_hashes=False,
        contact_preference=ContactPreference.EMAIL,
        contact_email=email,
        urls=["https://t.me/somechannel/12"],
        organization=org,
    )
    PINS[opened.case.pk] = opened.pin
    case = opened.case
    notice = notice_draft(actor=STAFF, case=case, items=list(case.items.all()), basis_code=basis)
    if basis == "us_dmca_512":
        notice = notice_edit(
            actor=STAFF, notice=notice, details="", dmca_work="A photo I took of myself", dmca_acknowledged=True
        )
    return notice_mark_ready(actor=STAFF, notice=notice)


PINS: dict[int, str] = {}


def survivor(notice: Notice) -> Client:
    """The survivor of the notice's case, signed in with reference and PIN through the page."""
    client = Client()
    case = notice.case
    response = client.post("/case/sign-in/", {"reference": case.reference, "pin": PINS[case.pk]})
    assert response.status_code == 302 and response["Location"] == "/case/"
    return client


def send(notice: Notice, capture: Callable[..., Any]) -> Notice:
    with capture(execute=True):
        notice_send(actor=STAFF, notice=notice_approve(actor=STAFF, notice=Notice.objects.get(pk=notice.pk)))
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    return notice


def platform_sees(notice: Notice) -> str:
    """What the platform API serves to the addressed platform, as text."""
    client = api_client(key_for(account_for(notice.platform.slug, vetted=True), ["notices"]))
    response = client.get(f"/api/v1/notices/{notice.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_by_default_the_platform_gets_the_organisation_s_address_everywhere(
    org: Organization, mail: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = ready_notice(org)
    page = survivor(notice).get("/case/").content.decode()
    section = page.split(f'id="notice-{notice.pk}"')[1].split("</section>")[0]
    assert "gives the website the organisation's address, not yours" in section
    assert "The website will see your email address." in section  # the warning, before any choice
    assert OWN not in section

    sent = send(notice, django_capture_on_commit_callbacks)
    assert OWN not in sent.content_text + sent.content_html + str(sent.content_json)
    (raw,) = [m[2].decode() for m in mail.inbox.messages if m[1] == ["abuse@telegram.org"]]
    message = message_from_string(raw)
    assert message["Reply-To"] == ORG_NOTICE_EMAIL and OWN not in raw
    served = platform_sees(sent)
    assert ORG_NOTICE_EMAIL in served and OWN not in served


def test_the_survivor_chooses_their_own_email_for_one_request_after_the_warning(
    org: Organization, mail: SmtpServer, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = ready_notice(org)
    client = survivor(notice)
    url = f"/case/requests/{notice.pk}/contact/"

    # Without saying they understand the warning, nothing changes.
    assert client.post(url, {"use_own_email": "on"}).status_code == 302
    assert not Notice.objects.get(pk=notice.pk).use_survivor_contact
    assert "Please tick the box" in client.get("/case/").content.decode()

    assert client.post(url, {"use_own_email": "on", "understood": "on"}).status_code == 302
    assert Notice.objects.get(pk=notice.pk).use_survivor_contact
    page = client.get("/case/").content.decode()
    assert "gives the website your own email address, as you chose" in page and OWN in page
    assert AuditEvent.objects.filter(action="notice.contact_chosen", data__own_email=True).count() == 1

    sent = send(notice, django_capture_on_commit_callbacks)
    (raw,) = [m[2].decode() for m in mail.inbox.messages if m[1] == ["abuse@telegram.org"]]
    assert OWN in sent.content_text and message_from_string(raw)["Reply-To"] == OWN
    assert OWN in platform_sees(sent)


def test_the_survivor_can_take_the_choice_back_and_copyright_requests_never_offer_it(org: Organization) -> None:
    notice = ready_notice(org)
    client = survivor(notice)
    url = f"/case/requests/{notice.pk}/contact/"
    client.post(url, {"use_own_email": "on", "understood": "on"})
    assert client.post(url, {"use_own_email": "off"}).status_code == 302
    assert not Notice.objects.get(pk=notice.pk).use_survivor_contact

    dmca = ready_notice(org, "us_dmca_512")
    dmca_client = survivor(dmca)
    section = dmca_client.get("/case/").content.decode().split(f'id="notice-{dmca.pk}"')[1].split("</section>")[0]
    assert "filed by the organisation as your agent" in section and "own-email-warning" not in section
    dmca_client.post(f"/case/requests/{dmca.pk}/contact/", {"use_own_email": "on", "understood": "on"})
    assert not Notice.objects.get(pk=dmca.pk).use_survivor_contact


def test_another_survivor_cannot_choose_for_a_request_that_is_not_theirs(org: Organization) -> None:
    notice = ready_notice(org)
    intruder = survivor(ready_notice(org, email="x@example.net"))
    response = intruder.post(f"/case/requests/{notice.pk}/contact/", {"use_own_email": "on", "understood": "on"})
    assert response.status_code == 404
    assert not Notice.objects.get(pk=notice.pk).use_survivor_contact


def test_the_contact_form_says_websites_never_see_the_email(org: Organization) -> None:
    notice = ready_notice(org)
    page = survivor(notice).get("/case/").content.decode()
    contact = page.split('id="contact"')[1]
    assert "Websites never see it" in contact
    report = Client().get("/start/report/").content.decode()
    assert "Websites never see it" in report
