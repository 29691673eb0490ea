"""Each page archetype: the registered media are found and matched, unrelated ones are not.

The check runs as the CLI runs it (``takedown.cli.fetching.check_urls``): fetch under the policy,
hash every medium on the checking side as the service does, best match against the bundle.
"""

from __future__ import annotations

from typing import Any

import pytest

from takedown.cli.fetching import check_urls
from takedown.fetching import ChromiumRenderer, fetch_media
from tests.fetching.archetypes.site import Site


def check(site: Site, path: str, host: str, **options: Any) -> dict[str, Any]:
    policy = site.policy(**options.pop("policy", {}))
    [report] = check_urls([site.url(path, host)], site.bundle, policy, **options)
    return report


def label_of(site: Site, item_id: str | None) -> str | None:
    return {v: k for k, v in site.items.items()}.get(item_id or "")


def matched(site: Site, report: dict[str, Any]) -> dict[str, str | None]:
    """URL (last part) -> the registered label it matched, for matched media only."""
    return {
        m["url"].rsplit("/", 1)[-1]: label_of(site, m["match"]["bundle_item"])
        for m in report["media"]
        if m["match"] and m["match"]["matched"]
    }


def streams(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in report["media"] if m["how"] == "playlist"]


def test_tube_page_hls_from_the_player_config(site: Site) -> None:
    report = check(site, "/watch/1", "tube.test", policy={"max_stream_segments": 5})
    assert report["error"] is None and report["read_fully"], report["partial"]
    [stream] = streams(report)
    assert stream["found"] == "inline-json" and stream["source"] == "script:hls"
    playlist = stream["playlist"]
    assert playlist["format"] == "hls"
    # The cheapest rendition whose short side is at least 240 pixels: not 160x240, but 320x480.
    assert playlist["rendition"].startswith("320x480") and playlist["renditions"] == 2
    assert "/320x480/index.m3u8" in playlist["media_playlist"]
    # Five segments spread over the whole duration, every one fetched; never the whole video.
    total = playlist["segments_total"]
    starts = [s["start"] for s in playlist["segments"]]
    assert len(starts) == 5 and total > 5
    assert starts[0] < playlist["duration"] / 4 and starts[-1] > playlist["duration"] * 3 / 4
    assert all(s["fetched"] for s in playlist["segments"])
    assert playlist["bytes"] < 0.6 * site.rendition_bytes["hls1/320x480"]
    assert stream["frames"] >= 8
    assert stream["match"]["matched"] and label_of(site, stream["match"]["bundle_item"]) == "video:chair"
    assert stream["match"]["signal"] == "pdq"
    # The thumbnail is an image candidate too (how: og), and it matches nothing registered.
    [thumbnail] = [m for m in report["media"] if m["kind"] == "image"]
    assert thumbnail["how"] == "og" and not thumbnail["match"]["matched"]


def test_tube_page_dash_fmp4_from_json_ld(site: Site) -> None:
    report = check(site, "/watch/2", "tube.test")
    [stream] = streams(report)
    assert stream["found"] == "json-ld" and stream["source"] == "json-ld:VideoObject.contentUrl"
    assert stream["playlist"]["format"] == "dash"
    assert stream["playlist"]["rendition"].startswith("360x640")
    # fMP4 media segments only decode after their initialization segment: frames prove it was used.
    assert stream["frames"] >= 3
    assert matched(site, report) == {"manifest.mpd": "video:pattern"}


def test_unrelated_stream_does_not_match(site: Site) -> None:
    report = check(site, "/watch/3", "tube.test")
    [stream] = streams(report)
    assert stream["found"] == "static" and stream["source"] == "video:source"
    assert stream["frames"] >= 3
    assert stream["match"] is not None and not stream["match"]["matched"]
    assert matched(site, report) == {}


@pytest.mark.browser
def test_script_built_player_is_read_by_the_renderer(site: Site, renderer: ChromiumRenderer) -> None:
    static = check(site, "/embed/4", "tube.test")
    assert streams(static) == []
    assert [p["reason"] for p in static["partial"]] == ["needs_rendering"]
    assert [m["how"] for m in static["media"]] == ["static"]  # only the poster

    report = check(site, "/embed/4", "tube.test", renderer=renderer, render="auto")
    [stream] = streams(report)
    assert stream["found"] == "rendered" and stream["source"] == "rendered:fetch"
    assert matched(site, report) == {"master.m3u8": "video:friday"}
    assert report["rendered"]["escaped_connections"] == 0
    assert report["read_fully"]


@pytest.mark.browser
def test_gallery_built_from_json_is_read_by_the_renderer(site: Site, renderer: ChromiumRenderer) -> None:
    static = check(site, "/album/7", "gallery.test")
    assert static["media"] == []
    assert [p["reason"] for p in static["partial"]] == ["needs_rendering"]

    report = check(site, "/album/7", "gallery.test", renderer=renderer, render="auto")
    assert sorted(m["url"].rsplit("/", 1)[-1] for m in report["media"]) == ["p1.jpg", "u1.jpg", "u2.jpg", "u3.jpg"]
    assert {m["how"] for m in report["media"]} == {"rendered"}
    assert matched(site, report) == {"p1.jpg": "photo:1"}
    assert report["rendered"]["escaped_connections"] == 0
    assert report["read_fully"]


def test_json_ld_page(site: Site) -> None:
    report = check(site, "/article", "news.test")
    assert {m["url"].rsplit("/", 1)[-1]: m["how"] for m in report["media"]} == {
        "p2.jpg": "json-ld",
        "u4.jpg": "json-ld",
    }
    assert matched(site, report) == {"p2.jpg": "photo:2"}
    # The publisher's logo is never a candidate.
    assert not any("u9.jpg" in m["url"] for m in report["media"] + report["not_fetched"])


def test_forum_thread_over_three_pages(site: Site) -> None:
    report = check(site, "/thread/9", "forum.test")
    assert report["pages"] == [site.url("/thread/9?page=2", "forum.test"), site.url("/thread/9?page=3", "forum.test")]
    assert len(report["media"]) == 18
    assert matched(site, report) == {"p4.jpg": "photo:4", "p3.jpg": "photo:3"}
    found = {m["url"].rsplit("/", 1)[-1]: m for m in report["media"]}
    assert (found["p4.jpg"]["page"], found["p4.jpg"]["how"]) == (2, "noscript")
    assert (found["p3.jpg"]["page"], found["p3.jpg"]["how"]) == (3, "static")
    assert report["read_fully"], report["partial"]


def test_forum_thread_stops_at_the_page_limit(site: Site) -> None:
    report = check(site, "/thread/9", "forum.test", policy={"max_pages": 2})
    assert len(report["pages"]) == 1
    assert matched(site, report) == {"p4.jpg": "photo:4"}
    assert [p["reason"] for p in report["partial"]] == ["page_limit"]


def test_age_gate_is_reported_not_taken_for_an_empty_page(site: Site) -> None:
    report = check(site, "/video/5", "adult.test")
    assert report["media"] == []
    assert not report["read_fully"]
    assert report["partial"][0]["reason"] == "age_gate"
    result = fetch_media(site.url("/video/5", "adult.test"), site.policy())
    assert result.obstacle is not None and result.obstacle.reason == "age_gate"


@pytest.mark.browser
def test_age_gate_survives_rendering(site: Site, renderer: ChromiumRenderer) -> None:
    report = check(site, "/video/5", "adult.test", renderer=renderer, render="auto")
    assert report["media"] == [] and report["rendered"] is not None
    assert [p["reason"] for p in report["partial"]] == ["age_gate"]
