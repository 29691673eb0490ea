"""Checking the pages where this content really lives, through the service (issue 20).

The archetype site (tests/fetching/archetypes/site.py, built on 127.0.0.1 from the shared test
data) has a tube page streaming the survivor's video over HLS, another over DASH, an unrelated
stream, a JSON-LD article, a forum thread over three pages, a gallery a script builds, and an age
gate. A survivor's case registers the site's bundle; each page is reported and checked by the
service with tasks in process (the embedded default): real fetcher, real PyAV decoding, real
vPDQ matching, real Chromium for the gallery, real PostgreSQL. The render queue with real workers
is in test_render_queue.py.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.matching.evidence import _key, evidence_export, evidence_payload, evidence_verify
from takedown.matching.models import CheckState, CheckTrigger, FoundMedium, ItemCheck, Verdict
from takedown.matching.selectors import item_check_notes
from takedown.matching.services import check_render_timed_out, checks_resume, item_check_request
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_create
from tests.cases.conftest import staff_client
from tests.fetching.archetypes import site as site_module
from tests.fetching.archetypes.site import Site as ArchetypeSite
from tests.fetching.servers import LocalServer, RawServer, redirect, respond
from tests.matching import archetype_hosts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("archetype_resolver")]


def report(
    site: ArchetypeSite, *pages: tuple[str, str] | str, organization: Organization | None = None
) -> tuple[Case, dict[str, ReportedItem]]:
    """Open a case with the site's bundle and report `pages` ((path, host) pairs on the site, or
    URLs); checks run in process. Returns the case and its items by path (or URL)."""
    keyed = {
        page if isinstance(page, str) else page[0]: page if isinstance(page, str) else site.url(*page) for page in pages
    }
    bundle = case_services.parse_bundle(site.bundle_path.read_text(encoding="utf-8"))
    case = case_services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="S",
        bundle=bundle,
        urls=list(keyed.values()),
        organization=organization,
    ).case
    items = {item.url: item for item in ReportedItem.objects.filter(case=case)}
    return case, {key: items[url] for key, url in keyed.items()}


def latest(item: ReportedItem) -> ItemCheck:
    check = item.checks.order_by("-id").first()
    assert check is not None
    return check


def label_of(site: ArchetypeSite, item_id: str) -> str | None:
    return {v: k for k, v in site.items.items()}.get(item_id)


def matched(site: ArchetypeSite, check: ItemCheck) -> dict[str, str | None]:
    """Last part of each matched medium's URL -> the registered label it matched."""
    return {m.url.rsplit("/", 1)[-1]: label_of(site, m.matched_item_id) for m in check.media.all() if m.matched}


def test_the_resolver_knows_every_archetype_host() -> None:
    assert set(site_module.HOSTS) == set(archetype_hosts.HOSTS)


def test_streamed_video_pages_are_matched_by_their_frames(archetypes: ArchetypeSite) -> None:
    case, items = report(archetypes, ("/watch/1", "tube.test"), ("/watch/2", "tube.test"), ("/watch/3", "tube.test"))

    hls = latest(items["/watch/1"])
    assert hls.verdict == Verdict.MATCH, hls.verdict_text
    assert matched(archetypes, hls) == {"master.m3u8": "video:chair"}
    [stream] = [m for m in hls.media.all() if m.how == "playlist"]
    assert (stream.kind, stream.source, stream.stream["found"]) == ("video", "script:hls", "inline-json")
    assert stream.stream["format"] == "hls" and stream.stream["rendition"].startswith("320x480")
    assert stream.stream["media_playlist_url"].endswith("/320x480/index.m3u8")
    segments = stream.stream["segments"]
    assert len(segments) == min(12, stream.stream["segments_total"])
    assert all(s["sha256"] and s["size"] and not s["error"] for s in segments)
    assert stream.frames is not None and stream.frames >= 8
    assert stream.signal == "pdq" and "frames" in stream.detail
    # The thumbnail is a medium too (how: og), and it matches nothing registered.
    [thumbnail] = [m for m in hls.media.all() if m.kind == "image"]
    assert thumbnail.how == "og" and not thumbnail.matched
    # One rendition, at most 12 segments of it (this clip is short; bench/pipeline.py shows a
    # 10-minute stream costing 12 of 100 segments), and the check counts every byte it fetched.
    assert hls.bytes_fetched is not None and stream.stream["bytes"] < hls.bytes_fetched
    assert stream.stream["bytes"] < archetypes.rendition_bytes["hls1/320x480"] * 1.05
    assert hls.requests_made and hls.rendered is False and hls.partial == [] and hls.partial_reason == ""
    assert ReportedItem.objects.get(pk=items["/watch/1"].pk).status == ItemStatus.LIVE

    dash = latest(items["/watch/2"])
    assert dash.verdict == Verdict.MATCH, dash.verdict_text
    assert matched(archetypes, dash) == {"manifest.mpd": "video:pattern"}
    [stream] = [m for m in dash.media.all() if m.how == "playlist"]
    assert stream.stream["format"] == "dash" and stream.stream["found"] == "json-ld"
    assert stream.source == "json-ld:VideoObject.contentUrl" and stream.stream["init_segments"] >= 1

    unrelated = latest(items["/watch/3"])
    assert unrelated.verdict == Verdict.NO_MATCH, unrelated.verdict_text
    assert unrelated.verdict_text.startswith("Nothing matching among 1 image(s) or video(s).")
    [stream] = unrelated.media.all()
    assert stream.how == "playlist" and stream.frames and stream.frames >= 3 and not stream.matched
    assert ReportedItem.objects.get(pk=items["/watch/3"].pk).status == ItemStatus.NO_MATCH
    assert evidence_verify(case.pk) == []


