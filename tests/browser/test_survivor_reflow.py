"""Survivor pages reflow at 320 CSS px without sideways scrolling (WCAG 1.4.10), including the case
page with long links, and the keyboard focus ring has at least 3:1 contrast with the page around it
(WCAG 1.4.11) (issue 19)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tests.browser.fixtures import check_accessibility, screenshot
from tests.browser.report_steps import send_unfinished
from tests.cases.conftest import survivor_case_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_URLS = [
    "https://videos.example-hosting-platform.com/watch/aVeryLongVideoIdentifierWithoutAnyBreaks0123456789abcdefghij",
    "https://videos.example-hosting-platform.com/user/someone/uploads/2026/12/another-really-long-slug-here?ref=share&utm_source=messenger",
    "https://forum.example/t/" + "x" * 120,
]
PUBLIC_PAGES = [
    "/",
    "/what-we-keep/",
    "/start/",
    "/start/safety/",
    "/start/under-18/",
    "/start/report/",
    "/case/sign-in/",
]
CASE_PAGES = ["/case/", "/case/faces/", "/case/withdraw/"]


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site
    settings.CHECK_ON_REPORT = False


@pytest.fixture
def narrow(browser: Browser) -> Page:
    context = browser.new_context(locale="en-GB", viewport={"width": 320, "height": 640})
    return context.new_page()


def overflow(page: Page) -> int:
    """How far the page is wider than the 320 px window (0 when it reflows)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth")) - 320


def wider_elements(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > 320.5)
            .slice(0, 8).map((el) => el.tagName + (el.className ? '.' + el.className : ''))"""
    )


def sign_in(page: Page, base: str) -> None:
    opened = survivor_case_open(LONG_URLS)
    page.goto(base + "/case/sign-in/")
    page.get_by_label("Case reference").fill(opened.case.reference)
    page.get_by_label("PIN").fill(opened.pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")


def test_survivor_pages_reflow_at_320_px(narrow: Page, live_server: LiveServer) -> None:
    page = narrow
    widths = {}
    for path in PUBLIC_PAGES:
        page.goto(live_server.url + path)
        widths[path] = (overflow(page), wider_elements(page))
    # The report form sent back with its errors.
    page.goto(live_server.url + "/start/report/")
    send_unfinished(page)
    expect(page.locator(".error-summary, .errorlist").first).to_be_visible()
    widths["/start/report/ (errors)"] = (overflow(page), wider_elements(page))
    # Finished and sent: the device advice, then the reference and PIN.
    page.get_by_label("Links where the images appear (one per line)").fill(LONG_URLS[0])
    page.get_by_label("I believe in good faith that these images were shared without my consent.").check()
    page.get_by_label("Type your name to sign").fill("Sam Doe")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_test_id("device-advice")).to_be_visible()
    widths["PIN page (advice)"] = (overflow(page), wider_elements(page))
    page.get_by_text("Show my reference and PIN").click()
    expect(page.get_by_test_id("pin")).to_be_visible()
    widths["PIN page (shown)"] = (overflow(page), wider_elements(page))
    sign_in(page, live_server.url)
    for path in CASE_PAGES:
        page.goto(live_server.url + path)
        widths[path] = (overflow(page), wider_elements(page))
    page.goto(live_server.url + "/case/")
    expect(page.get_by_text("videos.example-hosting-platform.com/watch/aVeryLong", exact=False)).to_be_visible()
    screenshot(page, "survivor-case-320px")
    assert check_accessibility(page) == []
    page.goto(live_server.url + "/case/withdraw/")
    page.get_by_label("Yes, stop everything and delete my case", exact=False).check()
    page.get_by_role("button", name="Withdraw and delete").click()
    expect(page.get_by_role("heading", name="Your case is deleted")).to_be_visible()
    widths["withdrawn"] = (overflow(page), wider_elements(page))
    assert {path: w for path, w in widths.items() if w[0] > 0} == {}


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    numbers = re.findall(r"[\d.]+", css)
    assert len(numbers) >= 3, css
    return int(float(numbers[0])), int(float(numbers[1])), int(float(numbers[2]))


def test_the_focus_ring_has_3_to_1_contrast_with_the_page(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    background = rgb(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))
    if background == (0, 0, 0):  # transparent body: the root's background shows
        background = rgb(page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor"))
    seen = 0
    for _ in range(12):  # links, buttons, inputs reached by Tab
        page.keyboard.press("Tab")
        ring = page.evaluate(
            """() => { const el = document.activeElement; const s = getComputedStyle(el);
                return {tag: el.tagName, style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor}; }"""
        )
        if ring["tag"] == "BODY":
            continue
        seen += 1
        assert ring["style"] != "none" and float(ring["width"].rstrip("px")) >= 2, ring
        assert contrast(rgb(ring["color"]), background) >= 3, ring
    assert seen >= 5
