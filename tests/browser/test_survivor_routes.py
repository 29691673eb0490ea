"""The safety questions on a phone-sized screen: danger and under 18 answered together lead to the
under-18 page with the emergency numbers first, each a tel: link, and the service of the country
the survivor chose; the pages pass axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from takedown.core.access import Actor
from takedown.notices.models import Notice
from takedown.notices.services import notice_draft, notice_mark_ready
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_create
from tests.browser.fixtures import check_accessibility, screenshot
from tests.cases.conftest import survivor_case_open
from tests.notices.conftest import registry  # noqa: F401 - the platform registry fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_danger_and_under_18_together_on_a_phone(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/")
    assert check_accessibility(page) == []
    page.get_by_role("group", name="Are you in danger right now?").get_by_label("Yes").check()
    page.get_by_role("group", name="Was anyone in the images under 18 when they were taken?").get_by_label(
        "I am not sure"
    ).check()
    page.get_by_label("Where do you live?", exact=False).select_option("UK")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/start/under-18/**")
    numbers = page.get_by_test_id("emergency-numbers")
    expect(numbers).to_be_visible()
    expect(numbers.get_by_role("link", name="999", exact=True)).to_have_attribute("href", "tel:999")
    expect(numbers.get_by_role("link", name="0345 6000 459")).to_have_attribute("href", "tel:+443456000459")
    chosen = page.get_by_test_id("route-chosen")
    expect(chosen).to_contain_text("Report Remove")
    expect(chosen.get_by_role("link", name="0800 1111")).to_have_attribute("href", "tel:08001111")
    # The emergency numbers come before anything else on the page.
    assert page.evaluate(
        "() => document.querySelector('[data-testid=emergency-numbers]').compareDocumentPosition("
        "document.querySelector('[data-testid=route-chosen]')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert check_accessibility(page) == []
    screenshot(page, "under-18-in-danger-uk")

    # Changing the country on the page itself keeps the emergency numbers.
    page.get_by_label("Where do you live? We use it only", exact=False).select_option("AU")
    page.get_by_role("button", name="Show the service for my country").click()
    page.wait_for_url("**country=AU**")
    expect(page.get_by_test_id("route-chosen")).to_contain_text("eSafety")
    expect(page.get_by_test_id("emergency-numbers").get_by_role("link", name="000", exact=True)).to_be_visible()


def test_the_danger_page_on_a_phone(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/safety/")
    links = page.get_by_test_id("emergency-numbers").locator("a[href^='tel:']")
    expect(links).to_have_count(7)
    assert check_accessibility(page) == []


@pytest.mark.usefixtures("registry")
def test_giving_a_website_my_own_email_needs_the_warning_on_a_phone(page: Page, live_server: LiveServer) -> None:
    org = organization_create(actor=Actor.system(), name="Helpline", slug="helpline", kind="helpline")
    Organization.objects.filter(pk=org.pk).update(notice_contact_email="notices@helpline.example.org")
    org.refresh_from_db()
    opened = survivor_case_open(
        ["https://t.me/somechannel/12"], contact_preference="email", contact_email="sam@example.net", organization=org
    )
    staff = Actor(kind="staff", mfa_verified=True)
    case = opened.case
    notice = notice_mark_ready(
        actor=staff, notice=notice_draft(actor=staff, case=case, items=list(case.items.all()), basis_code=None)
    )

    page.goto(live_server.url + "/case/sign-in/")
    page.get_by_label("Case reference").fill(case.reference)
    page.get_by_label("PIN").fill(opened.pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")
    request = page.locator(f"section[aria-labelledby='notice-{notice.pk}']")
    expect(request.get_by_test_id("notice-contact")).to_contain_text("the organisation's address, not yours")
    request.get_by_text("Give this website my own email address instead").click()
    expect(request.get_by_test_id("own-email-warning")).to_contain_text("The website will see your email address.")
    assert check_accessibility(page) == []

    request.get_by_role("button", name="Give this website my own email address").click()
    expect(page.get_by_text("Please tick the box to say you understand")).to_be_visible()
    assert not Notice.objects.get(pk=notice.pk).use_survivor_contact

    request = page.locator(f"section[aria-labelledby='notice-{notice.pk}']")
    request.get_by_text("Give this website my own email address instead").click()
    request.get_by_label("I understand that this website will see my email address", exact=False).check()
    request.get_by_role("button", name="Give this website my own email address").click()
    expect(
        page.locator(f"section[aria-labelledby='notice-{notice.pk}']").get_by_test_id("notice-contact")
    ).to_contain_text("your own email address, as you chose")
    assert Notice.objects.get(pk=notice.pk).use_survivor_contact
    assert check_accessibility(page) == []
    screenshot(page, "case-own-email-chosen")
