"""Candidates from structured data, scripts and noscript; next-page links; page signals."""

from __future__ import annotations

import json

import pytest

from takedown.fetching.extract import scan_page
from takedown.fetching.pages import is_next_page
from takedown.fetching.structured import hint_for, scan_json_ld, scan_script

PAGE = "https://site.example/videos/42"


def found(html: str, page: str = PAGE) -> list[tuple[str, str, str, str | None]]:
    return [(c.url, c.how, c.source, c.hint) for c in scan_page(html, page).candidates]


def test_json_ld_graph_media_objects_and_images():
    block = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "VideoObject",
                "contentUrl": "https://cdn.example/v/42/master.m3u8",
                "embedUrl": "https://site.example/embed/42",
                "thumbnailUrl": ["https://cdn.example/t/42.jpg", "https://cdn.example/t/42b.jpg"],
                "publisher": {"@type": "Organization", "logo": {"@type": "ImageObject", "url": "/logo.png"}},
            },
            {"@type": ["WebPage"], "primaryImageOfPage": {"@type": "ImageObject", "contentUrl": "/hero.jpg"}},
            {"@type": "Person", "image": "/avatar.jpg"},
        ],
    }
    html = f'<script type="application/ld+json">{json.dumps(block)}</script><p>text</p>'
    assert found(html) == [
        ("https://cdn.example/v/42/master.m3u8", "json-ld", "json-ld:VideoObject.contentUrl", "hls"),
        ("https://site.example/embed/42", "json-ld", "json-ld:VideoObject.embedUrl", None),
        ("https://site.example/hero.jpg", "json-ld", "json-ld:WebPage.primaryImageOfPage", "image"),
        ("https://site.example/avatar.jpg", "json-ld", "json-ld:Person.image", "image"),
        ("https://cdn.example/t/42.jpg", "json-ld", "json-ld:VideoObject.thumbnailUrl", "image"),
        ("https://cdn.example/t/42b.jpg", "json-ld", "json-ld:VideoObject.thumbnailUrl", "image"),
    ]
    scan = scan_page(html, PAGE)
    assert scan.signals.video_expected
    assert scan.signals.scripts == 0  # JSON-LD is data, not a script that builds the page


@pytest.mark.parametrize(
    "text",
    ["{not json", "<!-- {} -->", '{"@type": "ImageObject", "contentUrl": 7}', "[" * 5000 + "]" * 5000, ""],
)
def test_broken_json_ld_yields_nothing(text):
    assert scan_json_ld(text).found == []


def test_json_ld_in_a_comment_and_paywall_marker():
    scan = scan_json_ld('<!-- {"@type": "Article", "image": "/a.jpg", "isAccessibleForFree": "False"} -->')
    assert [f.url for f in scan.found] == ["/a.jpg"]
    assert scan.not_free


def test_player_config_and_inline_json():
    html = r"""
    <script>
      var flashvars = {"video_url": "https:\/\/cdn.example\/v\/42_480p.mp4", "hls": "https:\/\/cdn.example\/play?id=42",
                       "preview": "\/t\/42.jpg", "type": "application\/x-mpegURL", "dash": "application/dash+xml",
                       "page": "https://site.example/other-page", "api": "/api/v1/items?x=1"};
      jwplayer("p").setup({file: 'https://cdn.example/v/42/index.m3u8?token=a\u0026b=c', image: "/poster.webp"});
    </script>
    <script type="application/json" id="__NEXT_DATA__">
      {"props": {"photos": [{"src": "/g/1.jpg"}, {"src": "/g/2.png"}]}}</script>
    <script type="text/x-template"><img src="/template.jpg"></script>
    """
    assert found(html) == [
        ("https://cdn.example/v/42_480p.mp4", "inline-json", "script:video_url", "video"),
        ("https://cdn.example/play?id=42", "inline-json", "script:hls", "hls"),
        ("https://cdn.example/v/42/index.m3u8?token=a&b=c", "inline-json", "script:file", "hls"),
        ("https://site.example/t/42.jpg", "inline-json", "script:preview", "image"),
        ("https://site.example/poster.webp", "inline-json", "script:image", "image"),
        ("https://site.example/g/1.jpg", "inline-json", "script:src", "image"),
        ("https://site.example/g/2.png", "inline-json", "script:src", "image"),
    ]


def test_script_scan_ignores_what_is_not_a_media_url():
    assert (
        scan_script('var a = "text/html"; var b = "image/jpeg"; var c = "/api/items"; var d = "hello world.jpg";') == []
    )
    assert [f.url for f in scan_script('x = "//cdn.example/a.gif"; y = "../up/b.JPG"')] == [
        "//cdn.example/a.gif",
        "../up/b.JPG",
    ]


