"""Tell what a body is from its first bytes, because the Content-Type header is the sender's claim.

A hostile or careless server labels HTML as image/jpeg, a video as text/plain, or leaves the header
out. Hashing and extraction need to know what the bytes really are, and a mismatch between claim
and content is itself worth recording as evidence. Only formats the project handles are recognised
(still images, video containers, HTML); everything else is ``application/octet-stream`` of kind
``other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "video", "html", "other"]

#: How many leading bytes the fetcher collects before sniffing (the WHATWG sniffing window is 1445).
SNIFF_BYTES = 2048

UNKNOWN_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Sniffed:
    mime: str
    kind: Kind


_KINDS: dict[str, Kind] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/avif": "image",
    "image/heic": "image",
    "image/heif": "image",
    "image/bmp": "image",
    "image/tiff": "image",
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/3gpp": "video",
    "video/3gpp2": "video",
    "video/webm": "video",
    "video/x-matroska": "video",
    "video/x-msvideo": "video",
    "video/x-flv": "video",
    # Pieces of streamed video: an MPEG transport stream segment (HLS) and an ISO BMFF media
    # segment (fMP4 for HLS and DASH, starting with styp/moof/sidx instead of ftyp).
    "video/mp2t": "video",
    "video/iso.segment": "video",
    "text/html": "html",
}

#: Streaming playlists. They are text of kind "other" (small, capped like any other document); the
#: stream follower recognises them by these types, whatever the server declared.
HLS_PLAYLIST = "application/vnd.apple.mpegurl"
DASH_MANIFEST = "application/dash+xml"
PLAYLIST_TYPES = frozenset({HLS_PLAYLIST, DASH_MANIFEST})

# Declared types that name the same format as a sniffed one, so they are not reported as mismatches.
_ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "image/heic-sequence": "image/heic",
    "image/heif-sequence": "image/heif",
    "image/avif-sequence": "image/avif",
    "video/x-m4v": "video/mp4",
    "application/mp4": "video/mp4",
    "video/x-quicktime": "video/quicktime",
    "video/matroska": "video/x-matroska",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "application/xhtml+xml": "text/html",
    "application/x-mpegurl": HLS_PLAYLIST,
    "audio/mpegurl": HLS_PLAYLIST,
    "audio/x-mpegurl": HLS_PLAYLIST,
    "video/mpegts": "video/mp2t",
}

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_SEGMENT_BOXES = frozenset({b"styp", b"moof", b"sidx", b"emsg", b"prft"})
#: MPEG-TS packets are 188 bytes, each starting with the sync byte 0x47.
_TS_PACKET = 188
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

# WHATWG MIME sniffing "text/html" patterns (case-insensitive, after leading whitespace), plus a few
# tags real pages start with that the standard list leaves out.
_HTML_TAGS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<meta",
    b"<link",
)
_TAG_END = (b" ", b">", b"\t", b"\n", b"\r", b"\x0c")


def kind_of(mime: str) -> Kind:
    """The kind (image, video, html, other) of a MIME type, after resolving common aliases."""
    return _KINDS.get(normalise_mime(mime), "other")


def normalise_mime(value: str | None) -> str:
    """Lower-case MIME essence of a Content-Type value (parameters dropped), aliases resolved."""
    if not value:
        return ""
    essence = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(essence, essence)


def is_mismatch(declared: str | None, sniffed: Sniffed) -> bool:
    """Whether the declared Content-Type names a different format than the bytes are.

    A missing header is not a mismatch (there is no claim to contradict), it is recorded as None.
    """
    essence = normalise_mime(declared)
    if not essence:
        return False
    if essence == sniffed.mime:
        return False
    # HEIF is the container family HEIC and AVIF belong to; WebM is a subset of Matroska.
    related = {
        frozenset({"image/heif", "image/heic"}),
        frozenset({"image/heif", "image/avif"}),
        frozenset({"video/webm", "video/x-matroska"}),
        frozenset({"video/mp4", "video/quicktime"}),
        frozenset({"video/mp4", "video/iso.segment"}),
    }
    return frozenset({essence, sniffed.mime}) not in related


def sniff(data: bytes) -> Sniffed:
    """Identify ``data`` (the first bytes of a body, ideally ``SNIFF_BYTES`` of them) by signature."""
    mime = _sniff_mime(data)
    return Sniffed(mime=mime, kind=_KINDS.get(mime, "other"))


def _sniff_mime(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and len(data) >= 12:
        return {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}.get(data[8:12], UNKNOWN_TYPE)
    if data[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return _sniff_ebml(data)
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"BM") and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    if data.startswith(b"FLV\x01"):
        return "video/x-flv"
    if len(data) >= 8 and data[4:8] in _QUICKTIME_ATOMS and int.from_bytes(data[:4], "big") >= 8:
        return "video/quicktime"
    if len(data) >= 8 and data[4:8] in _SEGMENT_BOXES and int.from_bytes(data[:4], "big") >= 8:
        return "video/iso.segment"
    if _looks_like_transport_stream(data):
        return "video/mp2t"
    if _starts_with_text(data, b"#EXTM3U"):
        return HLS_PLAYLIST
    if _looks_like_html(data):
        return "text/html"
    if _starts_with_text(data, b"<") and b"<MPD" in data[:SNIFF_BYTES]:
        return DASH_MANIFEST
    return UNKNOWN_TYPE


def _looks_like_transport_stream(data: bytes) -> bool:
    """At least three 188-byte packets, every one in the window starting with the sync byte: one
    0x47 alone is the letter G."""
    positions = range(0, min(len(data), SNIFF_BYTES) - _TS_PACKET + 1, _TS_PACKET)
    return len(positions) >= 3 and all(data[i] == 0x47 for i in positions)


def _starts_with_text(data: bytes, prefix: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0c").startswith(prefix)


def _sniff_ftyp(data: bytes) -> str:
    """ISO base media files (MP4, MOV, 3GP, HEIF, AVIF) share the ftyp box; the brands tell them apart."""
    box_size = int.from_bytes(data[:4], "big")
    major = data[8:12]
    end = min(len(data), box_size if box_size >= 16 else 16)
    compatible = {data[i : i + 4] for i in range(16, end - 3, 4)}
    brands = {major, *compatible}
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return "image/avif"
    if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and brands & _HEIC_BRANDS):
        return "image/heic"
    if major in _HEIF_BRANDS:
        return "image/heif"
    if major == b"qt  ":
        return "video/quicktime"
    if major.startswith(b"3g2"):
        return "video/3gpp2"
    if major.startswith(b"3gp"):
        return "video/3gpp"
    if major in _AUDIO_BRANDS:
        return "audio/mp4"
    return "video/mp4"


def _sniff_ebml(data: bytes) -> str:
    """Matroska and WebM share the EBML header; its DocType element (0x4282) names which one."""
    index = data.find(b"\x42\x82", 4, 64)
    if index != -1:
        window = data[index + 2 : index + 16]
        if b"webm" in window:
            return "video/webm"
    return "video/x-matroska"


def _looks_like_html(data: bytes) -> bool:
    text = data
    for bom in (b"\xef\xbb\xbf",):
        if text.startswith(bom):
            text = text[len(bom) :]
    text = text.lstrip(b" \t\n\r\x0c")
    if text.startswith(b"<!--"):
        return True
    lowered = text[:32].lower()
    for tag in _HTML_TAGS:
        if lowered.startswith(tag):
            following = lowered[len(tag) : len(tag) + 1]
            if following in _TAG_END:
                return True
    if lowered.startswith(b"<?xml"):
        return b"<html" in text[:SNIFF_BYTES].lower()
    return False
