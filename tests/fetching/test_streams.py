"""Following streams against local servers: sampling, byte ranges, indexes, keys, DRM, limits, politeness."""

from __future__ import annotations

import itertools
import os
import struct
import time
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from takedown.fetching import FetchSession, MediaCandidate, fetch_media, follow_stream
from tests.fetching.conftest import local_policy
from tests.fetching.servers import LocalServer, MapResolver, Route, respond

HTML = {"Content-Type": "text/html"}


def ts_segment(number: int, packets: int = 20) -> bytes:
    """Bytes that sniff as an MPEG-TS segment, distinct per number."""
    return b"".join(b"\x47" + bytes([number % 256, p % 256]) + bytes(185) for p in range(packets))


def ranged(body: bytes) -> Route:
    """A route that honours Range requests (206 with Content-Range), as CDNs do."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        header = handler.headers.get("Range", "")
        if header.startswith("bytes="):
            first, _, last = header[6:].partition("-")
            start, end = int(first), min(int(last), len(body) - 1)
            piece = body[start : end + 1]
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        else:
            piece = body
            handler.send_response(200)
        handler.send_header("Content-Length", str(len(piece)))
        handler.end_headers()
        handler.wfile.write(piece)

    return route


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver({"site.test": ["127.0.0.1"], "cdn.site.test": ["127.0.0.1"]})


def playlist(entries: list[str], *, header: str = "") -> bytes:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:6", *([header] if header else [])]
    for entry in entries:
        lines += ["#EXTINF:6.0,", entry]
    return ("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n").encode()


def follow(server: LocalServer, resolver: MapResolver, path: str, **policy: object):
    candidate = MediaCandidate(f"http://site.test:{server.port}{path}", "test", hint="hls")
    settings: dict[str, object] = {"host_interval": 0.0}
    settings.update(policy)
    return follow_stream(FetchSession(local_policy(resolver, **settings)), candidate)


def test_a_sample_not_the_whole_video(server, resolver):
    server.routes["/v/index.m3u8"] = respond(200, playlist([f"s{i}.ts" for i in range(100)]))
    for i in range(100):
        server.routes[f"/v/s{i}.ts"] = respond(200, ts_segment(i))
    sample = follow(server, resolver, "/v/index.m3u8")
    assert sample.total_segments == 100 and sample.duration == 600.0
    assert len(sample.segments) == 12 == len(sample.fetched_segments)
    assert sum(1 for path in server.hits if path.startswith("/v/s")) == 12
    assert sample.bytes_fetched < 0.15 * 100 * len(ts_segment(0)) + 2000
    starts = [s.segment.start for s in sample.segments]
    assert starts[0] < 60 and starts[-1] > 540
    assert sample.decodable_pieces()[0] == ts_segment(sample.segments[0].segment.index)


def test_byte_ranges_with_and_without_server_support(server, resolver):
    whole = b"".join(ts_segment(i) for i in range(4))
    size = len(ts_segment(0))
    server.routes["/honours.ts"] = ranged(whole)
    server.routes["/ignores.ts"] = respond(200, whole)
    for name in ("honours", "ignores"):
        header = f"#EXT-X-BYTERANGE:{size}@0"
        entries = [f"{name}.ts"]
        lines = ["#EXTM3U", "#EXTINF:6,", header, entries[0]]
        for _ in range(3):
            lines += ["#EXTINF:6,", f"#EXT-X-BYTERANGE:{size}", entries[0]]
        server.routes[f"/{name}.m3u8"] = respond(200, ("\n".join([*lines, "#EXT-X-ENDLIST"])).encode())
        sample = follow(server, resolver, f"/{name}.m3u8")
        assert [s.data for s in sample.segments] == [ts_segment(i) for i in range(4)], name
    assert "range" in {k.lower() for k in server.requests[-1].headers}


def sidx_box(sizes: list[int], timescale: int = 1000, duration: int = 2000) -> bytes:
    body = struct.pack(">BBBBIIIIHH", 0, 0, 0, 0, 1, timescale, 0, 0, 0, len(sizes))
    for size in sizes:
        body += struct.pack(">III", size, duration, 0x90000000)
    return struct.pack(">I", 8 + len(body)) + b"sidx" + body


def test_dash_segment_base_is_read_through_its_index(server, resolver):
    init = struct.pack(">I", 24) + b"ftypiso6" + bytes(12)
    fragments = [struct.pack(">I", 1000) + b"moof" + bytes([i]) * 992 for i in range(6)]
    index = sidx_box([len(f) for f in fragments])
    file = init + index + b"".join(fragments)
    server.routes["/d/v.mp4"] = ranged(file)
    server.routes["/d/m.mpd"] = respond(
        200,
        f"""<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT12S">