def test_noscript_images_links_to_images_and_lazy_images():
    html = """
    <a href="/full/1.jpg"><img src="/thumb/1.jpg" width="150"></a>
    <img class="lazy" src="data:image/gif;base64,R0lGOD" data-src="/lazy/2.jpg">
    <noscript><img src="/real/2.jpg"></noscript>
    <a href="/about">About</a>
    """
    assert found(html) == [
        ("https://site.example/full/1.jpg", "static", "a:href", "image"),
        ("https://site.example/thumb/1.jpg", "static", "img", "image"),
        ("https://site.example/lazy/2.jpg", "static", "img:lazy", "image"),
        ("https://site.example/real/2.jpg", "noscript", "noscript:img", "image"),
    ]


def test_stream_types_on_video_sources():
    html = """<video poster="/p.jpg"><source src="/s/1" type="application/x-mpegURL">
    <source src="/s/2" type="application/dash+xml"><source src="/s/3.mp4"></video>
    <meta property="og:video" content="https://cdn.example/og.m3u8">"""
    assert [(url.rsplit("/", 1)[1], hint) for url, _how, _source, hint in found(html)] == [
        ("og.m3u8", "hls"),
        ("1", "hls"),
        ("2", "dash"),
        ("3.mp4", "video"),
        ("p.jpg", "image"),
    ]


def test_microdata_and_hints():
    html = (
        '<div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="contentUrl" content="/v.mp4"></div>'
    )
    assert found(html) == [("https://site.example/v.mp4", "static", "microdata:contentUrl", "video")]
    assert hint_for("https://x/a.M3U8?x=1") == "hls"
    assert hint_for("https://x/a", "application/vnd.apple.mpegurl") == "hls"
    assert hint_for("https://x/a.mpd") == "dash"
    assert hint_for("https://x/a.php") is None


def test_next_page_links():
    html = """<link rel="next" href="?page=2"><a href="/other-post" rel="next">Next post</a>
    <a class="pagination-next" href="/t/9/page-3">Next</a><a href="/t/9?page=4">Next page \u00bb</a>
    <a href="/t/9?page=5" aria-label="Next page">5</a><a href="/whatever">Nextdoor</a>"""
    scan = scan_page(html, "https://forum.example/t/9")
    assert scan.next_pages == [
        "https://forum.example/t/9?page=2",
        "https://forum.example/other-post",
        "https://forum.example/t/9/page-3",
        "https://forum.example/t/9?page=4",
        "https://forum.example/t/9?page=5",
    ]


@pytest.mark.parametrize(
    ("current", "candidate", "expected"),
    [
        ("https://f.example/t/9", "https://f.example/t/9?page=2", True),
        ("https://f.example/t/9?page=2", "https://f.example/t/9?page=3", True),
        ("https://f.example/thread/abc.123/", "https://f.example/thread/abc.123/page-2", True),
        ("https://www.f.example/gallery/7", "https://f.example/gallery/7/2", True),
        ("https://f.example/search?q=x", "https://f.example/search?q=x&start=20", True),
        ("https://blog.example/2026/05/first-post", "https://blog.example/2026/05/second-post", False),
        ("https://f.example/t/9", "https://other.example/t/9?page=2", False),
        ("https://f.example/t/9", "https://f.example/t/10", True),
        ("https://f.example/t/9", "https://f.example/u/9?page=2", False),
        ("https://f.example/t/9", "https://f.example/about", False),
    ],
)
def test_is_next_page(current, candidate, expected):
    assert is_next_page(current, candidate) is expected


def test_page_signals():
    html = """<title> Sign in </title><form><input type="password"></form>
    <div class="Age-Gate modal" id="ageCheck"></div><script src="/cdn-cgi/challenge-platform/x.js"></script>
    <iframe src="https://challenges.cloudflare.com/t"></iframe><style>.x{}</style><p>Hello   there</p>"""
    signals = scan_page(html, PAGE).signals
    assert signals.title == "Sign in"
    assert signals.has_password and signals.forms == 1 and signals.scripts == 1
    assert {"age-gate", "agecheck"} <= signals.tokens
    assert signals.script_srcs == ["/cdn-cgi/challenge-platform/x.js"]
    assert signals.iframe_srcs == ["https://challenges.cloudflare.com/t"]
    assert signals.text == "Sign in Hello there"
    assert not signals.video_expected
