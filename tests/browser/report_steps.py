"""Moving through the report form's steps (static/js/report-steps.js) as a person would."""

from __future__ import annotations

from playwright.sync_api import Page


def next_step(page: Page) -> None:
    """Press the shown step's Continue button."""
    page.locator("form[data-steps] section:not([hidden])").get_by_role("button", name="Continue").click()


def send_unfinished(page: Page) -> None:
    """Tick the first step's box, go to the last step and send without signing: the form comes back
    with its errors (and then shows every section at once)."""
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    while page.locator("form[data-steps] section:not([hidden])").get_by_role("button", name="Continue").count():
        next_step(page)
    page.get_by_role("button", name="Send my request").click()