<Period><AdaptationSet contentType="video"><Representation id="v" bandwidth="300000" width="640" height="360">
<BaseURL>v.mp4</BaseURL><SegmentBase indexRange="{len(init)}-{len(init) + len(index) - 1}">
<Initialization range="0-{len(init) - 1}"/></SegmentBase></Representation></AdaptationSet></Period></MPD>""".encode(),
    )
    sample = follow(server, resolver, "/d/m.mpd", max_stream_segments=3)
    assert sample.format == "dash" and sample.total_segments == 6
    assert [s.data for s in sample.segments] == [fragments[1], fragments[3], fragments[5]]
    assert sample.decodable_pieces()[1] == init + fragments[3]


def encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    plain = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(plain) + encryptor.finalize()


def test_aes_128_segments_are_decrypted(server, resolver):
    key = os.urandom(16)
    server.routes["/k/key"] = respond(200, key)
    server.routes["/k/short"] = respond(200, key[:8])
    explicit_iv = os.urandom(16)
    # The first two segments use the media sequence number as IV, the third an explicit IV.
    server.routes["/k/s0.ts"] = respond(200, encrypt(ts_segment(0), key, (7).to_bytes(16, "big")))
    server.routes["/k/s1.ts"] = respond(200, encrypt(ts_segment(1), key, (8).to_bytes(16, "big")))
    server.routes["/k/s2.ts"] = respond(200, encrypt(ts_segment(2), key, explicit_iv))
    server.routes["/k/s3.ts"] = respond(200, encrypt(ts_segment(3), key, explicit_iv))
    text = f"""#EXTM3U
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-KEY:METHOD=AES-128,URI="key"
#EXTINF:6,
s0.ts
#EXTINF:6,
s1.ts
#EXT-X-KEY:METHOD=AES-128,URI="key",IV=0x{explicit_iv.hex()}
#EXTINF:6,
s2.ts
#EXT-X-KEY:METHOD=AES-128,URI="short"
#EXTINF:6,
s3.ts
#EXT-X-ENDLIST
"""
    server.routes["/k/index.m3u8"] = respond(200, text.encode())
    sample = follow(server, resolver, "/k/index.m3u8")
    assert [s.data for s in sample.segments[:3]] == [ts_segment(0), ts_segment(1), ts_segment(2)]
    assert sample.segments[3].error is not None and sample.segments[3].error.reason == "bad_playlist"
    assert server.hits["/k/key"] == 1  # one key fetch for the segments that share it


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/p/a.m3u8", b'#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k"\n#EXTINF:6,\ns.ts\n#EXT-X-ENDLIST\n'),
        (
            "/p/b.mpd",
            b"""<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT6S"><Period>
