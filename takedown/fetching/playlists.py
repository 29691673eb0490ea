"""Read HLS playlists and DASH manifests, pick a rendition, and choose which segments to sample.

Most video on tube sites is streamed: the page's player loads a playlist (HLS ``.m3u8``) or a
manifest (DASH ``.mpd``) that lists renditions (the same video at several sizes) and, for each,
the short segments it is cut into. This module is the parsing half, without network: it turns the
text into absolute segment URLs (with byte ranges, initialization segments and keys where the
stream uses them) so :mod:`takedown.fetching.streams` can fetch a bounded sample through the
fetcher. Everything here is bounded: a hostile playlist can list millions of segments, so
expansion stops at ``MAX_SEGMENTS``.

Only what matching needs is read: video renditions, their sizes and bandwidths, segment timing.
Audio and subtitle tracks, ad markers and DRM details are skipped; a rendition protected by DRM
(SAMPLE-AES, ``ContentProtection``) is marked so the caller can say it could not be read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

#: Segments expanded from one playlist at most (two hours of 1-second segments is 7,200).
MAX_SEGMENTS = 50_000
#: Renditions read from one master playlist or manifest.
MAX_RENDITIONS = 64
#: Lines read from one HLS playlist.
MAX_LINES = 200_000

StreamFormat = Literal["hls", "dash"]

_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "vorbis", "mp3", "dtsc", "alac")
_VIDEO_CODECS = ("avc", "hvc", "hev", "vp8", "vp08", "vp9", "vp09", "av01", "dvh", "dva", "mp4v")
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_TEMPLATE = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth|SubNumber)(%0(\d{1,2})d)?\$|\$\$")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class PlaylistError(ValueError):
    """The text is not a playlist or manifest this module can read; the message says why."""


@dataclass(frozen=True)
class Key:
    """How a segment is encrypted. ``AES-128`` (whole segment, CBC) can be decrypted with the key
    at ``uri``; anything else (SAMPLE-AES, DASH ``cenc``) is DRM and cannot."""

    method: str
    uri: str | None = None
    iv: bytes | None = None

    @property
    def decryptable(self) -> bool:
        return self.method == "AES-128" and self.uri is not None


@dataclass(frozen=True)
class Segment:
    """One piece of the stream: where it is, when it plays, and what is needed to decode it."""

    url: str
    index: int
    start: float
    duration: float
    #: (first, last) byte inclusive, when the segment is a range of a larger file.
    byte_range: tuple[int, int] | None = None
    #: The initialization segment (fMP4: ``ftyp`` + ``moov``) that must precede this one to decode it.
    init: Segment | None = None
    key: Key | None = None
    #: HLS media sequence number (the default AES-128 IV).
    sequence: int = 0


@dataclass(frozen=True)
class Rendition:
    """One encoding of the video on offer. For HLS ``uri`` is its media playlist; for DASH the
    segments are already known (``playlist``)."""

    uri: str
    bandwidth: int | None = None
    width: int | None = None
    height: int | None = None
    codecs: str = ""
    id: str = ""
    playlist: MediaPlaylist | None = None
    #: DRM scheme (``cenc``, ``SAMPLE-AES`` ...) when the rendition is protected.
    drm: str | None = None

    @property
    def short_side(self) -> int | None:
        if self.width and self.height:
            return min(self.width, self.height)
        return self.height or self.width

    @property
    def label(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "unknown size"
        rate = f", {self.bandwidth // 1000} kbit/s" if self.bandwidth else ""
        return f"{size}{rate}"


@dataclass(frozen=True)
class MediaPlaylist:
    """The segments of one rendition, in order."""

    segments: tuple[Segment, ...]
    duration: float
    live: bool = False
    #: DASH SegmentBase: the rendition is one file whose segment index (``sidx``) is at this byte
    #: range; the segments are known only after reading it (``streams`` does).
    index_url: str | None = None
    index_range: tuple[int, int] | None = None
    init: Segment | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Manifest:
    """A master playlist or manifest: the renditions on offer."""

    format: StreamFormat
    renditions: tuple[Rendition, ...]
    live: bool = False
    notes: tuple[str, ...] = field(default=())


# --- HLS --------------------------------------------------------------------------------------


def parse_hls(text: str, base_url: str) -> Manifest | MediaPlaylist:
    """A master playlist (renditions) or a media playlist (segments), URLs made absolute."""
    lines = [line.strip() for line in text.splitlines()[:MAX_LINES]]
    lines = [line for line in lines if line]
    if not lines or not lines[0].lstrip("\ufeff").startswith("#EXTM3U"):
        raise PlaylistError("The text is not an HLS playlist (no #EXTM3U).")
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        return _parse_hls_master(lines, base_url)
    return _parse_hls_media(lines, base_url)


def _attributes(text: str) -> dict[str, str]:
    return {name: value.strip('"') for name, value in _ATTRIBUTE.findall(text)}


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 16 else None


def _parse_hls_master(lines: list[str], base_url: str) -> Manifest:
    renditions: list[Rendition] = []
    pending: dict[str, str] | None = None
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = _attributes(line.partition(":")[2])
        elif line.startswith("#"):
            continue
        elif pending is not None:
            width = height = None
            resolution = pending.get("RESOLUTION", "")
            if "x" in resolution:
                w, _, h = resolution.partition("x")
                width, height = _int(w), _int(h)
            renditions.append(
                Rendition(
                    uri=urljoin(base_url, line),
                    bandwidth=_int(pending.get("AVERAGE-BANDWIDTH")) or _int(pending.get("BANDWIDTH")),
                    width=width,
                    height=height,
                    codecs=pending.get("CODECS", ""),
                )
            )
            pending = None
            if len(renditions) >= MAX_RENDITIONS:
                break
    if not renditions:
        raise PlaylistError("The HLS master playlist lists no renditions.")
    return Manifest(format="hls", renditions=tuple(renditions))


def _byte_range(spec: str, next_offset: int) -> tuple[int, int] | None:
    """``n[@o]`` -> (first, last); without ``@o`` the range starts at ``next_offset``."""
    parsed = _range_spec(spec)
    if parsed is None:
        return None
    length, offset = parsed
    first = next_offset if offset is None else offset
    return first, first + length - 1


def _range_spec(spec: str) -> tuple[int, int | None] | None:
    length_text, at, offset_text = spec.strip().strip('"').partition("@")
    length = _int(length_text)
    offset = _int(offset_text) if at else None
    if not length or (at and offset is None):
        return None
    return length, offset


def _parse_hls_media(lines: list[str], base_url: str) -> MediaPlaylist:
    segments: list[Segment] = []
    start = 0.0
    duration: float | None = None
    range_spec: tuple[int, int | None] | None = None
    next_offset: dict[str, int] = {}
    init: Segment | None = None
    key: Key | None = None
    sequence = 0
    ended = False
    truncated = False
    for line in lines:
        if line.startswith("#EXTINF:"):
            value = line.partition(":")[2].partition(",")[0].strip()
            try:
                duration = max(float(value), 0.0)
            except ValueError:
                duration = None
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = _int(line.partition(":")[2]) or 0
        elif line.startswith("#EXT-X-BYTERANGE:"):
            range_spec = _range_spec(line.partition(":")[2])
        elif line.startswith("#EXT-X-MAP:"):
            attrs = _attributes(line.partition(":")[2])
            if "URI" in attrs:
                map_range = _byte_range(attrs["BYTERANGE"], 0) if "BYTERANGE" in attrs else None
                init = Segment(
                    url=urljoin(base_url, attrs["URI"]), index=-1, start=0.0, duration=0.0, byte_range=map_range
                )
        elif line.startswith("#EXT-X-KEY:"):
            attrs = _attributes(line.partition(":")[2])
            method = attrs.get("METHOD", "NONE").upper()
            if method == "NONE":
                key = None
            else:
                iv_text = attrs.get("IV", "")
                iv = bytes.fromhex(iv_text[2:].rjust(32, "0")) if _is_hex_iv(iv_text) else None
                uri = urljoin(base_url, attrs["URI"]) if attrs.get("URI") else None
                key = Key(method=method, uri=uri, iv=iv)
        elif line.startswith("#EXT-X-ENDLIST"):
            ended = True
        elif line.startswith("#"):
            continue
        else:
            url = urljoin(base_url, line)
            byte_range: tuple[int, int] | None = None
            if range_spec is not None:
                # A range without "@offset" continues where the previous range of this file ended.
                length, offset = range_spec
                first = next_offset.get(url, 0) if offset is None else offset
                byte_range = (first, first + length - 1)
                next_offset[url] = first + length
            length_s = duration if duration is not None else 0.0
            segments.append(
                Segment(
                    url=url,
                    index=len(segments),
                    start=start,
                    duration=length_s,
                    byte_range=byte_range,
                    init=init,
                    key=key,
                    sequence=sequence + len(segments),
                )
            )
            start += length_s
            duration = None
            range_spec = None
            if len(segments) >= MAX_SEGMENTS:
                truncated = True
                break
    if not segments:
        raise PlaylistError("The HLS playlist lists no segments.")
    return MediaPlaylist(segments=tuple(segments), duration=start, live=not ended, init=init, truncated=truncated)


def _is_hex_iv(text: str) -> bool:
    return text[:2].lower() == "0x" and 0 < len(text) - 2 <= 32 and all(c in "0123456789abcdefABCDEF" for c in text[2:])


# --- DASH -------------------------------------------------------------------------------------


def parse_iso_duration(text: str | None) -> float | None:
    """Seconds in an ISO 8601 duration as DASH writes them (``PT1H2M3.5S``, ``P1DT2H``)."""
    if not text:
        return None
    match = _ISO_DURATION.match(text.strip())
    if match is None:
        return None
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return (
        parts.get("days", 0.0) * 86400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    found = _children(element, name)
    return found[0] if found else None


def _base(element: Element, base_url: str) -> str:
    child = _child(element, "BaseURL")
    if child is not None and child.text and child.text.strip():
        return urljoin(base_url, child.text.strip())
    return base_url


def parse_dash(text: str, base_url: str) -> Manifest:
    """The video renditions of a DASH manifest with their segments (or their index, for
    SegmentBase), from the longest period. DTDs and entities are refused (defusedxml)."""
    try:
        root = SafeET.fromstring(text, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise PlaylistError(f"The DASH manifest is not readable XML ({type(exc).__name__}).") from exc
    if _local(root.tag) != "MPD":
        raise PlaylistError("The document is not a DASH manifest (no MPD element).")
    live = root.get("type", "static") == "dynamic"
    mpd_base = _base(root, base_url)
    total = parse_iso_duration(root.get("mediaPresentationDuration"))
    periods = _children(root, "Period")
    if not periods:
        raise PlaylistError("The DASH manifest has no period.")
    period = max(periods, key=lambda p: parse_iso_duration(p.get("duration")) or 0.0)
    period_duration = parse_iso_duration(period.get("duration")) or total
    period_base = _base(period, mpd_base)
    renditions: list[Rendition] = []
    notes: list[str] = []
    for adaptation in _children(period, "AdaptationSet"):
        if not _is_video(adaptation, None):
            continue
        set_base = _base(adaptation, period_base)
        set_drm = _drm(adaptation)
        for representation in _children(adaptation, "Representation"):
            if not _is_video(adaptation, representation):
                continue
            rep_base = _base(representation, set_base)
            rep_id = representation.get("id", "")
            bandwidth = _int(representation.get("bandwidth"))
            try:
                playlist = _dash_segments(
                    [representation, adaptation, period], rep_base, rep_id, bandwidth, period_duration
                )
            except PlaylistError as exc:
                notes.append(f"{rep_id or 'representation'}: {exc}")
                continue
            renditions.append(
                Rendition(
                    uri=rep_base,
                    bandwidth=bandwidth,
                    width=_int(representation.get("width") or adaptation.get("width")),
                    height=_int(representation.get("height") or adaptation.get("height")),
                    codecs=representation.get("codecs") or adaptation.get("codecs") or "",
                    id=rep_id,
                    playlist=replace(playlist, live=live),
                    drm=_drm(representation) or set_drm,
                )
            )
            if len(renditions) >= MAX_RENDITIONS:
                break
    if not renditions:
        detail = f" ({'; '.join(notes[:3])})" if notes else ""
        raise PlaylistError(f"The DASH manifest has no video rendition that can be read{detail}.")
    return Manifest(format="dash", renditions=tuple(renditions), live=live, notes=tuple(notes))


def _is_video(adaptation: Element, representation: Element | None) -> bool:
    for element in (representation, adaptation):
        if element is None:
            continue
        content = element.get("contentType") or ""
        mime = element.get("mimeType") or ""
        if content:
            return content == "video"
        if mime:
            return mime.startswith("video/")
        codecs = (element.get("codecs") or "").lower()
        if codecs:
            return codecs.startswith(_VIDEO_CODECS)
    # Neither says: an adaptation set with width/height is video; without, assume video when no
    # other hint exists (the representation check decides).
    return representation is None or adaptation.get("width") is not None or representation.get("width") is not None


def _drm(element: Element) -> str | None:
    for protection in _children(element, "ContentProtection"):
        scheme = protection.get("value") or protection.get("schemeIdUri") or "drm"
        return scheme
    return None


def _inherited(levels: Sequence[Element], name: str) -> Element | None:
    """The closest SegmentTemplate/SegmentList/SegmentBase, Representation first."""
    for level in levels:
        found = _child(level, name)
        if found is not None:
            return found
    return None


def _attr(elements: Sequence[Element | None], name: str) -> str | None:
    for element in elements:
        if element is not None and element.get(name) is not None:
            return element.get(name)
    return None


def _fill(template: str, rep_id: str, bandwidth: int | None, number: int | None, time: int | None) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, width = match.group(1), match.group(3)
        value: object = {
            "RepresentationID": rep_id,
            "Number": number,
            "Time": time,
            "Bandwidth": bandwidth,
            "SubNumber": 0,
        }[name]
        if value is None:
            raise PlaylistError(f"The segment template uses ${name}$, which this manifest does not give.")
        if width and isinstance(value, int):
            return str(value).zfill(int(width))
        return str(value)

    return _TEMPLATE.sub(sub, template)


def _timeline(timeline: Element, period_duration: float | None, timescale: int) -> Iterator[tuple[int, int]]:
    """(start time, duration) pairs of a SegmentTimeline, in the template's timescale."""
    entries = _children(timeline, "S")
    time = 0
    produced = 0
    for position, entry in enumerate(entries):
        start = _int(entry.get("t"))
        if start is not None:
            time = start
        length = _int(entry.get("d"))
        if not length:
            raise PlaylistError("A SegmentTimeline entry has no duration.")
        repeat_text = entry.get("r", "0").strip()
        if repeat_text == "-1" or repeat_text.startswith("-"):
            # Repeat until the next entry's start, or the end of the period.
            following = _int(entries[position + 1].get("t")) if position + 1 < len(entries) else None
            end = following if following is not None else (period_duration or 0.0) * timescale
            repeat = max(math.ceil((end - time) / length) - 1, 0)
        else:
            repeat = _int(repeat_text) or 0
        for _ in range(repeat + 1):
            yield time, length
            time += length
            produced += 1
            if produced >= MAX_SEGMENTS:
                return