def test_json_ld_page_and_a_thread_over_three_pages(archetypes: ArchetypeSite) -> None:
    _case, items = report(archetypes, ("/article", "news.test"), ("/thread/9", "forum.test"))

    article = latest(items["/article"])
    assert article.verdict == Verdict.MATCH, article.verdict_text
    assert matched(archetypes, article) == {"p2.jpg": "photo:2"}
    assert {m.url.rsplit("/", 1)[-1]: m.how for m in article.media.all()} == {"p2.jpg": "json-ld", "u4.jpg": "json-ld"}

    thread = latest(items["/thread/9"])
    assert thread.verdict == Verdict.MATCH, thread.verdict_text
    assert matched(archetypes, thread) == {"p4.jpg": "photo:4", "p3.jpg": "photo:3"}
    found = {m.url.rsplit("/", 1)[-1]: m for m in thread.media.all()}
    assert (found["p4.jpg"].page_number, found["p4.jpg"].how, found["p4.jpg"].source) == (2, "noscript", "noscript:img")
    assert (found["p3.jpg"].page_number, found["p3.jpg"].how) == (3, "static")
    assert thread.pages == [
        archetypes.url("/thread/9?page=2", "forum.test"),
        archetypes.url("/thread/9?page=3", "forum.test"),
    ]
    assert len(found) == 18 and thread.partial == []


def test_an_age_gate_is_never_nothing_matching_found(archetypes: ArchetypeSite) -> None:
    _case, items = report(archetypes, ("/video/5", "adult.test"))
    check = latest(items["/video/5"])
    assert check.verdict == Verdict.PARTIAL
    assert check.verdict_text.startswith("Could not be read fully (age gate): no image or video could be read.")
    assert not check.verdict_text.startswith("Nothing matching") and "nothing matching found" not in check.verdict_text
    assert check.partial_reason == "age_gate" and check.partial[0]["reason"] == "age_gate"
    item = ReportedItem.objects.get(pk=items["/video/5"].pk)
    assert item.status == ItemStatus.UNREACHABLE and item.status != ItemStatus.NO_MATCH
    notes = item_check_notes(items=[item])
    assert notes[item.pk].startswith("We could only read part of this page: the page asks visitors to confirm")


def test_a_live_link_now_behind_a_wall_is_not_called_removed(archetypes: ArchetypeSite) -> None:
    """A page that showed the image and now stands behind an age gate has not been shown to be
    cleaned: "could not be read fully", not "removed"."""
    _case, items = report(archetypes, ("/article", "news.test"))
    item = items["/article"]
    assert latest(item).verdict == Verdict.MATCH
    gate = archetypes.server.routes["/video/5"]
    saved = archetypes.server.routes["/article"]
    archetypes.server.routes["/article"] = gate
    try:
        item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    finally:
        archetypes.server.routes["/article"] = saved
    check = latest(item)
    assert check.verdict == Verdict.PARTIAL and "age gate" in check.verdict_text
    assert ReportedItem.objects.get(pk=item.pk).status == ItemStatus.UNREACHABLE


