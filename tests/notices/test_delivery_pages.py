"""Staff pages for delivery, escalation and the case report, and their authorisation matrix:
another organisation's advocate gets 404 on every new page, anonymous visitors are sent to sign
in, and a refused request changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.services import item_check_request
from takedown.notices.models import (
    DeliveryAttempt,
    Escalation,
    EscalationRung,
    EscalationStatus,
    Notice,
    NoticeStatus,
)
from takedown.notices.report import case_report_html
from takedown.notices.services import deadlines_review, notice_mark_submitted
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, urls=["https://x.com/a/status/1"])


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Notice.objects.values_list("pk", "status", "platform_ticket", "sent_at")),
        DeliveryAttempt.objects.count(),
        sorted(Escalation.objects.values_list("pk", "status")),
        AuditEvent.objects.exclude(action="case.viewed").count(),
    )


def escalate(case: Case, capture: Callable[..., Any]) -> Escalation:
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    Notice.objects.filter(pk=notice.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    with capture(execute=True):
        deadlines_review()
    deadlines_review()
    return Escalation.objects.get(notice=notice, rung=EscalationRung.FOLLOW_UP)


def test_form_packet_page_and_marking_it_submitted(case: Case, org_a: Organization) -> None:
    notice = approved_notice(case)
    client = staff_client(org_a, "advocate@a.example")
    base = f"/staff/cases/{case.pk}/notices/{notice.pk}"
    detail = client.get(f"{base}/").content.decode()
    assert f"{base}/packet/" in detail and f"{base}/send/" not in detail
    page = client.get(f"{base}/packet/")
    content = page.content.decode()
    assert page.status_code == 200
    assert "https://help.x.com/forms/safety-and-sensitive-content/take-it-down" in content
    assert "location (URLs) of the content" in content and "Alex Example" in content

    assert client.post(f"{base}/submitted/", {"platform_ticket": ""}).status_code == 400
    response = client.post(f"{base}/submitted/", {"platform_ticket": "X-4242"})
    assert response.status_code == 302 and response["Location"] == f"{base}/"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.platform_ticket == "X-4242"
    assert "X-4242" in client.get(f"{base}/").content.decode()


def test_escalations_show_on_the_case_and_notice_pages_and_can_be_decided(
    case: Case, org_a: Organization, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    escalation = escalate(case, django_capture_on_commit_callbacks)
    client = staff_client(org_a, "advocate@a.example")
    case_page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert "Next steps proposed" in case_page and "Follow-up notice to the platform" in case_page
    notice_page = client.get(f"/staff/cases/{case.pk}/notices/{escalation.notice_id}/").content.decode()
    assert "Follow-up notice to the platform" in notice_page
    response = client.post(f"/staff/cases/{case.pk}/escalations/{escalation.pk}/", {"decision": "accept"})
    assert response["Location"] == f"/staff/cases/{case.pk}/notices/{escalation.draft_notice_id}/"
    assert Escalation.objects.get(pk=escalation.pk).status == EscalationStatus.ACCEPTED


def pdf_text(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    return text, images


def test_case_report_pdf_has_the_reference_evidence_and_notices_and_no_image(
    case: Case, org_a: Organization, tmp_path: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        item_check_request(actor=Actor.system(), item=case.items.get())
    notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="X-777")
    html = case_report_html(case)
    assert "<img" not in html and "The evidence chain verifies: 1 sealed record" in html

    client = staff_client(org_a, "advocate@a.example")
    response = client.get(f"/staff/cases/{case.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text, images = pdf_text(response.content, tmp_path)
    assert case.reference in text and "X-777" in text and "https://x.com/a/status/1" in text
    assert "Could not be checked" in text
    assert len(images.strip().splitlines()) == 2  # pdfimages' two header lines, and no image
    assert AuditEvent.objects.filter(action="case.report_downloaded", subject_id=str(case.pk)).count() == 1


@pytest.mark.parametrize("who", ["anonymous", "other_org"])
def test_refused_on_every_new_page_and_nothing_changes(
    who: str,
    case: Case,
    org_b: Organization,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    escalation = escalate(case, django_capture_on_commit_callbacks)
    draft = escalation.draft_notice
    assert draft is not None
    approved = approved_notice(open_case(organization=case.organization, urls=["https://x.com/b/status/2"]))
    client = Client() if who == "anonymous" else staff_client(org_b, "advocate@b.example")
    before = snapshot()
    pages: list[tuple[str, str, dict[str, str]]] = [
        ("post", f"/staff/cases/{approved.case_id}/notices/{approved.pk}/send/", {}),
        ("get", f"/staff/cases/{approved.case_id}/notices/{approved.pk}/packet/", {}),
        ("post", f"/staff/cases/{approved.case_id}/notices/{approved.pk}/submitted/", {"platform_ticket": "T"}),
        ("post", f"/staff/cases/{case.pk}/escalations/{escalation.pk}/", {"decision": "dismiss"}),
        ("get", f"/staff/cases/{case.pk}/report.pdf", {}),
    ]
    for method, url, data in pages:
        response = getattr(client, method)(url, data)
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        else:
            assert response.status_code == 404, url
    assert snapshot() == before


def test_advocate_sends_from_the_notice_page_and_sees_the_attempt(
    org_a: Organization, settings: Any, smtp_server: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    notice = approved_notice(open_case(organization=org_a, urls=["https://t.me/somechannel/12"]))
    client = staff_client(org_a, "advocate@a.example")
    base = f"/staff/cases/{notice.case_id}/notices/{notice.pk}"
    assert f"{base}/send/" in client.get(f"{base}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{base}/send/").status_code == 302
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    assert len(smtp_server.inbox.messages) == 1
    page = client.get(f"{base}/").content.decode()
    assert "Delivery attempts" in page and "Delivered" in page
    assert client.post(f"{base}/send/").status_code == 302  # a second press changes nothing
    assert len(smtp_server.inbox.messages) == 1 and DeliveryAttempt.objects.filter(notice=notice).count() == 1
