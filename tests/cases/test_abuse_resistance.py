"""Abuse resistance: scripted case opening, unusual reporting volume, duplicate notices."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from takedown.cases import services
from takedown.cases.models import Case, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.core.models import AuditEvent
from takedown.notices.models import NoticeStatus
from takedown.notices.services import notice_approve, notice_draft, notice_mark_ready
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client
from tests.cases.test_authorisation_matrix import survivor_client
from tests.cases.test_survivor_pages import report_data
from tests.notices.conftest import open_case, registry  # noqa: F401 - the real platform registry

pytestmark = pytest.mark.django_db
STAFF = Actor(kind="staff", mfa_verified=True)


def test_one_network_address_can_open_only_so_many_cases_an_hour(settings: Settings) -> None:
    settings.CASES_OPENED_PER_ADDRESS_PER_HOUR = 2
    scripted = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(2):  # the answer that opens a case shows its reference and PIN, once
        opened = scripted.post("/start/report/", report_data())
        assert opened.status_code == 200 and b'data-testid="pin"' in opened.content
    refused = scripted.post("/start/report/", report_data())
    assert refused.status_code == 429 and "Many cases were opened from this network" in refused.content.decode()
    assert Case.objects.count() == 2
    # Another address is not affected; a refused form does not count against anyone.
    other = Client(REMOTE_ADDR="198.51.100.8").post("/start/report/", report_data())
    assert other.status_code == 200 and b'data-testid="pin"' in other.content
    assert Case.objects.count() == 3


def test_a_survivor_over_the_daily_link_cap_adds_nothing_and_the_case_is_flagged(
    settings: Settings, org_a: Organization
) -> None:
    settings.REPORTED_LINKS_PER_CASE_PER_DAY = 3
    opened = services.case_open(actor=Actor.system(), signature_name="S", organization=org_a)
    client = survivor_client(opened.case.reference, opened.pin)
    assert client.post("/case/links/", {"urls": "https://a.example/1 https://a.example/2"}).status_code == 302
    over = client.post("/case/links/", {"urls": "https://a.example/3 https://a.example/4"})
    assert over.status_code == 400 and "You have added many links today" in over.content.decode()
    assert ReportedItem.objects.filter(case=opened.case).count() == 2
    client.post("/case/links/", {"urls": "https://a.example/5 https://a.example/6"})
    assert AuditEvent.objects.filter(action="case.volume_capped", subject_id=opened.case.pk).count() == 1

    advocate = staff_client(org_a, "adv@a.org")
    assert opened.case.reference in advocate.get("/staff/cases/review/").content.decode()
    # Staff filing in bulk are not capped.
    services.case_add_urls(actor=STAFF, case=opened.case, urls=[f"https://b.example/{n}" for n in range(5)])
    assert ReportedItem.objects.filter(case=opened.case).count() == 7


@pytest.mark.usefixtures("registry")
def test_a_second_open_notice_for_the_same_link_and_platform_is_refused(settings: Any) -> None:
    # Notices give a relay address: the survivor's own email only if they choose it per notice.
    settings.NOTICES_RELAY_DOMAIN = "helpline.example.org"
    case = open_case(
        urls=["https://x.com/someone/status/1", "https://x.com/someone/status/2"],
        contact_preference="email",
        contact_email="s@example.org",
    )
    first_item, second_item = case.items.order_by("id")
    first = notice_approve(actor=STAFF, notice=notice_draft(actor=STAFF, case=case, items=[first_item]))
    with pytest.raises(Conflict, match=f"already under way \\({first.reference}\\)"):
        notice_draft(actor=STAFF, case=case, items=[second_item, first_item])
    # Drafts do not count (an advocate may compare legal bases), but only one goes further.
    first_item.refresh_from_db()
    type(first).objects.filter(pk=first.pk).update(status=NoticeStatus.DRAFT)
    draft_a = notice_draft(actor=STAFF, case=case, items=[first_item])
    draft_b = notice_draft(actor=STAFF, case=case, items=[first_item])
    notice_approve(actor=STAFF, notice=draft_a)
    with pytest.raises(Conflict, match="already under way"):
        notice_approve(actor=STAFF, notice=draft_b)
    with pytest.raises(Conflict, match="already under way"):
        notice_mark_ready(actor=STAFF, notice=draft_b)
    # Another link to the same platform is fine; once the notice ended, the link may go again.
    notice_approve(actor=STAFF, notice=notice_draft(actor=STAFF, case=case, items=[second_item]))
    type(first).objects.filter(pk=draft_a.pk).update(status=NoticeStatus.REJECTED)
    again = notice_approve(actor=STAFF, notice=draft_b)
    assert again.status == NoticeStatus.APPROVED and list(again.items.all()) == [first_item]


@pytest.mark.usefixtures("registry")
def test_a_notice_without_a_hash_match_needs_a_second_person(org_a: Organization) -> None:
    from django.contrib.auth import get_user_model

    from takedown.matching.models import CheckState, ItemCheck
    from takedown.organizations.services import staff_create

    drafter = staff_create(actor=Actor.system(), organization=org_a, email="d@a.org", password="x" * 12)
    second = staff_create(actor=Actor.system(), organization=org_a, email="s@a.org", password="x" * 12)
    as_drafter = Actor(kind="staff", user_id=drafter.pk, organization_ids=frozenset({org_a.pk}), mfa_verified=True)
    as_second = Actor(kind="staff", user_id=second.pk, organization_ids=frozenset({org_a.pk}), mfa_verified=True)
    org_a.notice_contact_email = "notices@a.example.org"  # the contact notices give
    org_a.save()
    case = open_case(organization=org_a, contact_preference="email", contact_email="s@example.org")
    notice = notice_draft(actor=as_drafter, case=case, items=list(case.items.all()))

    with pytest.raises(Conflict, match="not backed by a hash match"):
        notice_approve(actor=as_drafter, notice=notice)
    advocate = staff_client(org_a, "adv@a.org")
    assert case.reference in advocate.get("/staff/cases/review/").content.decode()
    assert notice_approve(actor=as_second, notice=notice).status == NoticeStatus.APPROVED

    # With a check that found a copy at every link, the drafter approves alone.
    item = case.items.get()
    ItemCheck.objects.create(
        item=item, case=case, trigger="report", state=CheckState.DONE, verdict="match", requested_url=item.url
    )
    other = open_case(
        organization=org_a,
        contact_preference="email",
        contact_email="s@example.org",
        urls=["https://x.com/someone/status/9"],
    )
    for it in other.items.all():
        ItemCheck.objects.create(
            item=it, case=other, trigger="report", state=CheckState.DONE, verdict="match", requested_url=it.url
        )
    backed = notice_draft(actor=as_drafter, case=other, items=list(other.items.all()))
    assert notice_approve(actor=as_drafter, notice=backed).status == NoticeStatus.APPROVED
    assert get_user_model().objects.count() == 3
