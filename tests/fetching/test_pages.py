"""fetch_media: a page's candidates go through the same safe fetcher, bounded in number, time and bytes."""

from __future__ import annotations

import pytest

from takedown.fetching import HttpStatusError, fetch_media
from tests.fetching.conftest import local_policy
from tests.fetching.servers import MapResolver, redirect, respond

PNG = b"\x89PNG\r\n\x1a\n" + bytes(3000)
JPEG = b"\xff\xd8\xff\xe0" + bytes(3000)
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(3000)


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver(
        {"site.test": ["127.0.0.1"], "cdn.site.test": ["127.0.0.1"], "internal.site.test": ["192.168.1.10"]}
    )


def page(*tags: str) -> bytes:
    return ("<!doctype html><html><head>" + "".join(tags) + "</head><body></body></html>").encode()


def test_page_candidates_are_fetched_safely(server, resolver, connections):
    cdn = f"http://cdn.site.test:{server.port}"
    server.routes["/post"] = respond(
        200,
        page(
            f'<meta property="og:image" content="{cdn}/og.png">',
            '<meta property="og:video" content="/clip.webm">',
            '<meta name="twitter:image" content="http://169.254.169.254/latest/meta-data">',
            f'<link rel="image_src" href="http://internal.site.test:{server.port}/x.jpg">',
            '<img src="/gone.jpg">',
            '<img src="/another-page">',
            '<img src="/moved.jpg">',
            '<img src="/og-copy.png">',
        ),
        {"Content-Type": "text/html; charset=utf-8"},
    )
    server.routes["/og.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    server.routes["/og-copy.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    server.routes["/clip.webm"] = respond(200, WEBM, {"Content-Type": "video/webm"})
    server.routes["/gone.jpg"] = respond(410, b"gone")
    server.routes["/another-page"] = respond(200, page("<title>not media</title>") * 20)
    server.routes["/moved.jpg"] = redirect("http://10.0.0.1/secret.jpg")

    result = fetch_media(f"http://site.test:{server.port}/post", local_policy(resolver))

    assert result.page.kind == "html"
    outcomes = {o.candidate.url.rsplit("/", 1)[-1]: o for o in result.outcomes}
    assert outcomes["og.png"].result is not None
    assert outcomes["og.png"].result.sniffed_type == "image/png"
    assert outcomes["clip.webm"].result is not None
    assert outcomes["clip.webm"].result.kind == "video"
    errors = {name: o.error for name, o in outcomes.items() if o.error is not None}
    assert {name: error.reason for name, error in errors.items()} == {
        "meta-data": "forbidden_address",
        "x.jpg": "forbidden_address",
        "gone.jpg": "http_status",
        "another-page": "unexpected_type",
        "moved.jpg": "forbidden_address",
    }
    gone = errors["gone.jpg"]
    assert isinstance(gone, HttpStatusError)
    assert gone.status == 410
    assert errors["moved.jpg"].redirect_chain[0].status == 302
    # Two candidates with the same bytes are one medium.
    assert [m.sha256 for m in result.media] == [outcomes["og.png"].result.sha256, outcomes["clip.webm"].result.sha256]
    # Nothing but the local server was ever contacted, and each host was resolved once.
    assert {address[0] for address in connections} == {"127.0.0.1"}
    assert sorted(resolver.calls) == ["cdn.site.test", "internal.site.test", "site.test"]
    # Candidates carry the page's origin as Referer, for hotlink protection, and no more.
    og_request = next(r for r in server.requests if r.path == "/og.png")
    assert og_request.headers["referer"] == f"http://site.test:{server.port}/"


def test_direct_media_is_its_own_single_medium(server, resolver):
    server.routes["/photo"] = respond(200, JPEG, {"Content-Type": "application/octet-stream"})
    result = fetch_media(f"http://site.test:{server.port}/photo", local_policy(resolver))
    assert [c.source for c in result.candidates] == ["direct"]
    assert result.media == (result.page,)
    assert result.page.sniffed_type == "image/jpeg"
    assert server.total_hits == 1


def test_candidates_are_bounded(server, resolver):
    server.routes["/post"] = respond(200, page(*(f'<img src="/{index}.png">' for index in range(50))))
    for index in range(50):
        server.routes[f"/{index}.png"] = respond(200, PNG + bytes([index]))
    result = fetch_media(f"http://site.test:{server.port}/post", local_policy(resolver, max_candidates=4))
    assert len(result.candidates) == 4
    assert len(result.media) == 4
    assert server.total_hits == 5


def test_page_byte_budget_is_shared(server, resolver):
    big = PNG + bytes(20000)
    server.routes["/post"] = respond(200, page('<img src="/a.png">', '<img src="/b.png">', '<img src="/c.png">'))
    for name in ("a", "b", "c"):
        server.routes[f"/{name}.png"] = respond(200, big + name.encode())
    result = fetch_media(f"http://site.test:{server.port}/post", local_policy(resolver, max_page_bytes=50000))
    reasons = [o.error.reason if o.error else "ok" for o in result.outcomes]
    assert reasons == ["ok", "ok", "too_large"]


def test_page_that_cannot_be_fetched_raises(server, resolver):
    server.routes["/login"] = respond(403, b"log in first", {"Content-Type": "text/html"})
    with pytest.raises(HttpStatusError) as caught:
        fetch_media(f"http://site.test:{server.port}/login", local_policy(resolver))
    assert caught.value.reason == "http_status"
    assert caught.value.status == 403


def test_non_media_non_html_has_no_candidates(server, resolver):
    server.routes["/data.json"] = respond(200, b'{"image": "http://169.254.169.254/"}')
    result = fetch_media(f"http://site.test:{server.port}/data.json", local_policy(resolver))
    assert result.candidates == ()
    assert result.media == ()