def _dash_segments(
    levels: Sequence[Element], base: str, rep_id: str, bandwidth: int | None, period_duration: float | None
) -> MediaPlaylist:
    template = _inherited(levels, "SegmentTemplate")
    if template is not None:
        return _from_template(template, levels, base, rep_id, bandwidth, period_duration)
    segment_list = _inherited(levels, "SegmentList")
    if segment_list is not None:
        return _from_list(segment_list, base, period_duration)
    segment_base = _inherited(levels, "SegmentBase")
    if segment_base is not None:
        index = _range(segment_base.get("indexRange"))
        init_element = _child(segment_base, "Initialization")
        init_range = _range(init_element.get("range")) if init_element is not None else None
        if index is None:
            raise PlaylistError("SegmentBase without an indexRange.")
        init = Segment(url=base, index=-1, start=0.0, duration=0.0, byte_range=init_range) if init_range else None
        return MediaPlaylist(segments=(), duration=period_duration or 0.0, index_url=base, index_range=index, init=init)
    # A bare BaseURL: the rendition is one whole file (progressive download).
    return MediaPlaylist(
        segments=(Segment(url=base, index=0, start=0.0, duration=period_duration or 0.0),),
        duration=period_duration or 0.0,
    )


def _range(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    a, b = _int(first), _int(last)
    if a is None or b is None or b < a:
        return None
    return a, b


def _from_template(
    template: Element,
    levels: Sequence[Element],
    base: str,
    rep_id: str,
    bandwidth: int | None,
    period_duration: float | None,
) -> MediaPlaylist:
    # Attributes of SegmentTemplate elements at outer levels are inherited too.
    outer = [_child(level, "SegmentTemplate") for level in levels]
    chain = [template, *[t for t in outer if t is not None and t is not template]]
    timescale = _int(_attr(chain, "timescale")) or 1
    start_number = _int(_attr(chain, "startNumber"))
    start_number = 1 if start_number is None else start_number
    offset = _int(_attr(chain, "presentationTimeOffset")) or 0
    media = _attr(chain, "media")
    if not media:
        raise PlaylistError("SegmentTemplate without a media template.")
    init_template = _attr(chain, "initialization")
    init = None
    if init_template:
        init_url = urljoin(base, _fill(init_template, rep_id, bandwidth, None, None))
        init = Segment(url=init_url, index=-1, start=0.0, duration=0.0)
    segments: list[Segment] = []
    timeline = next((t for t in (_child(c, "SegmentTimeline") for c in chain) if t is not None), None)
    if timeline is not None:
        for position, (time, length) in enumerate(_timeline(timeline, period_duration, timescale)):
            url = urljoin(base, _fill(media, rep_id, bandwidth, start_number + position, time))
            segments.append(
                Segment(
                    url=url,
                    index=position,
                    start=(time - offset) / timescale,
                    duration=length / timescale,
                    init=init,
                )
            )
    else:
        fixed = _int(_attr(chain, "duration"))
        if not fixed:
            raise PlaylistError("SegmentTemplate with neither a duration nor a timeline.")
        length = fixed
        if not period_duration:
            raise PlaylistError("A live manifest without a duration is not sampled.")
        count = min(math.ceil(period_duration * timescale / length - 1e-9), MAX_SEGMENTS)
        for position in range(count):
            url = urljoin(base, _fill(media, rep_id, bandwidth, start_number + position, position * length))
            segments.append(
                Segment(
                    url=url, index=position, start=position * length / timescale, duration=length / timescale, init=init
                )
            )
    if not segments:
        raise PlaylistError("The segment template gives no segments.")
    last = segments[-1]
    return MediaPlaylist(
        segments=tuple(segments),
        duration=last.start + last.duration,
        init=init,
        truncated=len(segments) >= MAX_SEGMENTS,
    )


def _from_list(segment_list: Element, base: str, period_duration: float | None) -> MediaPlaylist:
    timescale = _int(segment_list.get("timescale")) or 1
    length = _int(segment_list.get("duration"))
    init_element = _child(segment_list, "Initialization")
    init = None
    if init_element is not None and (init_element.get("sourceURL") or init_element.get("range")):
        init = Segment(
            url=urljoin(base, init_element.get("sourceURL") or ""),
            index=-1,
            start=0.0,
            duration=0.0,
            byte_range=_range(init_element.get("range")),
        )
    entries = _children(segment_list, "SegmentURL")[:MAX_SEGMENTS]
    if not entries:
        raise PlaylistError("SegmentList without segments.")
    default = (length / timescale) if length else ((period_duration or 0.0) / len(entries))
    segments = tuple(
        Segment(
            url=urljoin(base, entry.get("media") or ""),
            index=position,
            start=position * default,
            duration=default,
            byte_range=_range(entry.get("mediaRange")),
            init=init,
        )
        for position, entry in enumerate(entries)
    )
    return MediaPlaylist(segments=segments, duration=len(segments) * default, init=init)


# --- sidx (DASH SegmentBase) ------------------------------------------------------------------


def parse_sidx(data: bytes, url: str, index_range: tuple[int, int], init: Segment | None) -> MediaPlaylist:
    """Segments of a single-file rendition from its segment index box (ISO/IEC 14496-12 8.16.3).

    ``data`` is the bytes of ``index_range``; offsets in the box are counted from the end of the
    box itself, which is where ``index_range`` ends.
    """
    position = 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        box = data[position + 4 : position + 8]
        if size < 8:
            break
        if box == b"sidx":
            return _read_sidx(data[position : position + size], url, index_range[0] + position + size, init)
        position += size
    raise PlaylistError("The segment index (sidx) was not found where the manifest said.")


def _read_sidx(box: bytes, url: str, anchor: int, init: Segment | None) -> MediaPlaylist:
    if len(box) < 32:
        raise PlaylistError("The segment index (sidx) is truncated.")
    version = box[8]
    timescale = int.from_bytes(box[16:20], "big") or 1
    if version == 0:
        earliest = int.from_bytes(box[20:24], "big")
        first_offset = int.from_bytes(box[24:28], "big")
        cursor = 28
    else:
        earliest = int.from_bytes(box[20:28], "big")
        first_offset = int.from_bytes(box[28:36], "big")
        cursor = 36
    count = int.from_bytes(box[cursor + 2 : cursor + 4], "big")
    cursor += 4
    offset = anchor + first_offset
    time = earliest
    segments: list[Segment] = []
    for index in range(min(count, MAX_SEGMENTS)):
        if cursor + 12 > len(box):
            break
        word = int.from_bytes(box[cursor : cursor + 4], "big")
        duration = int.from_bytes(box[cursor + 4 : cursor + 8], "big")
        cursor += 12
        size = word & 0x7FFFFFFF
        if word >> 31:
            # A reference to another sidx (hierarchical index): not followed, the range is skipped.
            offset += size
            time += duration
            continue
        segments.append(
            Segment(
                url=url,
                index=index,
                start=time / timescale,
                duration=duration / timescale,
                byte_range=(offset, offset + size - 1),
                init=init,
            )
        )
        offset += size
        time += duration
    if not segments:
        raise PlaylistError("The segment index (sidx) lists no media segments.")
    last = segments[-1]
    return MediaPlaylist(segments=tuple(segments), duration=last.start + last.duration, init=init)


# --- choices ----------------------------------------------------------------------------------


def is_audio_only(rendition: Rendition) -> bool:
    codecs = [c.strip().lower() for c in rendition.codecs.split(",") if c.strip()]
    return bool(codecs) and all(c.startswith(_AUDIO_CODECS) for c in codecs)


def choose_rendition(renditions: Sequence[Rendition], *, min_short_side: int) -> Rendition:
    """The cheapest rendition that still gives useful frames.

    PDQ reduces every frame to 64x64 after a 512-pixel working size, so frames need not be large,
    but below about 240 lines faces and text blur into each other and near-duplicates stop being
    told apart. So: the smallest rendition whose short side is at least ``min_short_side``; if none
    is that large, the largest there is; when sizes are not given, the lowest bandwidth above
    250 kbit/s (about 240p in H.264), else the highest.
    """
    usable = [r for r in renditions if not is_audio_only(r) and r.drm is None] or [
        r for r in renditions if not is_audio_only(r)
    ]
    if not usable:
        raise PlaylistError("The stream offers audio only.")
    sized = [r for r in usable if r.short_side]
    if sized:
        large_enough = [r for r in sized if (r.short_side or 0) >= min_short_side]
        if large_enough:
            return min(large_enough, key=lambda r: ((r.short_side or 0), r.bandwidth or 0))
        return max(sized, key=lambda r: ((r.short_side or 0), r.bandwidth or 0))
    rated = [r for r in usable if r.bandwidth]
    if rated:
        above = [r for r in rated if (r.bandwidth or 0) >= 250_000]
        if above:
            return min(above, key=lambda r: r.bandwidth or 0)
        return max(rated, key=lambda r: r.bandwidth or 0)
    return usable[0]


def sample_segments(segments: Sequence[Segment], count: int) -> list[Segment]:
    """``count`` segments spread evenly over the whole stream (the middle of each equal part), so
    the sample covers the beginning, the middle and the end without fetching everything."""
    if count <= 0:
        return []
    if len(segments) <= count:
        return list(segments)
    total = len(segments)
    chosen = sorted({int((part + 0.5) * total / count) for part in range(count)})
    return [segments[index] for index in chosen]
