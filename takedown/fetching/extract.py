"""Find the media a page shows, so the service hashes the image or video and not the HTML around it.

Reported URLs are usually pages (a post, a gallery, a video page), not files. The candidates are
collected from the places sites put their main media, in priority order:

0. ``og:image`` (and ``:secure_url``/``:url``), ``twitter:image``, ``og:video`` (and variants),
   ``twitter:player:stream``: what the site itself says the page is about;
1. ``<link rel="image_src">`` (older convention, same meaning);
2. ``<video src>`` and ``<video><source src>``: the playable video;
3. ``<img>`` (the largest ``srcset`` candidate, else ``src``, else the lazy-loading ``data-srcset``/
   ``data-src``) and ``<picture><source srcset>``;
4. ``<video poster>``: a still from the video, useful to hash when the video itself cannot be had.

URLs are resolved against ``<base href>`` (when it is http/https) or the page URL; only http/https
results are kept (``data:``, ``blob:``, ``javascript:`` are dropped), fragments are removed, and
duplicates keep their first, highest-priority place. Images declared 1 or 2 pixels wide or high are
skipped: they are tracking pixels, never the reported content.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

MAX_CANDIDATE_URL = 4096

_META_PRIORITY = {
    "og:image:secure_url": 0,
    "og:image:url": 1,
    "og:image": 2,
    "twitter:image": 3,
    "twitter:image:src": 4,
    "og:video:secure_url": 5,
    "og:video:url": 6,
    "og:video": 7,
    "twitter:player:stream": 8,
}
_GROUP_META, _GROUP_LINK, _GROUP_VIDEO, _GROUP_IMAGE, _GROUP_POSTER = range(5)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


@dataclass(frozen=True)
class MediaCandidate:
    """A URL that may be the page's media, and where on the page it was found (e.g. ``og:image``)."""

    url: str
    source: str


def extract_media_candidates(html: str, page_url: str, *, limit: int = 20) -> list[MediaCandidate]:
    """The page's media candidates, best first, deduplicated, at most ``limit`` of them."""
    parser = _MediaParser()
    parser.feed(html)
    parser.close()
    base = page_url
    if parser.base_href is not None:
        resolved_base = _resolve(page_url, parser.base_href)
        if resolved_base is not None:
            base = resolved_base
    ranked = sorted(parser.found, key=lambda item: (item[0], item[1], item[2]))
    seen: set[str] = set()
    candidates: list[MediaCandidate] = []
    for _group, _rank, _order, raw_url, source in ranked:
        url = _resolve(base, raw_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        candidates.append(MediaCandidate(url=url, source=source))
        if len(candidates) >= limit:
            break
    return candidates


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode a page: charset from the Content-Type header, else a BOM, else ``<meta charset>``,
    else UTF-8. Undecodable bytes become U+FFFD; only URLs are wanted from the text."""
    for candidate in (_header_charset(content_type), _bom_charset(body), _meta_charset(body)):
        if candidate:
            try:
                codec = codecs.lookup(candidate)
            except LookupError:
                continue
            return body.decode(codec.name, errors="replace")
    return body.decode("utf-8", errors="replace")


def parse_srcset(value: str) -> list[tuple[str, float | None, float | None]]:
    """Parse a ``srcset`` into (url, width, density) triples, following the HTML standard's
    tokenizer closely enough that URLs with commas (``/c_fill,w_800/x.jpg``) survive."""
    results: list[tuple[str, float | None, float | None]] = []
    pos, end = 0, len(value)
    while pos < end:
        while pos < end and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        if pos >= end:
            break
        start = pos
        while pos < end and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        descriptors: list[str] = []
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            desc_start = pos
            while pos < end:
                char = value[pos]
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(depth - 1, 0)
                elif char == "," and depth == 0:
                    break
                pos += 1
            descriptors = value[desc_start:pos].split()
            pos += 1
        width: float | None = None
        density: float | None = None
        for descriptor in descriptors:
            number = descriptor[:-1]
            try:
                if descriptor.endswith("w"):
                    width = float(int(number))
                elif descriptor.endswith("x"):
                    density = float(number)
            except ValueError:
                continue
        if url:
            results.append((url, width, density))
    return results


def largest_srcset_url(value: str) -> str | None:
    """The srcset candidate with the largest width (``w``), else the largest density (``x``)."""
    entries = parse_srcset(value)
    if not entries:
        return None
    if any(width is not None for _url, width, _density in entries):
        return max(entries, key=lambda entry: entry[1] or 0.0)[0]
    return max(entries, key=lambda entry: entry[2] if entry[2] is not None else 1.0)[0]


def _resolve(base: str, raw: str) -> str | None:
    raw = raw.strip(" \t\n\r\x0c")
    if not raw or len(raw) > MAX_CANDIDATE_URL:
        return None
    try:
        url = urldefrag(urljoin(base, raw)).url
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return url


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _bom_charset(body: bytes) -> str | None:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:2048])
    return match.group(1).decode("ascii") if match else None


def _tiny(attrs: dict[str, str]) -> bool:
    for name in ("width", "height"):
        value = attrs.get(name, "").strip().removesuffix("px")
        if value.isdigit() and int(value) <= 2:
            return True
    return False


class _MediaParser(HTMLParser):
    """Collects (group, rank, document order, url, source) tuples; sorting them gives priority."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base_href: str | None = None
        self.found: list[tuple[int, int, int, str, str]] = []
        self._open: list[str] = []  # enclosing <video>/<picture>/<audio> elements

    def _add(self, group: int, url: str | None, source: str, rank: int = 0) -> None:
        if url:
            self.found.append((group, rank, len(self.found), url, source))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("video", "picture", "audio"):
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "base":
            if self.base_href is None and values.get("href"):
                self.base_href = values["href"]
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in _META_PRIORITY:
                self._add(_GROUP_META, values.get("content"), key, rank=_META_PRIORITY[key])
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            if "image_src" in rels:
                self._add(_GROUP_LINK, values.get("href"), "link:image_src")
        elif tag == "video":
            self._open.append("video")
            self._add(_GROUP_VIDEO, values.get("src"), "video")
            self._add(_GROUP_POSTER, values.get("poster"), "video:poster")
        elif tag in ("picture", "audio"):
            self._open.append(tag)
        elif tag == "source":
            parent = self._open[-1] if self._open else None
            if parent == "video":
                self._add(_GROUP_VIDEO, values.get("src"), "video:source")
            elif parent == "picture":
                self._add(_GROUP_IMAGE, largest_srcset_url(values.get("srcset", "")), "picture:source")
        elif tag == "img" and not _tiny(values):
            self._add_img(values)

    def _add_img(self, values: dict[str, str]) -> None:
        for srcset_attr, src_attr, label in (("srcset", "src", "img"), ("data-srcset", "data-src", "img:lazy")):
            best = largest_srcset_url(values.get(srcset_attr, ""))
            if best:
                self._add(_GROUP_IMAGE, best, f"{label}:srcset")
                return
            src = values.get(src_attr, "").strip()
            if src and not src.lower().startswith("data:"):
                self._add(_GROUP_IMAGE, src, label)
                return

    def handle_endtag(self, tag: str) -> None:
        if tag in ("video", "picture", "audio") and tag in self._open:
            while self._open:
                if self._open.pop() == tag:
                    break
