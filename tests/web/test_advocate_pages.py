"""The advocate's pages say what a case needs in words: a disputed removal, which link matched, the
law by name, the timeline in plain words, a check's progress; and no page offers a closed sign-up."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from takedown.cases.models import ItemStatus
from takedown.core.access import Actor
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck, Verdict
from takedown.matching.services import item_check_request
from takedown.notices.models import NoticeStatus
from takedown.notices.services import deadlines_review, notice_mark_submitted, notice_record_reply
from takedown.organizations.models import Organization
from tests.cases.conftest import org_a, org_b, staff_client  # noqa: F401 - fixtures
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case, registry  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)
DISPUTED = "Platform said removed, but a check still finds the content"


@pytest.fixture
def org(org_a: Organization) -> Organization:  # noqa: F811 - the org_a fixture
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return org_a


@pytest.fixture
def advocate(org: Organization) -> Client:
    return staff_client(org, "adv@helpline.example")


def section(page: str, testid: str) -> str:
    """The HTML of the element marked data-testid (up to its closing tag of the same name)."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>', page)
    assert match, f"no {testid} on the page"
    end = page.index(f"</{match.group(1)}>", match.end())
    return page[match.end() : end]


def test_a_disputed_removal_is_flagged_on_the_caseload_and_the_case(org: Organization, advocate: Client) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1"])
    calm = open_case(organization=org, urls=["https://x.com/b/status/2"])
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    case.items.update(status=ItemStatus.LIVE)
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REMOVED)
    ItemCheck.objects.filter(item__case=case, trigger=CheckTrigger.RECHECK).update(
        state=CheckState.DONE, verdict=Verdict.MATCH, finished_at=timezone.now() + timedelta(seconds=1)
    )
    assert deadlines_review() == 1  # the beat finds the content still there

    caseload = advocate.get("/staff/cases/").content.decode()
    row = next(r for r in caseload.split("<tr") if case.reference in r)
    calm_row = next(r for r in caseload.split("<tr") if calm.reference in r)
    assert DISPUTED in section(row, "attention") and DISPUTED not in calm_row
    page = advocate.get(f"/staff/cases/{case.pk}/").content.decode()
    assert DISPUTED in section(page, "attention")
    assert "Disputed: a check still finds the content" in page  # on the notice's row
    assert "Match found: still online" in page  # the link's own row says a match was found
    exported = b"".join(advocate.get("/staff/cases/export.csv").streaming_content).decode()  # type: ignore[attr-defined]
    rows = {line.split(",")[0]: line for line in exported.splitlines()}
    assert rows["reference"].endswith("needs_action,risks")
    assert "removal_disputed" in rows[case.reference] and "removal_disputed" not in rows[calm.reference]
    # The caseload filters to the cases that need action (now): the disputed one, not the calm one.
    matched = open_case(organization=org, urls=["https://x.com/c/status/3"])
    matched.items.update(status=ItemStatus.LIVE)
    for needs, wanted in (("urgent", {case.reference}), ("any", {case.reference, matched.reference})):
        listed = advocate.get(f"/staff/cases/?needs={needs}").content.decode()
        shown = {c.reference for c in (case, calm, matched) if c.reference in listed}
        assert shown == wanted, needs


def test_the_draft_form_lists_the_matched_link_first_and_marks_the_others(org: Organization, advocate: Client) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1", "https://x.com/a/status/2"])
    first, second = case.items.order_by("id")
    # Statuses as checks leave them: the second link matched, the first did not.
    first.status, second.status = ItemStatus.NO_MATCH, ItemStatus.LIVE
    first.save(update_fields=["status"])
    second.save(update_fields=["status"])
    page = advocate.get(f"/staff/cases/{case.pk}/notices/new/").content.decode()
    matched = page.index("Match found: https://x.com/a/status/2")
    unmatched = page.index("No match found (a notice for it rests on your word): https://x.com/a/status/1")
    assert matched < unmatched
    boxes = re.findall(r'<input type="checkbox" name="items" value="(\d+)"[^>]*>', page)
    assert boxes == [str(second.pk), str(first.pk)]
    checked = re.findall(r'<input type="checkbox" name="items" value="(\d+)"[^>]*checked', page)
    assert checked == [str(second.pk)]


def test_timeline_and_tables_use_words_not_codes(org: Organization, advocate: Client) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1"])
    item_check_request(actor=Actor.system(), item=case.items.get(), trigger=CheckTrigger.MANUAL)
    notice = approved_notice(case)
    page = advocate.get(f"/staff/cases/{case.pk}/").content.decode()
    timeline = page[page.index('<ol class="timeline">') :]
    assert "Link check requested" in timeline and "item.check_requested" not in timeline
    assert "(System)" in timeline and "(system)" not in timeline
    assert notice.basis == "us_take_it_down"
    for path in (f"/staff/cases/{case.pk}/", f"/staff/cases/{case.pk}/notices/"):
        body = advocate.get(path).content.decode()
        assert "us_take_it_down" not in body and "TAKE IT DOWN Act" in body, path


def test_staff_home_title_is_text_and_sign_in_offers_no_sign_up(advocate: Client) -> None:
    home = advocate.get("/staff/").content.decode()
    title = re.search(r"<title>(.*?)</title>", home, re.S)
    assert title and "<" not in title.group(1) and title.group(1).strip().startswith("Staff")
    sign_in = Client().get("/accounts/login/")
    body = sign_in.content.decode()
    assert sign_in.status_code == 200
    assert "sign up" not in body.lower() and "/accounts/signup/" not in body
    assert "open your case with its reference and PIN" in body


def test_check_status_json_says_whether_a_check_runs(
    org: Organization,
    advocate: Client,
    org_b: Organization,  # noqa: F811 - the org_b fixture
) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1"])
    item = case.items.get()
    url = f"/staff/cases/{case.pk}/items/{item.pk}/check.json"
    assert advocate.get(url).json()["running"] is False
    assert advocate.post(f"/staff/cases/{case.pk}/items/{item.pk}/check/").status_code == 302
    running = advocate.get(url)
    assert running["Cache-Control"] == "no-store"
    assert running.json()["running"] is True and running.json()["step"] == "Waiting"
    page = advocate.get(f"/staff/cases/{case.pk}/items/{item.pk}/").content.decode()
    assert 'data-running="true"' in page and "check-status.js" in page
    assert "Reload the page in a moment" not in page
    ItemCheck.objects.filter(item=item).update(
        state=CheckState.DONE, verdict=Verdict.NO_MATCH, finished_at=timezone.now()
    )
    done = advocate.get(url).json()
    assert done["running"] is False and done["result"] == Verdict.NO_MATCH.label
    # Another organisation's advocate gets the same answer as for a missing link.
    assert staff_client(org_b, "other@ngo.example").get(url).status_code == 404
