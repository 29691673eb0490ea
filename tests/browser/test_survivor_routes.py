"""The safety questions on a phone-sized screen: danger and under 18 answered together lead to the
under-18 page with the emergency numbers first, each a tel: link, and the service of the country
the survivor chose; the pages pass axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.fixtures import check_accessibility, screenshot

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
