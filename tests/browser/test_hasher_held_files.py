"""After a form error the report page keeps the fingerprints in its hidden field: the list of chosen
files is rebuilt from them, and adding one more file adds to the held ones (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tests.browser.fixtures import check_accessibility, screenshot
from tests.browser.report_steps import next_step, send_unfinished

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site


def held_items(page: Page) -> list[dict[str, object]]:
    value = page.locator('input[name="bundle"]').first.input_value()
    return json.loads(value)["items"] if value else []


def test_files_held_after_a_form_error_are_listed_and_new_files_add(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/start/report/")
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    next_step(page)
    page.locator("[data-hasher-input]").first.set_input_files(
        [str(PHOTOS / "kodak" / "kodim01.png"), str(PHOTOS / "kodak" / "kodim02.png")]
    )
    expect(page.locator("[data-hasher-status]").first).to_contain_text("2 file", timeout=60_000)
    before = held_items(page)
    assert len(before) == 2

    # Sent without signing: the form comes back with errors and the bundle held.
    send_unfinished(page)
    expect(page.locator(".error-summary, .errorlist").first).to_be_visible()
    assert len(held_items(page)) == 2

    rows = page.locator("[data-hasher-list] li")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("kept")
    expect(page.locator("[data-hasher-status]").first).to_contain_text("2 file")
    screenshot(page, "survivor-report-held-files")
    assert check_accessibility(page) == []

    # A file already held is refused as a duplicate; a new one is added: 2 + 1 = 3.
    page.locator("[data-hasher-input]").first.set_input_files(
        [str(PHOTOS / "kodak" / "kodim01.png"), str(PHOTOS / "kodak" / "kodim03.png")]
    )
    expect(page.locator("[data-hasher-status]").first).to_contain_text("3 file", timeout=60_000)
    after = held_items(page)
    assert len(after) == 3
    assert [item["id"] for item in after[:2]] == [item["id"] for item in before]
    expect(page.locator("[data-hasher-errors]").first).to_contain_text("already added")
    expect(rows).to_have_count(4)  # two held, the duplicate (with its message) and the new one
