"""Find the media a page shows, so the service hashes the image or video and not the HTML around it.

Reported URLs are usually pages (a post, a gallery, a video page), not files. The candidates are
collected from the places sites put their main media, in priority order:

0. ``og:image`` (and ``:secure_url``/``:url``), ``twitter:image``, ``og:video`` (and variants),
   ``twitter:player:stream``: what the site itself says the page is about (how: ``og``);
1. JSON-LD (``application/ld+json``): ``contentUrl``/``embedUrl``/``url`` of media objects and the
   ``image`` of any object, ``@graph`` included (how: ``json-ld``; :mod:`.structured`);
2. ``<link rel="image_src">`` (older convention, same meaning);
3. ``<video src>`` and ``<video><source src>``: the playable video (HLS/DASH playlists included);
4. playlists and videos named in the page's scripts: player configurations and JSON blobs
   (how: ``inline-json``);
5. ``<img>`` (the largest ``srcset`` candidate, else ``src``, else the lazy-loading ``data-srcset``/
   ``data-src``), ``<picture><source srcset>``, links straight to an image file (a gallery's
   thumbnail usually links to the full picture), and the same inside ``<noscript>`` (how:
   ``noscript``), which is where lazy-loading galleries keep the real ``<img>``;
6. images named in scripts (how: ``inline-json``);
7. stills: ``<video poster>``, JSON-LD ``thumbnailUrl``: useful to hash when the video itself
   cannot be had.

URLs are resolved against ``<base href>`` (when it is http/https) or the page URL; only http/https
results are kept (``data:``, ``blob:``, ``javascript:`` are dropped), fragments are removed, and
duplicates keep their first, highest-priority place. Images declared 1 or 2 pixels wide or high are
skipped: they are tracking pixels, never the reported content.

The same pass collects what the rest of the package needs from the page: links to its next page
(``rel=next``, "Next" links), and the signals :mod:`.obstacles` reads to tell a login wall, an age
gate or a bot challenge from a page that simply has no media.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from takedown.fetching.structured import Hint, hint_for, scan_json_ld, scan_script

MAX_CANDIDATE_URL = 4096
#: Visible text kept per page for the obstacle markers (a gate's text is short and near the top).
MAX_TEXT_CHARS = 20_000
#: Class and id tokens kept per page.
MAX_TOKENS = 2000
#: Characters of one script element collected (JSON-LD and player configurations are small).
MAX_SCRIPT_ELEMENT_CHARS = 1_000_000

#: How a candidate was found, as recorded with the evidence.
How = Literal["og", "json-ld", "static", "inline-json", "noscript", "rendered", "direct"]

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
(
    _GROUP_META,
    _GROUP_JSON_LD,
    _GROUP_LINK,
    _GROUP_VIDEO,
    _GROUP_SCRIPT_MEDIA,
    _GROUP_IMAGE,
    _GROUP_SCRIPT_IMAGE,
    _GROUP_POSTER,
) = range(8)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
# Link texts that mean "the next page": words, and the arrows and guillemets (U+00BB, U+203A,
# U+2192) pagination widgets use.
_ARROWS = "\u00bb|\u203a|\u2192|>|>>"
_NEXT_TEXT = re.compile(
    rf"^(?:next(?: page)?|older(?: posts| entries)?)\s*(?:{_ARROWS})?$|^(?:{_ARROWS})$", re.IGNORECASE
)
_NEXT_CLASS = re.compile(r"(?:^|[-_ ])next(?:$|[-_ ])|pagination-next|page-next|nextpage", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
#: Class or id of the usual web video players (video.js, JW Player, Plyr, Flowplayer, hls.js demos).
_PLAYER = re.compile(
    r"video-?js|\bvjs-|jwplayer|jw-player|\bplyr\b|flowplayer|video-player|videoplayer|player-container"
)


@dataclass(frozen=True)
class MediaCandidate:
    """A URL that may be the page's media, where on the page it was found (``source``, e.g.
    ``og:image``), how (``how``: og, json-ld, static, inline-json, noscript, rendered, direct), on
    which page of a paginated thread (1 for the reported page) and what it probably is (``hint``:
    image, video, hls, dash, or None when only fetching will tell)."""

    url: str
    source: str
    how: How = "static"
    page: int = 1
    hint: Hint | None = None

    @property
    def is_stream(self) -> bool:
        return self.hint in ("hls", "dash")


@dataclass
class PageSignals:
    """What a page shows besides media, for telling walls and gates from empty pages."""

    title: str = ""
    text: str = ""
    tokens: set[str] = field(default_factory=set)
    has_password: bool = False
    forms: int = 0
    scripts: int = 0
    script_srcs: list[str] = field(default_factory=list)
    iframe_srcs: list[str] = field(default_factory=list)
    #: Some JSON-LD block says ``"isAccessibleForFree": false`` (schema.org's paywall marker).
    not_free: bool = False
    #: The page presents a video (a ``<video>`` element, ``og:type`` video, ``og:video``, a JSON-LD
    #: VideoObject, a player element): a poster alone then does not mean the page was read.
    video_expected: bool = False


@dataclass
class PageScan:
    """One pass over a page: candidates best first, how many there were before the limit, links
    to the next page, and the page's signals."""

    candidates: list[MediaCandidate]
    total: int
    next_pages: list[str]
    signals: PageSignals


