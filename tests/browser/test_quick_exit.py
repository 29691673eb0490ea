"""The quick-exit control, in a real browser: where it goes, and that Back does not return."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tests.browser.fixtures import check_accessibility, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site


def test_quick_exit_button_replaces_the_page_and_back_does_not_return(
    page: Page, live_server: LiveServer, neutral_site: str
) -> None:
    page.goto(f"{neutral_site}?before")  # where the person was before visiting us
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="What we keep and who sees it").first.click()
    page.wait_for_url("**/what-we-keep/")
    screenshot(page, "what-we-keep")

    page.get_by_role("link", name="Leave this site now").click()
    page.wait_for_url(neutral_site)
    assert page.title() == "Weather"

    page.go_back()
    page.wait_for_load_state()
    assert page.url == f"{neutral_site}?before"  # our pages left no history entry behind
    assert live_server.url not in page.url


def test_pressing_escape_twice_leaves(page: Page, live_server: LiveServer, neutral_site: str) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(neutral_site)
    assert page.get_by_role("heading", name="Weather today").is_visible()


def test_single_escape_does_not_leave(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1200)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == live_server.url + "/"


@pytest.mark.parametrize("path", ["/", "/what-we-keep/", "/accounts/login/", "/no-such-page/"])
def test_pages_have_no_serious_accessibility_violations(page: Page, live_server: LiveServer, path: str) -> None:
    page.goto(live_server.url + path)
    name = path.strip("/").replace("/", "-") or "home"
    screenshot(page, f"page-{name}")
    assert check_accessibility(page) == []