@pytest.mark.browser
def test_a_gallery_a_script_builds_is_rendered_in_process(
    archetypes: ArchetypeSite, settings: Settings, process_browser: None
) -> None:
    """The embedded default (no broker): the render step runs in this process, in a real Chromium."""
    settings.RENDER_PAGES = True
    _case, items = report(archetypes, ("/album/7", "gallery.test"))
    check = latest(items["/album/7"])
    assert check.verdict == Verdict.MATCH, check.verdict_text
    assert matched(archetypes, check) == {"p1.jpg": "photo:1"}
    assert {m.how for m in check.media.all()} == {"rendered"}
    assert check.rendered is True and check.partial == []
    assert check.render_stats is not None and check.render_stats["escaped_connections"] == 0
    assert check.render_stats["requests"] >= 5


def test_without_rendering_a_script_built_page_is_not_read_fully(archetypes: ArchetypeSite, settings: Settings) -> None:
    settings.RENDER_PAGES = False
    _case, items = report(archetypes, ("/album/7", "gallery.test"))
    check = latest(items["/album/7"])
    assert check.verdict == Verdict.PARTIAL
    assert check.verdict_text.startswith("Could not be read fully (built by scripts, not rendered)")
    assert check.partial_reason == "needs_rendering" and check.rendered is False
    assert ReportedItem.objects.get(pk=items["/album/7"].pk).status == ItemStatus.UNREACHABLE


def test_the_evidence_export_says_how_each_medium_was_found(archetypes: ArchetypeSite) -> None:
    case, _items = report(
        archetypes, ("/watch/1", "tube.test"), ("/thread/9", "forum.test"), ("/video/5", "adult.test")
    )
    export = evidence_export(case.pk)
    assert export["intact"] and len(export["records"]) == 3
    by_url = {r["requested_url"]: r for r in export["records"]}

    watch = by_url[archetypes.url("/watch/1", "tube.test")]
    assert watch["reading"]["read_fully"] and watch["reading"]["rendered"] is False
    assert watch["reading"]["bytes_fetched"] > 0 and watch["reading"]["requests"] > 3
    [stream] = [m for m in watch["media"] if m["how"] == "playlist"]
    assert stream["source"] == "script:hls" and stream["page"] == 1 and stream["frames"] >= 8
    assert stream["stream"]["playlist_url"].endswith("/hls/1/master.m3u8")
    assert {"url", "start", "duration", "size", "sha256", "error"} <= set(stream["stream"]["segments"][0])
    assert stream["matched"] and stream["signal"] == "pdq"

    thread = by_url[archetypes.url("/thread/9", "forum.test")]
    assert {(m["how"], m["page"]) for m in thread["media"]} >= {("noscript", 2), ("static", 3), ("static", 1)}
    assert len(thread["reading"]["pages"]) == 2

    gate = by_url[archetypes.url("/video/5", "adult.test")]
    assert gate["verdict"] == "partial" and not gate["reading"]["read_fully"]
    assert gate["reading"]["partial"][0]["reason"] == "age_gate"
    # Evidence, not media: digests and hashes only. Hashes are encrypted at rest, and so are the
    # stream's segment URLs.
    text = json.dumps(export)
    assert "hashes" not in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT stream FROM matching_foundmedium WHERE how = 'playlist' LIMIT 1")
        assert cursor.fetchone()[0].startswith("gAAAA")


def test_the_evidence_page_shows_how_the_page_was_read(archetypes: ArchetypeSite) -> None:
    organization = organization_create(actor=Actor.system(), name="Helpline A", slug="helpline-a", kind="helpline")
    case, items = report(archetypes, ("/watch/1", "tube.test"), ("/video/5", "adult.test"), organization=organization)
    client = staff_client(organization, "adv@a.org")

    page = client.get(f"/staff/cases/{case.pk}/items/{items['/watch/1'].pk}/").content.decode()
    stream = latest(items["/watch/1"]).media.get(how="playlist")
    assert "playlist (script:hls)" in page and "og (og:image)" in page
    total = stream.stream["segments_total"]
    sampled = len(stream.stream["segments"])
    assert "HLS 320x480" in page and f"{sampled} of {sampled} sampled segments fetched ({total} in all)" in page
    assert f"{stream.frames} frames hashed" in page
    assert "Rendered in a browser</dt><dd>no" in page

    page = client.get(f"/staff/cases/{case.pk}/items/{items['/video/5'].pk}/").content.decode()
    assert "Could not be read fully (age gate)" in page
    assert "Not read fully" in page and "<strong>age gate</strong>" in page


