"""The report form in short steps on a phone (issue 19): one section at a time, a few tab stops
each, Continue refuses a step with a required answer missing, and the whole form can be filled and
sent with the keyboard alone. Chromium at 390x844, axe-core on each step."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from takedown.cases.models import Case, ReportedItem
from tests.browser.fixtures import check_accessibility, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Elements reached by Tab inside the form's shown step.
# A group of radio buttons is one tab stop.
TAB_STOPS = """() => {
    const shown = document.querySelectorAll(
        'form[data-steps] section:not([hidden]) :is(a, button, input, select, textarea)');
    const stops = new Set();
    for (const el of shown) {
        if (el.disabled || el.type === 'hidden' || el.getClientRects().length === 0) continue;
        stops.add(el.type === 'radio' ? 'radio:' + el.name : el);
    }
    return stops.size;
}"""


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site
    settings.CHECK_ON_REPORT = False


def tab_to(page: Page, predicate: str, limit: int = 40) -> int:
    """Press Tab until the focused element satisfies the JavaScript `predicate(el)`; the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return Boolean({predicate}); }}"):
            return presses
    raise AssertionError(f"never reached {predicate} with Tab")


CONTINUE = "el.tagName === 'BUTTON' && el.textContent.trim() === 'Continue'"


def labelled(text: str) -> str:
    return f"el.labels && el.labels[0] && el.labels[0].textContent.trim() === {text!r}"


def test_the_report_form_in_steps_by_keyboard_alone(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    sections = page.locator("form[data-steps] > section")
    expect(sections).to_have_count(6)
    expect(page.locator("form[data-steps] > section:not([hidden])")).to_have_count(1)
    expect(page.get_by_text("Step 1 of 6")).to_be_visible()
    stops = [page.evaluate(TAB_STOPS)]
    assert check_accessibility(page) == []

    # Continue without the required box: the step stays, says why, and puts focus on the box.
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Please answer this before you continue.")).to_be_visible()
    expect(page.get_by_label("I have read what Takedown keeps and who sees it.")).to_be_focused()
    page.keyboard.press("Space")
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")

    expect(page.locator("#s2")).to_be_focused()
    expect(page.get_by_text("Step 2 of 6")).to_be_visible()
    stops.append(page.evaluate(TAB_STOPS))
    assert check_accessibility(page) == []
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")

    expect(page.locator("#s3")).to_be_focused()
    stops.append(page.evaluate(TAB_STOPS))
    tab_to(page, "el.id === 'id_urls'")
    page.keyboard.type("https://tube.example/watch?v=1")
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")

    expect(page.locator("#s4")).to_be_focused()
    stops.append(page.evaluate(TAB_STOPS))
    screenshot(page, "survivor-report-step-4")
    assert check_accessibility(page) == []
    tab_to(page, labelled("United States"))
    page.keyboard.press("Space")
    # Back and forth keeps what was given.
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Back'")
    page.keyboard.press("Enter")
    expect(page.locator("#s3")).to_be_focused()
    expect(page.locator("#id_urls")).to_have_value("https://tube.example/watch?v=1")
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")
    expect(page.get_by_label("United States")).to_be_checked()
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")

    expect(page.locator("#s5")).to_be_focused()
    stops.append(page.evaluate(TAB_STOPS))
    assert check_accessibility(page) == []
    tab_to(page, CONTINUE)
    page.keyboard.press("Enter")

    expect(page.locator("#s6")).to_be_focused()
    stops.append(page.evaluate(TAB_STOPS))
    assert check_accessibility(page) == []
    tab_to(page, labelled("I believe in good faith that these images were shared without my consent."))
    page.keyboard.press("Space")
    tab_to(page, "el.id === 'id_signature_name'")
    page.keyboard.type("Sam Doe")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your case is open")).to_be_visible()
    case = Case.objects.get()
    assert ReportedItem.objects.filter(case=case).count() == 1
    assert case.jurisdictions == ["US"]

    # The whole form had 23 tab stops on one page; each step has a handful.
    assert max(stops) <= 12, stops
