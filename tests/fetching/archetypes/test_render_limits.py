"""The renderer's time and memory limits, with a real Chromium: a hostile page costs a bounded
render and a ``render_failed`` reason, and the next page renders normally."""

from __future__ import annotations

import time

import pytest

from takedown.fetching import ChromiumRenderer, RenderLimits, fetch_media
from tests.fetching.conftest import local_policy
from tests.fetching.servers import MapResolver, respond

pytestmark = pytest.mark.browser
HTML = {"Content-Type": "text/html"}
GALLERY = b"""<!doctype html><title>ok</title><div id="g"></div><script>
var i = document.createElement("img"); i.src = "/a.png"; document.getElementById("g").appendChild(i);
</script>"""
PNG = b"\x89PNG\r\n\x1a\n" + bytes(4000)


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver({"site.test": ["127.0.0.1"]})


def test_a_page_that_never_finishes_is_cut_at_the_time_limit(server, resolver):
    server.routes["/spin"] = respond(200, b"<!doctype html><title>x</title><script>while (true) {}</script>", HTML)
    server.routes["/ok"] = respond(200, GALLERY, HTML)
    server.routes["/a.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    policy = local_policy(resolver, host_interval=0.0)
    with ChromiumRenderer(limits=RenderLimits(timeout=4.0, navigation_timeout=2.0)) as renderer:
        started = time.monotonic()
        result = fetch_media(f"http://site.test:{server.port}/spin", policy, renderer=renderer, render="always")
        elapsed = time.monotonic() - started
        assert [p.reason for p in result.partial] == ["render_failed"]
        assert "timeout" in result.partial[0].detail
        assert elapsed < 4.0 + 8.0
        after = fetch_media(f"http://site.test:{server.port}/ok", policy, renderer=renderer, render="always")
    assert after.rendered is not None and [o.candidate.url.rsplit("/", 1)[1] for o in after.outcomes] == ["a.png"]


def test_a_page_that_eats_memory_is_stopped(server, resolver):
    server.routes["/hog"] = respond(
        200,
        b"""<!doctype html><title>hog</title><script>
var keep = [];
for (var i = 0; i < 200; i++) { keep.push(new Uint8Array(32 * 1024 * 1024).fill(i)); }
document.title = "survived";
</script>""",
        HTML,
    )
    server.routes["/ok"] = respond(200, GALLERY, HTML)
    server.routes["/a.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    policy = local_policy(resolver, host_interval=0.0)
    with ChromiumRenderer(limits=RenderLimits(timeout=20.0, memory_bytes=900 * 1024 * 1024)) as renderer:
        result = fetch_media(f"http://site.test:{server.port}/hog", policy, renderer=renderer, render="always")
        assert [p.reason for p in result.partial] == ["render_failed"]
        assert "(memory)" in result.partial[0].detail, result.partial[0].detail
        assert result.rendered is None
        after = fetch_media(f"http://site.test:{server.port}/ok", policy, renderer=renderer, render="always")
    assert after.rendered is not None and after.rendered.peak_memory < 900 * 1024 * 1024
    assert [o.candidate.url.rsplit("/", 1)[1] for o in after.outcomes] == ["a.png"]


def test_each_render_gets_a_fresh_context(server, resolver):
    """Cookies and storage a page sets are gone for the next page (and our fetcher never sends any)."""
    server.routes["/set"] = respond(
        200,
        b"""<!doctype html><title>set</title><script>
document.cookie = "tracker=1; path=/"; localStorage.setItem("seen", "1");
</script>""",
        HTML,
    )
    server.routes["/read"] = respond(
        200,
        b"""<!doctype html><title>read</title><script>
document.title = "cookie=" + document.cookie + ";storage=" + localStorage.getItem("seen");
</script>""",
        HTML,
    )
    policy = local_policy(resolver, host_interval=0.0)
    with ChromiumRenderer() as renderer:
        fetch_media(f"http://site.test:{server.port}/set", policy, renderer=renderer, render="always")
        result = fetch_media(f"http://site.test:{server.port}/read", policy, renderer=renderer, render="always")
    assert result.rendered is not None
    assert "<title>cookie=;storage=null</title>" in result.rendered.html
    assert all("cookie" not in request.headers for request in server.requests)
