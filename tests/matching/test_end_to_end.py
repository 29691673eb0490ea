"""The whole path on real parts: browser hasher -> survivor form -> real Celery worker on Redis and
PostgreSQL -> SSRF-safe fetch of a local site -> hashing -> matching -> evidence -> removal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.matching.evidence import evidence_verify
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck, Verdict
from takedown.matching.services import item_check_request
from tests.browser.report_steps import next_step
from tests.conftest import wait_for
from tests.matching.conftest import Site, center_cropped, page_with, photo, recompressed

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def done_checks(case: Case) -> int:
    return ItemCheck.objects.filter(case=case, state=CheckState.DONE).count()


def test_report_through_the_browser_is_checked_by_a_real_worker(
    page: Page,
    live_server: LiveServer,
    site: Site,
    real_broker: str,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    start_worker(queues="fetch,match,default", env={"FETCH_ALLOW_LOOPBACK": "true", "CHECK_ON_REPORT": "true"})
    site.put("/img/copy.jpg", recompressed(photo(3), 55), "image/jpeg")
    site.put("/img/cropped.jpg", center_cropped(photo(5), 10), "image/jpeg")
    site.put("/img/other.jpg", recompressed(photo(22)), "image/jpeg")
    urls = [
        site.put("/post/copy", page_with("/img/copy.jpg")),
        site.put("/post/cropped", page_with("/img/other.jpg", "/img/cropped.jpg")),
        site.put("/post/unrelated", page_with("/img/other.jpg")),
    ]

    page.goto(live_server.url + "/start/report/")
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    next_step(page)  # the report form comes in steps (static/js/report-steps.js)
    page.locator("[data-hasher-input]").first.set_input_files([str(photo(3)), str(photo(5))])
    expect(page.locator("[data-hasher-status]").first).to_contain_text("2 file", timeout=60_000)
    next_step(page)
    page.get_by_label("Links where the images appear (one per line)").fill("\n".join(urls))
    next_step(page)
    page.get_by_label("United States").check()
    next_step(page)
    next_step(page)
    page.get_by_label("I believe in good faith that these images were shared without my consent.").check()
    page.get_by_label("Type your name to sign").fill("E2E")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Your case is open")).to_be_visible()

    case = Case.objects.get()
    wait_for(lambda: done_checks(case) == 3, 120, "the worker to check the three links")
    items = {item.url: item for item in ReportedItem.objects.filter(case=case)}
    verdicts = {url: items[url].checks.get().verdict for url in urls}
    assert verdicts == {urls[0]: Verdict.MATCH, urls[1]: Verdict.MATCH, urls[2]: Verdict.NO_MATCH}
    assert items[urls[0]].status == ItemStatus.LIVE

    site.take_down("/post/copy", 404)
    item_check_request(actor=Actor.system(), item=items[urls[0]], trigger=CheckTrigger.RECHECK)
    wait_for(lambda: done_checks(case) == 4, 60, "the re-check of the page taken down")
    item = ReportedItem.objects.get(pk=items[urls[0]].pk)
    assert item.status == ItemStatus.REMOVED and item.removed_at is not None
    assert evidence_verify(case.pk) == []


def test_a_worker_retries_server_errors_with_backoff_then_records_them(
    site: Site, real_broker: str, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    from takedown.cases import services as case_services

    start_worker(
        queues="fetch,match,default",
        env={"FETCH_ALLOW_LOOPBACK": "true", "CHECK_ON_REPORT": "true", "FETCH_RETRY_BASE_SECONDS": "0.2"},
    )
    url = site.put("/flaky", b"busy", status=503)
    case = case_services.case_open(actor=Actor(kind="survivor"), signature_name="S", urls=[url]).case
    wait_for(lambda: done_checks(case) == 1, 90, "the retries to run out")
    check = ItemCheck.objects.get(case=case)
    assert check.verdict == Verdict.UNREACHABLE and check.status_code == 503
    assert check.attempts == 5
    assert site.hits.count("/flaky") == 6  # the first try and five retries
