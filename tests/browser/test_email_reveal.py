"""The email address field appears only when email is chosen as the way to be contacted, on the
report form and on the case page, in Chromium at 390x844 (issue 19)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tests.browser.fixtures import check_accessibility, screenshot
from tests.browser.report_steps import next_step
from tests.cases.conftest import survivor_case_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site
    settings.CHECK_ON_REPORT = False


def walk_the_choice(page: Page) -> None:
    email = page.locator("#id_contact_email")
    expect(email).to_be_hidden()
    page.get_by_label("By email").check()
    expect(email).to_be_visible()
    email.fill("sam@example.net")
    assert check_accessibility(page) == []
    page.get_by_label("Do not contact me").check()
    expect(email).to_be_hidden()
    page.get_by_label("By email").check()
    expect(email).to_be_visible()


def test_the_report_form_shows_the_email_field_only_for_email(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    for _ in range(4):
        next_step(page)
    walk_the_choice(page)
    screenshot(page, "survivor-report-email-chosen")
    # Sent back with errors (not signed), email still chosen: the field stays shown and filled.
    next_step(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator(".error-summary, .errorlist").first).to_be_visible()
    expect(page.locator("#id_contact_email")).to_be_visible()
    expect(page.locator("#id_contact_email")).to_have_value("sam@example.net")
    page.get_by_label("Through an advocate").check()
    expect(page.locator("#id_contact_email")).to_be_hidden()


def test_the_case_page_shows_the_email_field_only_for_email(page: Page, live_server: LiveServer) -> None:
    opened = survivor_case_open(["https://pics.example/p/1"])
    page.goto(live_server.url + "/case/sign-in/")
    page.get_by_label("Case reference").fill(opened.case.reference)
    page.get_by_label("PIN").fill(opened.pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")
    walk_the_choice(page)
