"""Content sniffing from the first bytes."""

from __future__ import annotations

import struct

import pytest

from takedown.fetching.sniff import Sniffed, is_mismatch, kind_of, sniff


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    payload = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(payload)) + b"ftyp" + payload + b"\x00\x00\x00\x08free"


def ebml(doctype: bytes) -> bytes:
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82" + bytes([0x80 | len(doctype)]) + doctype


@pytest.mark.parametrize(
    ("data", "mime", "kind"),
    [
        (b"\xff\xd8\xff\xdb" + bytes(10), "image/jpeg", "image"),
        (b"\x89PNG\r\n\x1a\n" + bytes(10), "image/png", "image"),
        (b"GIF89a" + bytes(10), "image/gif", "image"),
        (b"GIF87a" + bytes(10), "image/gif", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", "image"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo", "video"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "application/octet-stream", "other"),
        (ftyp(b"avif", b"mif1", b"miaf"), "image/avif", "image"),
        (ftyp(b"mif1", b"avif"), "image/avif", "image"),
        (ftyp(b"heic", b"mif1"), "image/heic", "image"),
        (ftyp(b"mif1", b"heic"), "image/heic", "image"),
        (ftyp(b"mif1"), "image/heif", "image"),
        (ftyp(b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4", "video"),
        (ftyp(b"mp42"), "video/mp4", "video"),
        (ftyp(b"qt  "), "video/quicktime", "video"),
        (ftyp(b"3gp5"), "video/3gpp", "video"),
        (ftyp(b"M4A "), "audio/mp4", "other"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x10mdat", "video/quicktime", "video"),
        (ebml(b"webm"), "video/webm", "video"),
        (ebml(b"matroska"), "video/x-matroska", "video"),
        (b"BM" + bytes(12) + struct.pack("<I", 40) + bytes(10), "image/bmp", "image"),
        (b"BMW is a car brand", "application/octet-stream", "other"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff", "image"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff", "image"),
        (b"  \n<!DOCTYPE html>\n<html>", "text/html", "html"),
        (b"\xef\xbb\xbf<html lang=en>", "text/html", "html"),
        (b"<!-- generated --><html>", "text/html", "html"),
        (b"<HEAD><title>x</title>", "text/html", "html"),
        (b"<meta charset=utf-8><title>x</title>", "text/html", "html"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "text/html", "html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "application/octet-stream", "other"),
        (b"<bogus>", "application/octet-stream", "other"),
        (b"hello world", "application/octet-stream", "other"),
        (b"", "application/octet-stream", "other"),
    ],
)
def test_signatures(data, mime, kind):
    assert sniff(data) == Sniffed(mime, kind)


@pytest.mark.parametrize(
    ("declared", "sniffed", "mismatch"),
    [
        (None, "image/png", False),
        ("", "image/png", False),
        ("image/png", "image/png", False),
        ("IMAGE/PNG; charset=binary", "image/png", False),
        ("image/jpg", "image/jpeg", False),
        ("image/pjpeg", "image/jpeg", False),
        ("application/xhtml+xml", "text/html", False),
        ("image/heif", "image/heic", False),
        ("video/webm", "video/x-matroska", False),
        ("image/jpeg", "text/html", True),
        ("text/html", "image/jpeg", True),
        ("application/octet-stream", "video/mp4", True),
    ],
)
def test_mismatch(declared, sniffed, mismatch):
    assert is_mismatch(declared, Sniffed(sniffed, kind_of(sniffed))) is mismatch


@pytest.mark.parametrize(
    ("data", "mime", "kind"),
    [
        ((b"\x47" + bytes(187)) * 11, "video/mp2t", "video"),
        (b"\x47" + bytes(400), "application/octet-stream", "other"),  # one sync byte is just a "G"
        (b"\x00\x00\x00\x18stypmsdh\x00\x00\x00\x00msdhmsix", "video/iso.segment", "video"),
        (b"\x00\x00\x03\xe8moof\x00\x00\x00\x10mfhd", "video/iso.segment", "video"),
        (b"\x00\x00\x00\x2csidx\x00\x00\x00\x00", "video/iso.segment", "video"),
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", "application/vnd.apple.mpegurl", "other"),
        (b"\xef\xbb\xbf  #EXTM3U\r\n", "application/vnd.apple.mpegurl", "other"),
        (b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', "application/dash+xml", "other"),
        (b"<MPD type='static'>", "application/dash+xml", "other"),
    ],
)
def test_stream_signatures(data, mime, kind):
    assert sniff(data) == Sniffed(mime, kind)


def test_stream_declared_types():
    assert not is_mismatch("video/MP2T", sniff((b"\x47" + bytes(187)) * 11))
    assert not is_mismatch("video/mp4", sniff(b"\x00\x00\x03\xe8moof\x00\x00\x00\x10mfhd"))
    assert not is_mismatch("application/x-mpegURL", sniff(b"#EXTM3U\n"))