def _old_payload(check: ItemCheck) -> dict[str, Any]:
    """The evidence payload as it was before issue 20 (a frozen copy): old records must verify."""
    return {
        "check_id": check.pk,
        "item_id": check.item_id,
        "case_id": check.case_id,
        "trigger": check.trigger,
        "requested_url": check.requested_url,
        "final_url": check.final_url,
        "redirect_chain": check.redirect_chain or [],
        "status_code": check.status_code,
        "headers": check.headers,
        "fetched_at": check.fetched_at.isoformat() if check.fetched_at else None,
        "elapsed_ms": check.elapsed_ms,
        "size": check.size,
        "sha256": check.sha256,
        "sniffed_type": check.sniffed_type,
        "pinned_ip": check.pinned_ip,
        "error_reason": check.error_reason,
        "error_message": check.error_message,
        "verdict": check.verdict,
        "verdict_text": check.verdict_text,
        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
        "media": [
            {
                "url": m.url,
                "status_code": m.status_code,
                "size": m.size,
                "sha256": m.sha256,
                "sniffed_type": m.sniffed_type,
                "kind": m.kind,
                "error_reason": m.error_reason,
                "matched": m.matched,
                "signal": m.signal,
                "distance": m.distance,
                "registered_variant": m.registered_variant,
                "found_variant": m.found_variant,
                "detail": m.detail,
            }
            for m in check.media.order_by("id")
        ],
    }


def test_records_sealed_before_the_new_fields_still_verify(settings: Settings) -> None:
    settings.CHECK_ON_REPORT = False
    case = case_services.case_open(
        actor=Actor(kind="survivor"), signature_name="S", urls=["https://example.org/post/1"]
    ).case
    item = ReportedItem.objects.get(case=case)
    now = timezone.now()
    check = ItemCheck.objects.create(
        item=item,
        case=case,
        trigger=CheckTrigger.REPORT,
        state=CheckState.DONE,
        requested_url=item.url,
        final_url=item.url,
        status_code=200,
        headers={"content-type": "text/html"},
        fetched_at=now,
        sha256="ab" * 32,
        verdict=Verdict.NO_MATCH,
        verdict_text="Nothing matching among 1 image(s) or video(s).",
        finished_at=now,
    )
    FoundMedium.objects.create(item_check=check, url="https://example.org/a.jpg", kind="image", sha256="cd" * 32)
    canonical = json.dumps(_old_payload(check), sort_keys=True, separators=(",", ":"), default=str)
    check.digest = hmac.new(_key(), canonical.encode(), "sha256").hexdigest()
    check.save(update_fields=["digest"])

    assert evidence_payload(check) == _old_payload(check)
    assert evidence_verify(case.pk) == []


def test_a_check_waiting_for_the_browser_is_resumed_or_sealed_when_it_overruns(
    archetypes: ArchetypeSite, settings: Settings, process_browser: None
) -> None:
    settings.CHECK_ON_REPORT = False
    _case, items = report(archetypes, ("/album/7", "gallery.test"), ("/embed/4", "tube.test"))
    stuck, overran = items["/album/7"], items["/embed/4"]
    for item in (stuck, overran):
        ItemCheck.objects.create(
            item=item, case=item.case, trigger=CheckTrigger.REPORT, state=CheckState.RENDER, requested_url=item.url
        )
    # The render task ran out of time on one: sealed as not read fully, not rendered again.
    assert check_render_timed_out(check_id=latest(overran).pk, limit=120) == Verdict.PARTIAL
    check = latest(overran)
    assert check.verdict_text.startswith("Could not be read fully (the browser could not render it)")
    assert check.partial_reason == "render_failed"
    # The other's message was lost: the sweep publishes it again (in process: rendered at once).
    settings.TASK_RESUME_AFTER_SECONDS = 0
    settings.RENDER_PAGES = False  # no browser on this "worker": recorded as such
    assert checks_resume() == 1
    check = latest(stuck)
    assert check.state == CheckState.DONE and check.verdict == Verdict.PARTIAL
    assert [p["reason"] for p in check.partial] == ["needs_rendering", "render_failed"]
    assert "No browser is available" in check.partial[1]["detail"]


