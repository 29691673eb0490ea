"""Finding a page's media candidates."""

from __future__ import annotations

import pytest

from takedown.fetching.extract import decode_html, extract_media_candidates, largest_srcset_url, parse_srcset

PAGE = "https://site.example/posts/42"


def urls(html: str, page: str = PAGE, limit: int = 20) -> list[str]:
    return [c.url for c in extract_media_candidates(html, page, limit=limit)]


def test_priority_order_and_sources():
    html = """
    <html><head>
      <meta name="twitter:image" content="/tw.jpg">
      <meta property="og:video" content="https://cdn.example/v.mp4">
      <meta property="og:image" content="https://cdn.example/og.jpg">
      <meta property="og:image:secure_url" content="https://cdn.example/og-secure.jpg">
      <link rel="image_src" href="/legacy.jpg">
    </head><body>
      <img src="/inline.jpg">
      <video src="/movie.webm" poster="/poster.jpg"><source src="/movie.mp4" type="video/mp4"></video>
      <picture><source srcset="/pic-400.avif 400w, /pic-1600.avif 1600w"><img src="/pic.jpg"></picture>
    </body></html>
    """
    found = extract_media_candidates(html, PAGE)
    assert [(c.url, c.source) for c in found] == [
        ("https://cdn.example/og-secure.jpg", "og:image:secure_url"),
        ("https://cdn.example/og.jpg", "og:image"),
        ("https://site.example/tw.jpg", "twitter:image"),
        ("https://cdn.example/v.mp4", "og:video"),
        ("https://site.example/legacy.jpg", "link:image_src"),
        ("https://site.example/movie.webm", "video"),
        ("https://site.example/movie.mp4", "video:source"),
        ("https://site.example/inline.jpg", "img"),
        ("https://site.example/pic-1600.avif", "picture:source"),
        ("https://site.example/pic.jpg", "img"),
        ("https://site.example/poster.jpg", "video:poster"),
    ]


def test_base_href_and_relative_urls():
    html = '<base href="https://static.example/assets/"><img src="a.jpg"><img src="../b.jpg"><img src="/c.jpg">'
    assert urls(html) == [
        "https://static.example/assets/a.jpg",
        "https://static.example/b.jpg",
        "https://static.example/c.jpg",
    ]


def test_non_http_base_is_ignored():
    assert urls('<base href="javascript:alert(1)//"><img src="a.jpg">') == ["https://site.example/posts/a.jpg"]


def test_only_http_urls_deduplicated_without_fragments():
    html = """
    <img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)"><img src="blob:https://x/1">
    <img src="ftp://files.example/x.jpg"><img src="  /same.jpg#one "><img src="/same.jpg#two">
    <meta property="og:image" content="//cdn.example/p.jpg"><img src="http://cdn.example/q.jpg">
    """
    assert urls(html) == ["https://cdn.example/p.jpg", "https://site.example/same.jpg", "http://cdn.example/q.jpg"]


def test_srcset_picks_the_largest_candidate():
    assert largest_srcset_url("a.jpg 320w, b.jpg 1280w, c.jpg 640w") == "b.jpg"
    assert largest_srcset_url("a.jpg, b.jpg 2x, c.jpg 1.5x") == "b.jpg"
    assert largest_srcset_url("only.jpg") == "only.jpg"
    assert largest_srcset_url("") is None
    cloudinary = "https://res.example/c_fill,w_400/x.jpg 400w, https://res.example/c_fill,w_1200/x.jpg 1200w"
    assert largest_srcset_url(cloudinary) == "https://res.example/c_fill,w_1200/x.jpg"
    assert parse_srcset("a.jpg 1x,b.jpg 2x") == [("a.jpg", None, 1.0), ("b.jpg", None, 2.0)]


def test_img_srcset_beats_src_and_lazy_attributes_are_used():
    html = """
    <img src="/small.jpg" srcset="/small.jpg 1x, /large.jpg 2x">
    <img src="data:image/gif;base64,R0lGOD" data-src="/lazy.jpg">
    <img data-srcset="/lazy-300.jpg 300w, /lazy-900.jpg 900w">
    """
    found = extract_media_candidates(html, PAGE)
    assert [(c.url, c.source) for c in found] == [
        ("https://site.example/large.jpg", "img:srcset"),
        ("https://site.example/lazy.jpg", "img:lazy"),
        ("https://site.example/lazy-900.jpg", "img:lazy:srcset"),
    ]


def test_tracking_pixels_are_skipped():
    assert urls('<img src="/pixel.gif" width="1" height="1"><img src="/real.jpg" width="800">') == [
        "https://site.example/real.jpg"
    ]


def test_source_outside_video_or_picture_is_ignored():
    assert urls('<audio><source src="/song.mp3"></audio><source src="/stray.mp4">') == []


def test_candidates_are_bounded():
    html = "".join(f'<img src="/{index}.jpg">' for index in range(100))
    assert len(urls(html, limit=20)) == 20
    assert urls(html, limit=3) == [f"https://site.example/{index}.jpg" for index in range(3)]


def test_hostile_markup_does_not_break_the_parser():
    html = '<img src="/a.jpg"<<img src=">" <meta property="og:image" content=\'/b.jpg\'><img src=/c.jpg>'
    assert "https://site.example/c.jpg" in urls(html)
    assert urls("<" * 10000 + "&#0;" * 100) == []


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("<p>café</p>".encode(), "text/html; charset=utf-8", "<p>café</p>"),
        ("<p>café</p>".encode("latin-1"), "text/html; charset=ISO-8859-1", "<p>café</p>"),
        (
            '<meta charset="windows-1252"><p>café</p>'.encode("cp1252"),
            "text/html",
            '<meta charset="windows-1252"><p>café</p>',
        ),
        ("\ufeff<p>café</p>".encode(), None, "<p>café</p>"),
        ("<p>café</p>".encode(), "text/html; charset=bogus-charset", "<p>café</p>"),
    ],
)
def test_decode_html(body, content_type, expected):
    assert decode_html(body, content_type) == expected
