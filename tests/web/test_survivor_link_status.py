"""The survivor's case page says where each link stands in one plain sentence, shows the link as
host and path (three links on one site differ), and the top line, the links, the requests and the
count agree: a website's "removed" is shown as such, and "removed" once a re-check agrees (issue 19)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.test import Client
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.notices.models import NoticeStatus
from takedown.notices.services import notice_approve, notice_draft, notice_mark_sent, notice_record_reply
from takedown.organizations.models import Organization
from tests.cases.conftest import bundle_text, shared_photo
from tests.notices.conftest import ORG_NOTICE_EMAIL, open_case, org_a, registry  # noqa: F401 - fixtures
from tests.web.helpers import survivor_sign_in_session

pytestmark = pytest.mark.django_db

STAFF = Actor(kind="staff", mfa_verified=True)
URLS = ["https://x.com/someone/status/1", "https://x.com/someone/status/2", "https://x.com/someone/status/3"]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@dataclass
class CasePage:
    top: str
    rows: dict[str, str]  # link (host and path) -> the row's text
    requests: list[str]
    page: str


def case_page(client: Client) -> CasePage:
    html = client.get("/case/").content.decode()
    rows = re.findall(r'<tr data-testid="link-row">(.*?)</tr>', html, re.S)
    requests = re.findall(r'<tr data-testid="request-row">(.*?)</tr>', html, re.S)
    top = re.search(r'data-testid="status">(.*?)</p>', html, re.S)
    assert top is not None
    return CasePage(
        top=text(top.group(1)),
        rows={text(r).split(" ", 1)[0]: text(r) for r in rows},
        requests=[text(r) for r in requests],
        page=text(html),
    )


def record_check(item: ReportedItem, found: str, at: datetime, *, check_id: int) -> None:
    """What matching records after checking a link (the item's status moves with it)."""
    case_services.item_check_recorded(
        actor=Actor.system(), item=item, found=found, checked_at=at, platform="", check_id=check_id
    )


@pytest.mark.usefixtures("registry")
def test_links_requests_and_top_line_agree_through_a_removal(
    client: Client,
    org_a: Organization,  # noqa: F811 - the fixture imported above
    settings: Settings,
) -> None:
    settings.CHECK_ON_REPORT = False
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    # A case with a photo's fingerprints: its checks had something to compare each page with.
    case = open_case(organization=org_a, urls=URLS, bundle=bundle_text(shared_photo(3)))
    first, second, third = case.items.order_by("id")
    survivor_sign_in_session(client, case.pk)

    parts = case_page(client)
    assert parts.top == "We have your case. We are still checking some of the links you gave us."
    assert set(parts.rows) == {"x.com/someone/status/1", "x.com/someone/status/2", "x.com/someone/status/3"}

    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for item, found in [(first, ItemStatus.LIVE), (second, ItemStatus.NO_MATCH), (third, ItemStatus.UNREACHABLE)]:
        record_check(item, found, now, check_id=1)
    parts = case_page(client)
    rows = parts.rows
    assert "We found a copy of your photo here." in rows["x.com/someone/status/1"]
    assert "We opened this page and did not find your photos there." in rows["x.com/someone/status/2"]
    assert "We could not open this page." in rows["x.com/someone/status/3"]
    assert parts.top.startswith("Every check has finished.")
    assert "being checked" not in parts.page and "Still online" not in parts.page

    notice = notice_draft(actor=STAFF, case=case, items=[first], basis_code=None, member_state="")
    notice = notice_approve(actor=STAFF, notice=notice)
    notice_mark_sent(actor=STAFF, notice=notice)
    parts = case_page(client)
    assert parts.top == "We have asked websites to remove your photos and are waiting for them to act."
    assert "and are waiting for an answer." in parts.rows["x.com/someone/status/1"]
    assert ["Sent. Waiting for an answer." in r for r in parts.requests] == [True]

    # The website says "removed": not yet removed for us, the same on every part of the page.
    notice_record_reply(
        actor=STAFF, notice=notice, outcome=NoticeStatus.REMOVED, replied_at=datetime(2026, 12, 7, 9, tzinfo=UTC)
    )
    parts = case_page(client)
    assert (
        "The website says it removed this on 7 Dec. We are checking that it is gone."
        in parts.rows["x.com/someone/status/1"]
    )
    assert "The website says it removed it. We are checking." in parts.requests[0]
    assert "removed so far: 0" in parts.page
    assert parts.top == "We have asked websites to remove your photos and are waiting for them to act."

    # The re-check finds it gone: removed everywhere, with the day.
    record_check(first, ItemStatus.REMOVED, datetime(2026, 12, 7, 10, tzinfo=UTC), check_id=2)
    parts = case_page(client)
    assert "Removed on 7 Dec." in parts.rows["x.com/someone/status/1"]
    assert "Removed." in parts.requests[0]
    assert "removed so far: 1" in parts.page
    assert parts.top == "Every check has finished. Each link below says what we found."


@pytest.mark.usefixtures("registry")
def test_a_page_checked_with_nothing_to_compare_does_not_say_the_photos_are_not_there(
    client: Client,
    org_a: Organization,  # noqa: F811 - the fixture imported above
    settings: Settings,
) -> None:
    """A case opened with links only (no fingerprints, no face templates): a check opens the page
    but compares nothing, so "did not find your photos there" would be untrue (a phone walk found
    it); the link says what happened and what would let us look."""
    settings.CHECK_ON_REPORT = False
    case = open_case(organization=org_a, urls=URLS[:1])
    (item,) = case.items.all()
    survivor_sign_in_session(client, case.pk)
    record_check(item, ItemStatus.NO_MATCH, datetime(2026, 12, 1, 9, tzinfo=UTC), check_id=1)
    row = case_page(client).rows["x.com/someone/status/1"]
    assert "did not find your photos" not in row
    assert "We opened this page, but we had nothing to compare it with" in row
    assert "add fingerprints of your photos" in row