def extract_media_candidates(html: str, page_url: str, *, limit: int = 20) -> list[MediaCandidate]:
    """The page's media candidates, best first, deduplicated, at most ``limit`` of them."""
    return scan_page(html, page_url, limit=limit).candidates


def scan_page(html: str, page_url: str, *, limit: int = 20, page: int = 1, how: How | None = None) -> PageScan:
    """Candidates (at most ``limit``), next-page links and signals of one page.

    ``how`` overrides every candidate's ``how`` (``rendered`` for a DOM read after scripts ran).
    """
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
    total = 0
    for _group, _rank, _order, raw_url, source, found_how, hint in ranked:
        url = _resolve(base, raw_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        total += 1
        if len(candidates) < limit:
            candidates.append(
                MediaCandidate(url=url, source=source, how=how or found_how, page=page, hint=hint or hint_for(url))
            )
    next_pages: list[str] = []
    for raw in parser.next_links:
        url = _resolve(base, raw)
        if url is not None and url not in next_pages and urldefrag(url).url != urldefrag(page_url).url:
            next_pages.append(url)
    return PageScan(candidates=candidates, total=total, next_pages=next_pages, signals=parser.signals)


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


_Found = tuple[int, int, int, str, str, How, Hint | None]


class _MediaParser(HTMLParser):
    """Collects (group, rank, document order, url, source, how, hint) tuples; sorting them gives
    priority. Also collects next-page links and the page's signals."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base_href: str | None = None
        self.found: list[_Found] = []
        self.next_links: list[str] = []
        self.signals = PageSignals()
        self._open: list[str] = []  # enclosing <video>/<picture>/<audio> elements
        self._noscript = 0
        self._script: list[str] | None = None
        self._script_type = ""
        self._script_chars = 0
        self._skip_text = 0  # inside <style> or <template>
        self._in_title = False
        self._text: list[str] = []
        self._text_chars = 0
        self._anchor: dict[str, str] | None = None
        self._anchor_text: list[str] = []

    def _add(
        self, group: int, url: str | None, source: str, rank: int = 0, *, how: How = "static", hint: Hint | None = None
    ) -> None:
        if url:
            self.found.append((group, rank, len(self.found), url, source, how, hint))

    def _image_how(self) -> How:
        return "noscript" if self._noscript else "static"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("video", "picture", "audio", "a", "script", "noscript", "style", "template", "title"):
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        self._collect_tokens(values)
        if tag == "base":
            if self.base_href is None and values.get("href"):
                self.base_href = values["href"]
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key.startswith("og:video") or (key == "og:type" and values.get("content", "").startswith("video")):
                self.signals.video_expected = True
            if key in _META_PRIORITY:
                self._add(_GROUP_META, values.get("content"), key, rank=_META_PRIORITY[key], how="og")
            itemprop = values.get("itemprop", "").strip()
            if itemprop in ("contentUrl", "embedUrl"):
                self._add(_GROUP_JSON_LD, values.get("content"), f"microdata:{itemprop}")
            elif itemprop == "thumbnailUrl":
                self._add(_GROUP_POSTER, values.get("content"), "microdata:thumbnailUrl", hint="image")
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            if "image_src" in rels:
                self._add(_GROUP_LINK, values.get("href"), "link:image_src")
            if "next" in rels and values.get("href"):
                self.next_links.insert(0, values["href"])
        elif tag == "video":
            self.signals.video_expected = True
            self._open.append("video")
            self._add(_GROUP_VIDEO, values.get("src"), "video", how=self._image_how(), hint=_hint(values))
            self._add(_GROUP_POSTER, values.get("poster"), "video:poster", how=self._image_how(), hint="image")
        elif tag in ("picture", "audio"):
            self._open.append(tag)
        elif tag == "source":
            parent = self._open[-1] if self._open else None
            if parent == "video":
                self._add(_GROUP_VIDEO, values.get("src"), "video:source", how=self._image_how(), hint=_hint(values))
            elif parent == "picture":
                best = largest_srcset_url(values.get("srcset", ""))
                self._add(_GROUP_IMAGE, best, "picture:source", how=self._image_how(), hint="image")
        elif tag == "img":
            if not _tiny(values):
                self._add_img(values)
        elif tag == "a":
            self._start_anchor(values)
        elif tag == "noscript":
            self._noscript += 1
        elif tag == "script":
            self._script = []
            self._script_chars = 0
            self._script_type = values.get("type", "").strip().lower()
            if self._script_type != "application/ld+json":
                self.signals.scripts += 1
            if values.get("src") and len(self.signals.script_srcs) < 50:
                self.signals.script_srcs.append(values["src"][:500])
        elif tag in ("style", "template"):
            self._skip_text += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "input":
            if values.get("type", "").strip().lower() == "password":
                self.signals.has_password = True
        elif tag == "form":
            self.signals.forms += 1
        elif tag == "iframe" and values.get("src") and len(self.signals.iframe_srcs) < 20:
            self.signals.iframe_srcs.append(values["src"][:500])

    def _add_img(self, values: dict[str, str]) -> None:
        how = self._image_how()
        prefix = "noscript:" if self._noscript else ""
        for srcset_attr, src_attr, label in (("srcset", "src", "img"), ("data-srcset", "data-src", "img:lazy")):
            best = largest_srcset_url(values.get(srcset_attr, ""))
            if best:
                self._add(_GROUP_IMAGE, best, f"{prefix}{label}:srcset", how=how, hint="image")
                return
            src = values.get(src_attr, "").strip()
            if src and not src.lower().startswith("data:"):
                self._add(_GROUP_IMAGE, src, f"{prefix}{label}", how=how, hint="image")
                return

    def _start_anchor(self, values: dict[str, str]) -> None:
        href = values.get("href", "").strip()
        if not href:
            return
        rels = values.get("rel", "").lower().split()
        if "next" in rels:
            self.next_links.append(href)
        hint = hint_for(href)
        if hint in ("image", "video"):
            # A gallery thumbnail usually links to the full-size file: the better copy to hash.
            self._add(_GROUP_IMAGE, href, "a:href", how=self._image_how(), hint=hint)
        self._anchor = values
        self._anchor_text = []

    def _collect_tokens(self, values: dict[str, str]) -> None:
        if not self.signals.video_expected and _PLAYER.search(f"{values.get('class', '')} {values.get('id', '')}"):
            self.signals.video_expected = True
        if len(self.signals.tokens) >= MAX_TOKENS:
            return
        for name in ("class", "id", "role", "aria-label", "data-testid"):
            value = values.get(name)
            if value:
                for token in value.lower().split()[:20]:
                    self.signals.tokens.add(token[:80])

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            if self._script_chars < MAX_SCRIPT_ELEMENT_CHARS:
                piece = data[: MAX_SCRIPT_ELEMENT_CHARS - self._script_chars]
                self._script.append(piece)
                self._script_chars += len(piece)
            return
        if self._skip_text:
            return
        if self._in_title:
            self.signals.title = (self.signals.title + data)[:300]
        if self._anchor is not None and len(self._anchor_text) < 10:
            self._anchor_text.append(data)
        if self._text_chars < MAX_TEXT_CHARS and data.strip():
            self._text.append(data)
            self._text_chars += len(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("video", "picture", "audio") and tag in self._open:
            while self._open:
                if self._open.pop() == tag:
                    break
        elif tag == "noscript":
            self._noscript = max(self._noscript - 1, 0)
        elif tag == "script" and self._script is not None:
            self._end_script("".join(self._script))
            self._script = None
        elif tag in ("style", "template"):
            self._skip_text = max(self._skip_text - 1, 0)
        elif tag == "title":
            self._in_title = False
        elif tag == "a" and self._anchor is not None:
            self._end_anchor()

    def _end_script(self, text: str) -> None:
        if self._script_type == "application/ld+json":
            scan = scan_json_ld(text)
            self.signals.not_free = self.signals.not_free or scan.not_free
            self.signals.video_expected = self.signals.video_expected or scan.video
            for item in scan.found:
                group = _GROUP_JSON_LD if item.main else _GROUP_POSTER
                self._add(group, item.url, item.source, how="json-ld", hint=item.hint)
            return
        if self._script_type and not _is_script_type(self._script_type):
            return  # templates (text/x-template), shaders and the like
        for item in scan_script(text):
            group = _GROUP_SCRIPT_IMAGE if item.hint == "image" else _GROUP_SCRIPT_MEDIA
            self._add(group, item.url, item.source, how="inline-json", hint=item.hint)

    def _end_anchor(self) -> None:
        values = self._anchor or {}
        text = _SPACE.sub(" ", "".join(self._anchor_text)).strip()
        label = values.get("aria-label", "") or values.get("title", "")
        classes = values.get("class", "")
        href = values.get("href", "").strip()
        explicit = "next" in values.get("rel", "").lower().split()  # already taken at the start tag
        looks_next = _NEXT_TEXT.match(text) or _NEXT_TEXT.match(label.strip()) or _NEXT_CLASS.search(classes)
        if href and not href.startswith(("#", "javascript:")) and not explicit and looks_next:
            self.next_links.append(href)
        self._anchor = None
        self._anchor_text = []

    def close(self) -> None:
        super().close()
        if self._script is not None:
            self._end_script("".join(self._script))
            self._script = None
        self.signals.text = _SPACE.sub(" ", " ".join(self._text)).strip()[:MAX_TEXT_CHARS]
        self.signals.title = _SPACE.sub(" ", self.signals.title).strip()


def _is_script_type(value: str) -> bool:
    essence = value.split(";", 1)[0].strip()
    return essence in (
        "",
        "module",
        "text/javascript",
        "application/javascript",
        "application/json",
        "text/json",
        "application/x-javascript",
        "text/x-javascript",
    ) or essence.endswith("+json")


def _hint(values: dict[str, str]) -> Hint | None:
    return hint_for(values.get("src", ""), values.get("type"))
