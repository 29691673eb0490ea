"""Rendering runs on a queue of its own, served by real Celery workers on Redis and PostgreSQL.

A worker on the fetch and match queues checks a streamed-video page to the end, while a gallery a
script builds waits on the render queue (its message is there, nobody takes it) until a render
worker, with its own Chromium, starts. A page that renders past the render task's soft time limit
is sealed as "could not be read fully", and the same worker goes on to render the next page.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
import redis

from takedown.cases import services as case_services
from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.matching.evidence import evidence_verify
from takedown.matching.models import CheckState, ItemCheck, Verdict
from tests.conftest import wait_for
from tests.fetching.archetypes.site import Site as ArchetypeSite
from tests.fetching.servers import LocalServer, respond

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {
    "DJANGO_SETTINGS_MODULE": "tests.matching.worker_settings",
    "FETCH_ALLOW_LOOPBACK": "true",
    "CHECK_ON_REPORT": "true",
    "RENDER_PAGES": "true",
}


def open_case(site: ArchetypeSite, urls: list[str]) -> Case:
    bundle = case_services.parse_bundle(site.bundle_path.read_text(encoding="utf-8"))
    return case_services.case_open(actor=Actor(kind="survivor"), signature_name="S", bundle=bundle, urls=urls).case


def check_of(case: Case, url: str) -> ItemCheck | None:
    item = next(i for i in ReportedItem.objects.filter(case=case) if i.url == url)
    return item.checks.order_by("-id").first()


def state_of(case: Case, url: str) -> str | None:
    check = check_of(case, url)
    return None if check is None else check.state


def test_a_script_built_gallery_waits_for_the_render_queue_while_a_stream_is_checked(
    archetypes: ArchetypeSite, real_broker: str, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    start_worker(queues="fetch,match,default", env=WORKER_ENV)
    album, watch = archetypes.url("/album/7", "gallery.test"), archetypes.url("/watch/1", "tube.test")
    case = open_case(archetypes, [album, watch])

    wait_for(lambda: state_of(case, watch) == CheckState.DONE, 120, "the stream page to be checked")
    stream_check = check_of(case, watch)
    assert stream_check is not None and stream_check.verdict == Verdict.MATCH, stream_check.verdict_text
    wait_for(lambda: state_of(case, album) == CheckState.RENDER, 60, "the gallery to wait for the browser")
    # Its message waits on the render queue, which no worker listens to yet.
    assert redis.Redis.from_url(real_broker).llen("render") == 1
    assert state_of(case, album) == CheckState.RENDER

    start_worker(queues="render", env=WORKER_ENV)
    wait_for(lambda: state_of(case, album) == CheckState.DONE, 120, "the render worker to read the gallery")
    check = check_of(case, album)
    assert check is not None and check.verdict == Verdict.MATCH, check.verdict_text
    assert check.rendered is True and check.render_stats is not None
    assert check.render_stats["escaped_connections"] == 0
    matched = [m for m in check.media.all() if m.matched]
    assert [(m.url.rsplit("/", 1)[-1], m.how) for m in matched] == [("p1.jpg", "rendered")]
    assert matched[0].matched_item_id == archetypes.items["photo:1"]
    assert ReportedItem.objects.get(pk=check.item_id).status == ItemStatus.LIVE
    assert evidence_verify(case.pk) == []


def test_a_page_rendering_past_the_soft_limit_is_sealed_and_the_worker_goes_on(
    archetypes: ArchetypeSite, real_broker: str, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    slow = LocalServer()
    # A script that keeps the page busy for 40 s: the render cannot finish within the task's soft
    # limit (12 s here; the render's own limit, 20 s, would come later).
    slow.routes["/busy"] = respond(
        200,
        b"""<!doctype html><title>Busy</title><div id="grid"></div><script>
var until = Date.now() + 40000; while (Date.now() < until) {}
</script>""",
        {"Content-Type": "text/html"},
    )
    busy = slow.url("/busy", host="gallery.test")
    album = archetypes.url("/album/7", "gallery.test")
    env = {**WORKER_ENV, "RENDER_TASK_SOFT_TIME_LIMIT": "12", "RENDER_TASK_TIME_LIMIT": "60"}
    start_worker(queues="fetch,match,default,render", env=env)
    try:
        case = open_case(archetypes, [busy])
        wait_for(lambda: state_of(case, busy) == CheckState.DONE, 90, "the busy page to be sealed")
    finally:
        slow.close()
    check = check_of(case, busy)
    assert check is not None and check.verdict == Verdict.PARTIAL, check.verdict_text
    assert check.partial_reason == "render_failed"
    assert check.verdict_text.startswith("Could not be read fully (the browser could not render it)")
    assert ReportedItem.objects.get(pk=check.item_id).status == ItemStatus.UNREACHABLE

    # The same worker process renders the next page (a new browser when the old one was stopped).
    case_services.case_add_urls(actor=Actor.system(), case=case, urls=[album])
    wait_for(lambda: state_of(case, album) == CheckState.DONE, 120, "the next page to be rendered")
    after = check_of(case, album)
    assert after is not None and after.verdict == Verdict.MATCH and after.rendered, after.verdict_text
