"""Staff notice pages: drafting, preview, approval, and the access chokepoint (nothing changes when refused)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckState, ItemCheck
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.services import notice_draft
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client
from tests.notices.conftest import open_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]


@pytest.fixture
def case(org_a: Organization) -> Case:
    org_a.notice_contact_email = "notices@helpline.example.org"
    org_a.save()
    case = open_case(organization=org_a, urls=["https://x.com/a/status/1", "https://x.com/a/status/2"])
    # Checks found a copy at both links, so the drafting advocate may approve alone (a notice
    # without a hash match needs a second person: tests/cases/test_abuse_resistance.py).
    for item in case.items.all():
        ItemCheck.objects.create(
            item=item, case=case, trigger="report", state=CheckState.DONE, verdict="match", requested_url=item.url
        )
    return case


def test_advocate_drafts_previews_and_approves(case: Case, org_a: Organization) -> None:
    client = staff_client(org_a, "advocate@a.example")
    base = f"/staff/cases/{case.pk}"
    page = client.get(f"{base}/")
    assert page.status_code == 200 and "Draft a notice" in page.content.decode()
    assert client.get(f"{base}/notices/new/").status_code == 200

    items = list(case.items.values_list("pk", flat=True))
    response = client.post(f"{base}/notices/new/", {"items": items, "basis": ""})
    assert response.status_code == 302
    notice = Notice.objects.get(case=case)
    assert response["Location"] == f"{base}/notices/{notice.pk}/"
    assert notice.basis == "us_take_it_down" and notice.items.count() == 2

    detail = client.get(response["Location"]).content.decode()
    assert "Every element this legal basis requires is present." in detail
    assert "TAKE IT DOWN Act: you chose United States" in detail
    assert "https://x.com/a/status/2" in detail and "Alex Example" in detail

    assert client.post(f"{base}/notices/{notice.pk}/approve/").status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.APPROVED and notice.approved_by is not None
    assert client.get(f"{base}/notices/").status_code == 200
    pdf = client.get(f"{base}/notices/{notice.pk}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_missing_elements_are_shown_and_approval_refused(org_a: Organization) -> None:
    case = open_case(organization=org_a)  # no notice address, no relay domain configured
    notice = notice_draft(actor=Actor(kind="staff"), case=case, items=list(case.items.all()))
    client = staff_client(org_a, "advocate@a.example")
    detail = client.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").content.decode()
    assert "It is missing:" in detail and "contact details" in detail
    client.post(f"/staff/cases/{case.pk}/notices/{notice.pk}/approve/")
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT


def test_another_organisation_gets_404_and_nothing_changes(case: Case, org_b: Organization) -> None:
    notice = notice_draft(actor=Actor(kind="staff"), case=case, items=list(case.items.all()))
    outsiders = {"advocate of another organisation": staff_client(org_b, "advocate@b.example"), "anonymous": Client()}
    items = list(case.items.values_list("pk", flat=True))
    base = f"/staff/cases/{case.pk}/notices"
    requests = [
        ("get", f"{base}/", {}),
        ("get", f"{base}/new/", {}),
        ("post", f"{base}/new/", {"items": items}),
        ("get", f"{base}/{notice.pk}/", {}),
        ("post", f"{base}/{notice.pk}/approve/", {}),
        ("post", f"{base}/{notice.pk}/edit/", {"details": "changed"}),
        ("get", f"{base}/{notice.pk}/notice.pdf", {}),
    ]
    events = AuditEvent.objects.count()
    for who, client in outsiders.items():
        for method, url, data in requests:
            response = getattr(client, method)(url, data)
            expected = 404 if who != "anonymous" else 302
            assert response.status_code == expected, (who, method, url)
            if who == "anonymous":
                assert response["Location"].startswith("/accounts/login/")
    assert Notice.objects.count() == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.DRAFT and notice.details == ""
    assert AuditEvent.objects.count() == events  # not even a "viewed" event


def test_a_notice_of_another_case_is_not_reached_through_this_case(case: Case, org_a: Organization) -> None:
    other = open_case(organization=org_a, urls=["https://x.com/b/status/9"])
    notice = notice_draft(actor=Actor(kind="staff"), case=other, items=list(other.items.all()))
    client = staff_client(org_a, "advocate@a.example")
    assert client.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").status_code == 404
    assert client.get(f"/staff/cases/{other.pk}/notices/{notice.pk}/").status_code == 200


def test_an_unknown_site_is_never_a_dead_end_on_the_page(org_a: Organization, settings: Any) -> None:
    """No lookup finds the host: the page asks for the site's contact, and the draft goes on with it."""
    settings.NOTICES_RDAP_BOOTSTRAP_URL = ""
    org_a.notice_contact_email = "notices@helpline.example.org"
    org_a.save()
    case = open_case(organization=org_a, urls=["https://unknown.example.net/p/1"])
    client = staff_client(org_a, "advocate@a.example")
    url = f"/staff/cases/{case.pk}/notices/new/"
    items = list(case.items.values_list("pk", flat=True))
    refused = client.post(url, {"items": items})
    page = refused.content.decode()
    assert refused.status_code == 400 and "abuse email address" in page and "registry first" not in page
    assert 'name="host_contact"' in page
    response = client.post(url, {"items": items, "host_contact": "abuse@unknown.example.net"})
    assert response.status_code == 302
    notice = Notice.objects.get(case=case)
    assert notice.recipient == "abuse@unknown.example.net" and notice.platform.slug == "site-example-net"
    detail = client.get(response["Location"]).content.decode()
    assert notice.reference in detail and "Last verified" in detail
    assert "the organisation&#x27;s notice address" in detail or "the organisation's notice address" in detail
