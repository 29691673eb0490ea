"""The advocate's journey on a laptop (1366x768) and the platform portal, in Chromium.

The advocate finds what needs action on the caseload (a disputed removal, a match), filters with
fields that do not overlap, works the caseload by keyboard alone, drafts a notice from the matched
link, asks the survivor, who declines and then approves on their phone, and watches a "Check now"
run on a real Celery worker against a local site until the page shows the result. The platform
answers a notice in the portal. Every page is checked with axe-core; screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from takedown.cases import services as case_services
from takedown.cases.models import Case, ItemStatus
from takedown.core.access import Actor
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck, Verdict
from takedown.notices.models import Notice, NoticeStatus, SurvivorAnswer
from takedown.notices.services import deadlines_review, notice_mark_submitted, notice_record_reply
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_create, staff_create
from takedown.registry.services import platforms_load
from tests.browser.fixtures import check_accessibility, screenshot
from tests.conftest import totp_code, wait_for
from tests.matching.conftest import Site, page_with, real_broker, site  # noqa: F401 - fixtures
from tests.notices.conftest import approved_notice, registry_data
from tests.platforms.conftest import account_for, key_for, sent_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"
STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site


def accessible(page: Page, name: str) -> None:
    screenshot(page, name)
    assert check_accessibility(page) == [], name


def helpline() -> Organization:
    platforms_load(actor=Actor.system(), data=registry_data())
    return organization_create(
        actor=Actor.system(),
        name="Helpline",
        slug="helpline",
        kind="helpline",
        notice_contact_email="n@helpline.example",
    )


def sign_in_advocate(page: Page, base: str, organization: Organization) -> None:
    user = staff_create(
        actor=Actor.system(), organization=organization, email="adv@helpline.example", password=PASSWORD
    )
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    page.goto(base + "/accounts/login/")
    expect(page.get_by_text("sign up", exact=False)).to_have_count(0)
    accessible(page, "advocate-10-sign-in")
    page.get_by_label("Email").fill("adv@helpline.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.get_by_role("textbox", name="Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/staff/")
    assert "<" not in page.title() and page.title().startswith("Staff")


def disputed_case(organization: Organization) -> Case:
    """A case whose platform answered "removed" while the re-check still finds the content."""
    case = case_services.case_open(
        actor=Actor.system(),
        signature_name="D",
        organization=organization,
        jurisdictions=["US"],
        urls=["https://x.com/d/status/9"],
    ).case
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-9")
    case.items.update(status=ItemStatus.LIVE)
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REMOVED)
    ItemCheck.objects.filter(item__case=case, trigger=CheckTrigger.RECHECK).update(
        state=CheckState.DONE, verdict=Verdict.MATCH, finished_at=timezone.now() + timedelta(seconds=1)
    )
    assert deadlines_review() == 1
    return case


def boxes_overlap(page: Page, selector: str) -> list[Any]:
    """Pairs of elements matching `selector` whose boxes intersect (by more than a pixel)."""
    result: list[Any] = page.evaluate(
        """(selector) => {
          const boxes = [...document.querySelectorAll(selector)]
            .map((el) => [el.name || el.id, el.getBoundingClientRect()]);
          const out = [];
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, r] = boxes[i], [b, s] = boxes[j];
            const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
            const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
            if (w > 1 && h > 1) out.push([a, b]);
          }
          return out;
        }""",
        selector,
    )
    return result


@pytest.mark.worker
def test_advocate_journey_on_a_laptop(
    browser: Browser,
    settings: Settings,
    page: Page,
    live_server: LiveServer,
    site: Site,  # noqa: F811 - the site fixture
    real_broker: str,  # noqa: F811 - the real_broker fixture
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    settings.CHECK_ON_REPORT = False  # only the "Check now" below is checked (by the worker started there)
    org = helpline()
    page.set_viewport_size(LAPTOP)
    disputed = disputed_case(org)
    opened = case_services.case_open(
        actor=Actor.system(),
        signature_name="Sam Doe",
        organization=org,
        jurisdictions=["US"],
        urls=["https://x.com/sam/status/1", "https://x.com/sam/status/2"],
    )
    matched = opened.case
    first, second = matched.items.order_by("id")
    first.status, second.status = ItemStatus.NO_MATCH, ItemStatus.LIVE
    first.save(update_fields=["status"])
    second.save(update_fields=["status"])
    checked_url = site.put("/post/1", page_with())
    checkable = case_services.case_open(
        actor=Actor.system(), signature_name="C", organization=org, jurisdictions=["US"], urls=[checked_url]
    ).case

    sign_in_advocate(page, live_server.url, org)

    # The caseload says what needs action; the filter fields sit side by side without overlapping.
    page.goto(live_server.url + "/staff/cases/")
    assert boxes_overlap(page, ".filters input, .filters select, .filters button") == []
    disputed_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=disputed.reference))
    expect(disputed_row.get_by_test_id("attention")).to_contain_text(
        "Platform said removed, but a check still finds the content"
    )
    matched_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=matched.reference))
    expect(matched_row.get_by_test_id("attention")).to_contain_text("Match found: draft a notice")
    accessible(page, "advocate-11-caseload-needs-action")

    # Keyboard only: from the top of the page, through the filters to a case, never a trap.
    page.goto(live_server.url + "/staff/cases/")
    page.locator("body").focus()
    seen: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement; const style = getComputedStyle(el);"
            " return [el.tagName, el.getAttribute('name') || el.textContent.trim().slice(0, 40),"
            " style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2]; }"
        )
        seen.append(f"{focused[0]}:{focused[1]}")
        assert focused[2], f"no visible focus on {focused}"
        if focused[1] == "q":
            page.keyboard.type(matched.reference)
        if focused[0] == "BUTTON" and focused[1] == "Filter":
            break
    assert "INPUT:q" in seen and "SELECT:status" in seen and "SELECT:risk" in seen, seen
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/cases/?*")
    expect(page.get_by_role("link", name=disputed.reference)).to_have_count(0)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == matched.reference:
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/cases/{matched.pk}/")

    # The disputed case's page flags it at the top.
    page.goto(live_server.url + f"/staff/cases/{disputed.pk}/")
    expect(page.get_by_test_id("attention")).to_contain_text("a check still finds the content")
    expect(page.get_by_test_id("disputed")).to_be_visible()
    expect(page.get_by_text("us_take_it_down")).to_have_count(0)
    accessible(page, "advocate-12-case-removal-disputed")

    # Drafting: the matched link comes first, labelled and ticked; the other is marked no match.
    page.goto(live_server.url + f"/staff/cases/{matched.pk}/notices/new/")
    labels = page.locator("#id_items label").all_inner_texts()
    assert labels[0].startswith("Match found: https://x.com/sam/status/2"), labels
    assert labels[1].startswith("No match found"), labels
    expect(page.get_by_label("Match found: https://x.com/sam/status/2")).to_be_checked()
    expect(page.get_by_label(labels[1].strip())).not_to_be_checked()
    accessible(page, "advocate-13-draft-notice")
    page.get_by_role("button", name="Draft the notice").click()
    page.wait_for_url("**/notices/*/")
    notice = Notice.objects.get(case=matched)
    page.get_by_role("button", name="Ask the survivor to approve it").click()
    expect(page.get_by_test_id("survivor-answer")).to_contain_text("Waiting for the survivor's answer")
    accessible(page, "advocate-14-notice-asked")

    # The survivor, on their phone, declines with a message; then, asked again, approves.
    phone = browser.new_context(locale="en-GB", viewport=PHONE)
    survivor = phone.new_page()
    survivor.goto(live_server.url + "/case/sign-in/")
    survivor.get_by_label("Case reference").fill(matched.reference)
    survivor.get_by_label("PIN").fill(opened.pin)
    survivor.get_by_role("button", name="Open my case").click()
    survivor.wait_for_url("**/case/")
    requests = survivor.get_by_test_id("requests-to-approve")
    expect(requests.get_by_role("heading", name="Request to X")).to_be_visible()
    accessible(survivor, "survivor-20-request-to-approve")
    requests.get_by_label("What should change?", exact=False).fill("Please leave my name out.")
    requests.get_by_role("button", name="Decline this request").click()
    expect(survivor.get_by_text("You said no to the request to X")).to_be_visible()
    accessible(survivor, "survivor-21-request-declined")

    page.reload()
    expect(page.get_by_test_id("survivor-answer")).to_contain_text("The survivor declined this notice")
    expect(page.get_by_test_id("survivor-answer")).to_contain_text("Please leave my name out.")
    expect(page.get_by_role("button", name="Approve this notice")).to_have_count(0)
    accessible(page, "advocate-15-notice-declined")
    page.get_by_role("button", name="Ask the survivor again").click()
    survivor.reload()
    survivor.get_by_test_id("requests-to-approve").get_by_role("button", name="Approve this request").click()
    expect(survivor.get_by_test_id("requests-to-approve").get_by_role("button")).to_have_count(0)
    notice.refresh_from_db()
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.APPROVED, SurvivorAnswer.APPROVED)
    phone.close()
    page.reload()
    expect(page.get_by_test_id("survivor-answer")).to_contain_text("The survivor approved this notice")
    page.goto(live_server.url + "/staff/cases/")
    matched_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=matched.reference))
    expect(matched_row.get_by_test_id("attention")).to_contain_text("The survivor approved a request: send it")

    # "Check now": the page shows the check waiting, then running on a real worker, then its result.
    item = checkable.items.get()
    page.goto(live_server.url + f"/staff/cases/{checkable.pk}/items/{item.pk}/")
    page.get_by_role("button", name="Check now").click()
    progress = page.get_by_test_id("check-progress")
    expect(progress).to_contain_text("Checking the link:")
    expect(page.get_by_role("button", name="Check now")).to_be_disabled()
    accessible(page, "advocate-16-check-running")
    start_worker(queues="fetch,match,default", env={"FETCH_ALLOW_LOOPBACK": "true"})
    expect(progress).to_contain_text("Check finished:", timeout=90_000)
    expect(page.get_by_role("button", name="Check now")).to_be_enabled()
    wait_for(lambda: ItemCheck.objects.filter(item=item, state=CheckState.DONE).exists(), 10, "the check")
    expect(page.locator("#checks h3")).to_have_count(1)  # the result swapped in, no reload
    expect(page.locator("#checks")).not_to_contain_text("Not checked yet.")
    accessible(page, "advocate-17-check-done")


def test_platform_answers_a_notice_in_the_portal(page: Page, live_server: LiveServer) -> None:
    org = helpline()
    page.set_viewport_size(LAPTOP)
    case = case_services.case_open(
        actor=Actor.system(),
        signature_name="P",
        organization=org,
        jurisdictions=["US"],
        urls=["https://x.com/someone/status/1"],
    ).case
    notice = sent_notice(case)
    key = key_for(account_for("x", vetted=False), ["notices"])

    page.goto(live_server.url + "/platform/sign-in/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/platform/")
    expect(page.get_by_role("link", name="API documentation")).to_be_visible()
    expect(page.get_by_role("cell", name="TAKE IT DOWN Act")).to_be_visible()
    accessible(page, "platform-02-queue")
    page.get_by_role("link", name=notice.reference).click()
    page.wait_for_url(f"**/platform/notices/{notice.pk}/")
    expect(page.get_by_test_id("urls")).to_contain_text("https://x.com/someone/status/1")
    expect(page.get_by_test_id("notice-text")).to_contain_text(notice.reference)
    accessible(page, "platform-03-notice")

    page.get_by_label("Your ticket or case number").fill("X-42")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("status")).to_have_text("Acknowledged by the platform")
    page.get_by_label("Rejected: give the reason").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert")).to_contain_text("reason")
    accessible(page, "platform-04-notice-error")
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.ACKNOWLEDGED
    page.get_by_label("Removed: the content is no longer available").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_test_id("status")).to_have_text("Removed")
    expect(page.get_by_text("This notice is answered")).to_be_visible()
    accessible(page, "platform-05-notice-answered")
    answered = Notice.objects.get(pk=notice.pk)
    assert (answered.status, answered.platform_ticket) == (NoticeStatus.REMOVED, "X-42")
