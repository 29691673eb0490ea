"""Login walls, age gates, bot challenges and paywalls are told apart from pages with nothing on them."""

from __future__ import annotations

import gzip

import pytest

from takedown.fetching import HttpStatusError, fetch_media, obstacle_for_error, obstacle_reading
from takedown.fetching.extract import scan_page
from takedown.fetching.obstacles import page_obstacles
from tests.fetching.conftest import local_policy
from tests.fetching.servers import MapResolver, redirect, respond

JPEG = b"\xff\xd8\xff\xe0" + bytes(3000)
HTML = {"Content-Type": "text/html; charset=utf-8"}
CLOUDFLARE = b"""<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<div id="challenge-body-text">Checking if the site connection is secure</div>
<script>window._cf_chl_opt = {cType: 'managed'};</script>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>"""


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver({"site.test": ["127.0.0.1"]})


def reasons(
    html: str, *, has_media: bool, url: str = "https://site.example/p/1", redirected: bool = False
) -> list[str]:
    signals = scan_page(html, url).signals
    found = page_obstacles(signals, html=html, final_url=url, redirected=redirected, has_media=has_media)
    return [o.reason for o in found]


@pytest.mark.parametrize(
    ("html", "has_media", "expected"),
    [
        (CLOUDFLARE.decode(), False, ["bot_challenge"]),
        ('<div class="g-recaptcha"></div><p>Please verify</p>', False, ["bot_challenge"]),
        ("<title>Log in</title><form><input name=u><input type=password></form>", False, ["login_wall"]),
        ("<p>You must be logged in to view this content.</p>", False, ["login_wall"]),
        (
            '<div id="age-verification" class="modal"><p>Are you 18 or older?</p></div><img src=/x.jpg>',
            True,
            ["age_gate"],
        ),
        ("<h1>Age verification</h1><p>Enter your date of birth</p>", False, ["age_gate"]),
        (
            '<script type="application/ld+json">{"@type":"Article","isAccessibleForFree":false}</script>',
            True,
            ["paywall"],
        ),
        ('<div class="paywall"><p>Subscribe to view this gallery</p></div>', False, ["paywall"]),
        # Markers that ordinary pages carry do not count when the page gave media.
        ('<footer>You must be 18 or over to use this site.</footer><img src="/a.jpg">', True, []),
        ('<form><div class="g-recaptcha"></div><textarea>comment</textarea></form><img src="/a.jpg">', True, []),
        ('<a href="/login">Log in</a> to comment<form><input type=password></form><img src="/a.jpg">', True, []),
        ('<div class="paywall-teaser">Subscribe to unlock this post</div><img src="/a.jpg">', True, []),
        ("<p>Just an empty page about nothing.</p>", False, []),
    ],
)
def test_page_obstacles(html, has_media, expected):
    assert reasons(html, has_media=has_media) == expected


def test_redirects_to_login_or_age_pages():
    assert reasons(
        "<p>hello</p>", has_media=False, url="https://s.example/accounts/login?next=/p/1", redirected=True
    ) == ["login_wall"]
    assert reasons("<p>hi</p>", has_media=False, url="https://s.example/age-verification?r=/v/1", redirected=True) == [
        "age_gate"
    ]
    assert reasons("<p>hi</p>", has_media=False, url="https://s.example/login-tips/article", redirected=True) == []


def test_a_cloudflare_challenge_refusal_is_a_bot_challenge(server, resolver):
    server.routes["/post"] = respond(403, CLOUDFLARE, {**HTML, "Server": "cloudflare"})
    with pytest.raises(HttpStatusError) as caught:
        fetch_media(f"http://site.test:{server.port}/post", local_policy(resolver))
    assert b"_cf_chl_opt" in caught.value.body_excerpt
    reading = obstacle_reading(caught.value)
    assert reading is not None and reading.reason == "bot_challenge"
    assert "Cloudflare" in reading.detail


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (503, {"cf-mitigated": "challenge"}, b"", "bot_challenge"),
        (429, {"Content-Encoding": "gzip"}, gzip.compress(CLOUDFLARE), "bot_challenge"),
        (401, {"WWW-Authenticate": 'Basic realm="members"'}, b"", "login_wall"),
        (402, {}, b"", "paywall"),
        (451, {}, b"", "legal_block"),
        (403, HTML, b"<title>Sign in</title><form><input type=password></form>", "login_wall"),
        (403, HTML, b"<h1>Are you 18 or older?</h1>", "age_gate"),
        (403, HTML, b"<h1>Forbidden</h1>", None),
        (404, HTML, CLOUDFLARE, None),
        (503, HTML, b"<h1>Service unavailable</h1>", None),
    ],
)
def test_refusals(server, resolver, status, headers, body, expected):
    server.routes["/x"] = respond(status, body, headers)
    with pytest.raises(HttpStatusError) as caught:
        fetch_media(f"http://site.test:{server.port}/x", local_policy(resolver))
    obstacle = obstacle_for_error(caught.value)
    assert (obstacle.reason if obstacle else None) == expected
    if status == 404:
        assert caught.value.body_excerpt == b""  # only wall and challenge statuses are read


def test_only_the_first_bytes_of_a_refusal_are_read(server, resolver):
    server.routes["/x"] = respond(403, b"<html>" + b"x" * 5_000_000, HTML)
    with pytest.raises(HttpStatusError) as caught:
        fetch_media(f"http://site.test:{server.port}/x", local_policy(resolver))
    assert len(caught.value.body_excerpt) == 32 * 1024


def test_served_pages_report_obstacles_in_the_result(server, resolver):
    server.routes["/video/1"] = redirect("/login?next=/video/1")
    server.routes["/login?next=/video/1"] = respond(
        200, b"<title>Log in</title><form><input type=password></form>", HTML
    )
    server.routes["/photo/1"] = respond(
        200,
        b'<script type="application/ld+json">{"@type":"ImageObject","contentUrl":"/a.jpg",'
        b'"isAccessibleForFree":false}</script>',
        HTML,
    )
    server.routes["/a.jpg"] = respond(200, JPEG, {"Content-Type": "image/jpeg"})
    policy = local_policy(resolver)
    login = fetch_media(f"http://site.test:{server.port}/video/1", policy)
    assert login.obstacle is not None and login.obstacle.reason == "login_wall"
    assert not login.read_fully
    paywalled = fetch_media(f"http://site.test:{server.port}/photo/1", policy)
    assert len(paywalled.media) == 1
    assert [p.reason for p in paywalled.partial] == ["paywall"]
