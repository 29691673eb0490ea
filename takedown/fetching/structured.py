"""Media URLs in the data a page carries for machines: JSON-LD and the JSON or JavaScript in its scripts.

Tube sites and galleries rarely put their main medium in an ``<img>`` or ``<video src>``: the
player reads a configuration object (``{"hls": "https:\\/\\/cdn...\\/master.m3u8"}``), the gallery
a JSON blob, and search engines get ``application/ld+json`` (schema.org ``VideoObject`` with
``contentUrl``, ``ImageObject``, ``thumbnailUrl``, often inside an ``@graph``). This module reads
those without running any script:

* JSON-LD is parsed and walked (bounded depth and size); ``contentUrl``/``embedUrl``/``url`` of
  media objects and the ``image`` of any object are main media, ``thumbnailUrl`` a still.
* Other scripts are scanned for quoted strings that are URLs of images, videos or playlists (by
  their extension, or by a key such as ``hls``/``dash`` for URLs without one). JavaScript escapes
  (``\\/``, ``\\u0026``) are undone first.

Nothing here fetches anything; the URLs go through the same safe fetcher as every other candidate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

#: What a URL probably is, from its extension, a type attribute or the key it was found under.
Hint = Literal["image", "video", "hls", "dash"]

#: Characters of script text read per page (a player config is small; bundles are not worth it).
MAX_SCRIPT_CHARS = 2_000_000
#: URLs taken from the scripts of one page.
MAX_SCRIPT_URLS = 200
_MAX_JSON_DEPTH = 24
_MAX_JSON_NODES = 20_000

_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "gif", "webp", "avif", "heic", "heif", "bmp", "jfif"})
_VIDEO_EXTENSIONS = frozenset({"mp4", "m4v", "webm", "mov", "mkv", "3gp", "flv", "avi"})
_PLAYLIST_HINTS: dict[str, Hint] = {"m3u8": "hls", "m3u": "hls", "mpd": "dash"}
_TYPE_HINTS: dict[str, Hint] = {
    "application/x-mpegurl": "hls",
    "application/vnd.apple.mpegurl": "hls",
    "audio/mpegurl": "hls",
    "application/dash+xml": "dash",
}
#: Keys under which players put stream URLs that often have no extension (signed CDN URLs).
_KEY_HINTS: dict[str, Hint] = {
    "hls": "hls",
    "hlsurl": "hls",
    "hls_url": "hls",
    "hlssrc": "hls",
    "hls_src": "hls",
    "m3u8": "hls",
    "m3u8url": "hls",
    "m3u8_url": "hls",
    "dash": "dash",
    "dashurl": "dash",
    "dash_url": "dash",
    "mpd": "dash",
    "mpdurl": "dash",
    "manifest": "dash",
    "manifesturl": "dash",
    "poster": "image",
    "thumbnail": "image",
    "thumbnailurl": "image",
    "thumb": "image",
    "thumburl": "image",
    "thumb_url": "image",
    "image_url": "image",
    "imageurl": "image",
}

# Every string literal, left to right, so that the text between two strings is never taken for
# one: "p" in jwplayer("p").setup({file: '...'}) must be consumed before the next quote is read.
_QUOTED = re.compile(r""""((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`""")
_KEY_BEFORE = re.compile(r"""["']?([A-Za-z_$][\w$]{0,40})["']?\s*[:=]\s*$""")
_ESCAPES = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)")

#: Schema.org types whose contentUrl/url/embedUrl is the medium itself.
_MEDIA_TYPES = frozenset(
    {"imageobject", "videoobject", "mediaobject", "clip", "movie", "episode", "photograph", "3dmodel"}
)


@dataclass(frozen=True)
class Found:
    """A raw URL found in structured data, with where (``source``), how important (``main``: the
    page's own medium rather than a still or thumbnail) and what it probably is."""

    url: str
    source: str
    main: bool
    hint: Hint | None


def hint_for(url: str, declared_type: str | None = None) -> Hint | None:
    """What the URL probably is: from a ``type`` attribute first, else from the path's extension."""
    if declared_type:
        essence = declared_type.split(";", 1)[0].strip().lower()
        if essence in _TYPE_HINTS:
            return _TYPE_HINTS[essence]
        if essence.startswith("image/"):
            return "image"
        if essence.startswith("video/"):
            return "video"
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    extension = path.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if extension in _PLAYLIST_HINTS:
        return _PLAYLIST_HINTS[extension]
    if extension in _IMAGE_EXTENSIONS:
        return "image"
    if extension in _VIDEO_EXTENSIONS:
        return "video"
    return None


# --- JSON-LD ----------------------------------------------------------------------------------


@dataclass
class JsonLdScan:
    """URLs found in a page's JSON-LD blocks, and whether any says the content is not free."""

    found: list[Found]
    not_free: bool = False
    #: Some object in the block is a VideoObject (or another video type).
    video: bool = False


def scan_json_ld(text: str) -> JsonLdScan:
    """Walk one ``application/ld+json`` block. Invalid JSON yields nothing (sites often break it)."""
    scan = JsonLdScan(found=[])
    data = _load_json(text)
    if data is None:
        return scan
    budget = [_MAX_JSON_NODES]
    _walk_ld(data, "", scan, depth=0, budget=budget)
    return scan