<AdaptationSet contentType="video"><ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"/>
<Representation id="v" bandwidth="1" width="640" height="360"><SegmentTemplate media="$Number$.m4s" duration="6"/>
</Representation></AdaptationSet></Period></MPD>""",
        ),
    ],
)
def test_drm_is_reported_not_fetched(server, resolver, path, body):
    server.routes[path] = respond(200, body)
    result = fetch_media(f"http://site.test:{server.port}{path}", local_policy(resolver))
    [stream] = result.streams
    assert stream.error is not None and stream.error.reason == "protected_stream"
    assert server.total_hits == 1


@pytest.mark.parametrize(
    "body", [b"<html><body>not a playlist</body></html>", b"#EXTM3U\n#EXT-X-ENDLIST\n", b"\x00" * 5000]
)
def test_unreadable_playlists(server, resolver, body):
    server.routes["/page"] = respond(200, b'<!doctype html><video src="/x.m3u8"></video>', HTML)
    server.routes["/x.m3u8"] = respond(200, body)
    result = fetch_media(f"http://site.test:{server.port}/page", local_policy(resolver))
    [stream] = result.streams
    assert stream.error is not None and stream.error.reason == "bad_playlist"


def test_stream_byte_and_time_limits(server, resolver):
    server.routes["/v/index.m3u8"] = respond(200, playlist([f"s{i}.ts" for i in range(6)]))
    for i in range(6):
        server.routes[f"/v/s{i}.ts"] = respond(200, ts_segment(i, packets=100))
    segment = len(ts_segment(0, packets=100))
    sample = follow(server, resolver, "/v/index.m3u8", max_stream_bytes=3 * segment)
    reasons = [s.error.reason if s.error else "ok" for s in sample.segments]
    assert reasons[:2] == ["ok", "ok"] and set(reasons[3:]) == {"too_large"}

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.4)
        respond(200, ts_segment(9))(handler)

    for i in range(6):
        server.routes[f"/v/s{i}.ts"] = slow
    started = time.monotonic()
    sample = follow(server, resolver, "/v/index.m3u8", stream_timeout=1.0)
    assert time.monotonic() - started < 2.0
    reasons = [s.error.reason if s.error else "ok" for s in sample.segments]
    assert "ok" in reasons and reasons[-1] == "timeout"


def test_requests_to_one_host_are_spaced(server, resolver):
    times: list[float] = []

    def timed(handler: BaseHTTPRequestHandler) -> None:
        times.append(time.monotonic())
        respond(200, ts_segment(1))(handler)

    server.routes["/v/index.m3u8"] = respond(200, playlist([f"s{i}.ts" for i in range(5)]))
    for i in range(5):
        server.routes[f"/v/s{i}.ts"] = timed
    follow(server, resolver, "/v/index.m3u8", host_interval=0.2)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 4 and min(gaps) >= 0.18


def test_playlists_found_in_every_way_and_the_stream_limit(server, resolver):
    server.routes["/s.m3u8"] = respond(200, playlist(["a.ts"]))
    server.routes["/a.ts"] = respond(200, ts_segment(1))
    server.routes["/nameless"] = respond(200, playlist(["a.ts"]), {"Content-Type": "application/octet-stream"})
    direct = fetch_media(f"http://site.test:{server.port}/s.m3u8", local_policy(resolver))
    assert [(s.candidate.source, s.candidate.how) for s in direct.streams] == [("direct", "direct")]
    assert [m.how for m in direct.found] == ["playlist"]
    # A <video src> without an extension is fetched as a video, sniffed, and followed as a stream.
    server.routes["/p1"] = respond(200, b'<!doctype html><video src="/nameless"></video>', HTML)
    nameless = fetch_media(f"http://site.test:{server.port}/p1", local_policy(resolver))
    assert [s.candidate.url.rsplit("/", 1)[1] for s in nameless.streams if s.sample] == ["nameless"]
    assert nameless.outcomes == ()
    server.routes["/p2"] = respond(
        200, b"<!doctype html>" + b"".join(f'<video src="/s.m3u8?v={i}"></video>'.encode() for i in range(4)), HTML
    )
    limited = fetch_media(f"http://site.test:{server.port}/p2", local_policy(resolver, max_streams=2))
    assert len(limited.streams) == 2
    assert [p.reason for p in limited.partial] == ["stream_limit"]
