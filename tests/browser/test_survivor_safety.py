"""Issue 14, defects 2 and 3, in Chromium on a phone-sized screen.

Quick exit ends the case on this device: afterwards typing /case/ shows the sign-in page, also when
the request that ends the session on the server is blocked; after form posts and a quick exit, Back
never returns to a page of the site. A new case's reference and PIN are shown once, after advice
about shared or monitored devices, and the page forgets them when the session would have ended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, Route, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from takedown.cases import services
from takedown.cases.access import SURVIVOR_SESSION_KEY
from takedown.core.access import Actor
from takedown.organizations.services import organization_create
from tests.browser.fixtures import check_accessibility, screenshot
from tests.browser.report_steps import next_step, send_unfinished

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site
    settings.INTAKE_ORGANIZATION_SLUG = "intake"
    settings.CHECK_ON_REPORT = False
    organization_create(actor=Actor.system(), name="Intake", slug="intake", kind="helpline")


def assert_accessible(page: Page, name: str) -> None:
    screenshot(page, name)
    assert check_accessibility(page) == [], name


def new_case() -> tuple[str, str]:
    opened = services.case_open_for_survivor(
        client_ip="127.0.0.1",
        bundle_text="",
        signature_name="Sam",
        jurisdictions=["US"],
        content_kind="authentic",
        consent_share_hashes=False,
        contact_preference="none",
        contact_email="",
        urls=["https://tube.example/watch?v=1"],
        risk_sextortion=False,
        risk_doxxing=False,
        risk_physical_danger=False,
    )
    return opened.case.reference, opened.pin


def signed_in_sessions() -> int:
    return sum(SURVIVOR_SESSION_KEY in session.get_decoded() for session in Session.objects.all())


def sign_in(page: Page, live_server: LiveServer, reference: str, pin: str) -> None:
    page.goto(live_server.url + "/case/sign-in/")
    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")
    expect(page.get_by_role("heading", name="Your case", exact=True)).to_be_visible()


def quick_exit(page: Page, neutral_site: str, how: str) -> None:
    if how == "button":
        page.get_by_role("link", name="Leave this site now").click()
    else:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    page.wait_for_url(neutral_site)


@pytest.mark.parametrize("how", ["button", "escape"])
@pytest.mark.parametrize("beacon", ["delivered", "blocked"])
def test_after_quick_exit_typing_case_shows_sign_in(
    page: Page, live_server: LiveServer, neutral_site: str, how: str, beacon: str
) -> None:
    reference, pin = new_case()
    exits: list[str] = []

    def block(route: Route) -> None:
        exits.append(route.request.method)
        route.abort()

    if beacon == "blocked":
        page.route("**/case/exit/", block)
    sign_in(page, live_server, reference, pin)
    assert signed_in_sessions() == 1

    quick_exit(page, neutral_site, how)
    if beacon == "delivered":
        # The beacon reached the server: the session is gone there.
        deadline = 50
        while signed_in_sessions() and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert signed_in_sessions() == 0
    else:
        assert exits == ["POST"]  # the beacon was sent and lost
        assert signed_in_sessions() == 1  # the server never heard of the exit

    # Someone picks up the phone and types the address.
    page.goto(live_server.url + "/case/")
    page.wait_for_url("**/case/sign-in/")
    expect(page.get_by_role("heading", name="Check your case")).to_be_visible()
    assert reference not in page.content()
    assert signed_in_sessions() == 0  # and the server dropped the sign-in when it saw no presence cookie


def test_after_posts_and_quick_exit_back_never_returns_to_the_site(
    page: Page, live_server: LiveServer, neutral_site: str
) -> None:
    reference, pin = new_case()
    page.goto(f"{neutral_site}?before")
    page.goto(live_server.url + "/case/sign-in/")
    entries = page.evaluate("history.length")
    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Open my case").click()  # a POST that signs in
    page.wait_for_url("**/case/")
    page.locator("#id_urls").fill("https://third.example/x")
    page.get_by_role("button", name="Add links").click()  # a POST that redirects
    expect(page.get_by_role("cell", name="third.example")).to_be_visible()
    page.locator("#id_urls").fill("not a link")
    page.get_by_role("button", name="Add links").click()  # a POST answered with errors
    expect(page.locator("[data-error-summary]")).to_be_visible()
    # The posts replaced this visit's one entry instead of adding their own.
    assert page.evaluate("history.length") == entries

    page.get_by_role("link", name="Leave this site now").click()
    page.wait_for_url(neutral_site)
    visited = []
    for _ in range(3):
        page.go_back()
        page.wait_for_load_state()
        visited.append(page.url)
    assert visited[0] == f"{neutral_site}?before"
    assert not [url for url in visited if url.startswith(live_server.url)], visited


def test_an_error_swaps_the_form_and_focuses_the_error_summary(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/case/sign-in/")
    page.get_by_role("button", name="Open my case").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.url == live_server.url + "/case/sign-in/"
    assert_accessible(page, "survivor-sign-in-errors")
    # The summary's links lead to the fields, on the same page.
    summary.get_by_role("link").first.click()
    assert page.url.startswith(live_server.url + "/case/sign-in/")


def test_the_hasher_works_on_a_report_form_swapped_in_with_errors(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    send_unfinished(page)
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.locator("[data-hasher].takedown-hasher--ready")).to_have_count(1)
    page.locator("[data-hasher-input]").first.set_input_files([str(PHOTOS / "kodak" / "kodim03.png")])
    expect(page.locator("[data-hasher-status]").first).to_contain_text("1 file", timeout=60_000)
    assert_accessible(page, "survivor-report-errors")


def fill_report(page: Page) -> None:
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    next_step(page)  # the report form comes in steps (static/js/report-steps.js)
    next_step(page)
    page.get_by_label("Links where the images appear (one per line)").fill("https://tube.example/watch?v=1")
    next_step(page)
    page.get_by_label("United States").check()
    next_step(page)
    next_step(page)
    page.get_by_label("I believe in good faith that these images were shared without my consent.").check()
    page.get_by_label("Type your name to sign").fill("Sam Doe")


def test_the_pin_is_shown_once_after_device_advice(page: Page, live_server: LiveServer, neutral_site: str) -> None:
    page.goto(f"{neutral_site}?before")
    page.goto(live_server.url + "/start/report/")
    fill_report(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Your case is open")).to_be_visible()
    advice = page.get_by_test_id("device-advice")
    expect(advice).to_be_visible()
    expect(page.get_by_test_id("pin")).to_be_hidden()
    assert_accessible(page, "survivor-pin-advice")
    page.get_by_text("Show my reference and PIN").click()
    pin = page.get_by_test_id("pin").inner_text().strip()
    reference = page.get_by_test_id("reference").inner_text().strip()
    assert page.get_by_test_id("device-advice").bounding_box()["y"] < page.get_by_test_id("pin").bounding_box()["y"]  # type: ignore[index]
    assert_accessible(page, "survivor-pin-shown")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download them as a text file").click()
    text = Path(download_info.value.path()).read_text()
    assert pin in text and reference in text
    assert not [s for s in Session.objects.all() if pin in s.session_data or pin in repr(s.get_decoded())]

    # Nothing can bring it back: not the old address, not Back after leaving.
    page.get_by_role("link", name="Leave this site now").click()
    page.wait_for_url(neutral_site)
    page.go_back()
    page.wait_for_load_state()
    assert page.url == f"{neutral_site}?before"
    for path in ["/start/created/", "/start/created/download/", "/case/", "/start/report/"]:
        page.goto(live_server.url + path)
        assert pin not in page.content(), path


@pytest.mark.parametrize("limit", ["SURVIVOR_SESSION_IDLE_SECONDS", "SURVIVOR_SESSION_MAX_SECONDS"])
def test_the_pin_page_forgets_the_pin_when_the_session_would_end(
    page: Page, live_server: LiveServer, settings: Settings, limit: str
) -> None:
    setattr(settings, limit, 2)
    page.goto(live_server.url + "/start/report/")
    fill_report(page)
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("Show my reference and PIN").click()
    pin = page.get_by_test_id("pin").inner_text().strip()
    assert pin in page.content()
    expect(page.get_by_text("For your safety this page no longer shows the reference and PIN")).to_be_visible(
        timeout=5_000
    )
    assert pin not in page.content()
    # And the session it belonged to is over too.
    page.goto(live_server.url + "/case/")
    page.wait_for_url("**/case/sign-in/")


def test_sign_out_leaves_nothing_that_shows_the_pin(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    fill_report(page)
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("Show my reference and PIN").click()
    pin = page.get_by_test_id("pin").inner_text().strip()
    page.get_by_role("link", name="I have saved them: go to my case").click()
    page.wait_for_url("**/case/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/")
    seen: list[Any] = []
    for path in ["/start/created/", "/case/", "/start/report/"]:
        page.goto(live_server.url + path)
        seen.append(pin in page.content())
    assert seen == [False, False, False]