def _load_json(text: str) -> Any:
    cleaned = text.strip()
    # Some CMSs wrap the block in an HTML comment or CDATA section.
    for opening, closing in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")):
        if cleaned.startswith(opening) and cleaned.endswith(closing):
            cleaned = cleaned[len(opening) : -len(closing)].strip()
    cleaned = cleaned.rstrip(";")
    try:
        return json.loads(cleaned)
    except (ValueError, RecursionError):
        return None


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("@type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _walk_ld(node: Any, parent: str, scan: JsonLdScan, *, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if depth > _MAX_JSON_DEPTH or budget[0] <= 0:
        return
    if isinstance(node, list):
        for item in node:
            _walk_ld(item, parent, scan, depth=depth + 1, budget=budget)
        return
    if not isinstance(node, dict):
        return
    types = _types(node)
    label = types[0] if types else (parent or "Thing")
    is_media = any(t.lower() in _MEDIA_TYPES for t in types)
    if any(t.lower() in ("videoobject", "clip", "movie", "episode") for t in types):
        scan.video = True
    accessible = node.get("isAccessibleForFree")
    if accessible is False or (isinstance(accessible, str) and accessible.strip().lower() == "false"):
        scan.not_free = True
    for key, value in node.items():
        if key in ("contentUrl", "embedUrl") or (key == "url" and is_media):
            for url in _strings(value):
                hint = hint_for(url) or ("video" if "video" in label.lower() and key == "contentUrl" else None)
                if key == "contentUrl" and hint is None and "image" in label.lower():
                    hint = "image"
                scan.found.append(Found(url, f"json-ld:{label}.{key}", main=True, hint=hint))
        elif key in ("thumbnailUrl",):
            for url in _strings(value):
                scan.found.append(Found(url, f"json-ld:{label}.{key}", main=False, hint="image"))
        elif key in ("image", "thumbnail", "primaryImageOfPage", "logo"):
            if key == "logo":
                continue  # the publisher's logo is never the reported content
            main = key in ("image", "primaryImageOfPage")
            for url in _strings(value):
                scan.found.append(Found(url, f"json-ld:{label}.{key}", main=main, hint=hint_for(url) or "image"))
            if isinstance(value, dict | list):
                _walk_ld(value, "ImageObject", scan, depth=depth + 1, budget=budget)
        elif key in ("publisher", "author", "creator", "provider", "sourceOrganization", "brand"):
            continue  # logos and avatars of whoever published the page, not the medium
        elif isinstance(value, dict | list):
            _walk_ld(value, key, scan, depth=depth + 1, budget=budget)


def _strings(value: Any) -> Iterator[str]:
    """URL strings of a JSON-LD value: a string, a list of strings, or an object's ``url``/``@id``."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[:50]:
            if isinstance(item, str):
                yield item
    elif isinstance(value, dict):
        for key in ("contentUrl", "url"):
            inner = value.get(key)
            if isinstance(inner, str):
                yield inner
                break


# --- scripts ----------------------------------------------------------------------------------


def scan_script(text: str) -> list[Found]:
    """URLs of media and playlists in one script (JSON or JavaScript), in the order they appear."""
    found: list[Found] = []
    seen: set[str] = set()
    for match in _QUOTED.finditer(text[:MAX_SCRIPT_CHARS]):
        raw = next(group for group in match.groups() if group is not None)
        if len(raw) < 4 or len(raw) > 4096 or ("/" not in raw and "\\" not in raw):
            continue
        value = _unescape(raw).strip()
        if not _looks_like_url(value):
            continue
        key_match = _KEY_BEFORE.search(text[max(0, match.start() - 48) : match.start()])
        key = key_match.group(1).lower() if key_match else ""
        hint = hint_for(value)
        if hint is None:
            # Without a media extension only a telling key counts, and only for a URL that is
            # plainly one (absolute or root-relative): "hls": "application/x-mpegURL" is a type.
            hint = _KEY_HINTS.get(key)
            if hint is None or not value.lower().startswith(("http://", "https://", "/")):
                continue
        if value in seen:
            continue
        seen.add(value)
        found.append(Found(value, f"script:{key}" if key else "script", main=hint != "image", hint=hint))
        if len(found) >= MAX_SCRIPT_URLS:
            break
    return found


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] == "u" and len(escape) == 5:
            return chr(int(escape[1:], 16))
        if escape[0] == "x" and len(escape) == 3:
            return chr(int(escape[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r"}.get(escape, escape)

    return _ESCAPES.sub(replace, raw)


def _looks_like_url(value: str) -> bool:
    if len(value) > 4096 or any(c.isspace() for c in value) or "<" in value or ">" in value:
        return False
    lowered = value.lower()
    if lowered.startswith(("http://", "https://", "//")):
        return True
    # Root-relative or relative paths: only with a media extension (checked by the caller's hint).
    return lowered.startswith(("/", "./", "../")) or ("/" in value and not lowered.startswith(("data:", "blob:")))