@pytest.fixture
def secret() -> Iterator[RawServer]:
    """A server standing for everything inside: it counts every connection it receives."""
    server = RawServer(lambda conn: conn.recv(1024))
    yield server
    server.close()


def test_segments_pointing_inside_are_refused_without_a_connection(
    archetypes: ArchetypeSite, secret: RawServer
) -> None:
    """A reported tube page whose playlist names segments inside: each refused by the address
    policy, none connected to, and the refusals kept as evidence.

    The service's test policy admits 127.0.0.1 on any port (FETCH_ALLOW_LOOPBACK, or the local
    pages could not be served), so the inward targets here are those refused even then: IPv4-mapped
    and NAT64/6to4 spellings of 127.0.0.1, 0.0.0.0, names resolving to private, metadata, mapped
    or mixed addresses, and a redirect inward. A plain 127.0.0.1:<port> segment with loopback off
    is refused by the same code (tests/fetching/archetypes/test_ssrf.py, `bad_port`).
    """
    inside = secret.port
    page_server = LocalServer()
    port = page_server.port
    ok = f"http://cdn.tube.test:{archetypes.server.port}/hls/1/320x480"
    hostile = {
        f"http://[::ffff:127.0.0.1]:{inside}/s.ts": "forbidden_address",
        f"http://[::ffff:7f00:1]:{inside}/s.ts": "forbidden_address",
        f"http://[64:ff9b::7f00:1]:{inside}/s.ts": "forbidden_address",
        f"http://[2002:7f00:1::]:{inside}/s.ts": "forbidden_address",
        f"http://0.0.0.0:{inside}/s.ts": "forbidden_address",
        f"http://169.254.169.254:{inside}/latest/meta-data/": "forbidden_address",
        f"http://inside.test:{inside}/s.ts": "forbidden_address",
        f"http://mapped.test:{inside}/s.ts": "forbidden_address",
        f"http://mixed.test:{inside}/s.ts": "forbidden_address",
        f"http://tube.test:{port}/to-inside.ts": "forbidden_address",
    }
    page_server.routes["/to-inside.ts"] = redirect(f"http://[::ffff:127.0.0.1]:{inside}/secret")
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXTINF:2.0,", f"{ok}/seg_0000.ts"]
    for url in hostile:
        lines += ["#EXTINF:2.0,", url]
    lines += ["#EXTINF:2.0,", f"{ok}/seg_0001.ts", "#EXT-X-ENDLIST"]
    page_server.routes["/hls/index.m3u8"] = respond(200, "\n".join(lines).encode())
    page_server.routes["/watch/66"] = respond(
        200,
        f"""<!doctype html><title>Clip</title><video controls>
<source src="http://tube.test:{port}/hls/index.m3u8" type="application/x-mpegURL"></video>""".encode(),
        {"Content-Type": "text/html"},
    )
    try:
        url = page_server.url("/watch/66", host="tube.test")
        _case, items = report(archetypes, url)
    finally:
        page_server.close()
    check = latest(items[url])
    [stream] = check.media.all()
    reasons = {s["url"]: s["error"] or "ok" for s in stream.stream["segments"]}
    assert reasons.pop(f"{ok}/seg_0000.ts") == "ok" and reasons.pop(f"{ok}/seg_0001.ts") == "ok"
    assert reasons == hostile
    assert secret.connections == 0
    assert page_server.hits["/to-inside.ts"] == 1
    # What could be read was compared (the two segments served are the survivor's video) and the
    # refusals are said plainly next to the verdict.
    assert [p["reason"] for p in check.partial] == ["media_unreadable"]
    assert "10 of 12 sampled segments" in check.partial[0]["detail"]
    assert check.verdict == Verdict.MATCH, check.verdict_text
    assert check.verdict_text.endswith("The page was not read fully (some images or videos could not be read).")
