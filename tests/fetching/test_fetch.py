"""The fetcher against local servers: what works, and every way it must refuse or give up.

"Public" hosts are simulated by mapping test names to 127.0.0.1 through the injected resolver,
with ``allow_loopback=True``; there is no DNS server these tests control.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import socket
import time
import zlib
from datetime import UTC
from http.server import BaseHTTPRequestHandler

import pytest

from takedown.fetching import (
    DEFAULT_USER_AGENT,
    FetchError,
    FetchPolicy,
    ForbiddenAddress,
    HttpStatusError,
    TooLarge,
    UnexpectedType,
    fetch,
)
from tests.fetching.conftest import local_policy
from tests.fetching.servers import LocalServer, MapResolver, RawServer, Route, redirect, respond, stream

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(3000)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(3000)
HTML = b"<!doctype html><html><head><title>x</title></head><body>" + b"<p>hello</p>" * 300 + b"</body></html>"
MIB = 1024 * 1024


def media_url(server: LocalServer, path: str, host: str = "media.test") -> str:
    return server.url(path, host=host)


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver(
        {
            "media.test": ["127.0.0.1"],
            "cdn.media.test": ["127.0.0.1"],
            "private.test": ["10.0.0.1"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": ["127.0.0.1", "10.0.0.1"],
            "mixed-v6.test": ["127.0.0.1", "::ffff:10.0.0.1"],
            "rebind.test": ["127.0.0.1"],
        }
    )


# --- success ------------------------------------------------------------------------------------


def test_fetch_returns_evidence(server, resolver, no_system_dns):
    server.routes["/a.png"] = respond(200, PNG, {"Content-Type": "image/png", "ETag": '"abc"', "Set-Cookie": "s=1"})
    result = fetch(media_url(server, "/a.png"), local_policy(resolver))
    assert result.status == 200
    assert result.body == PNG
    assert result.size == len(PNG)
    assert result.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (result.sniffed_type, result.kind, result.type_mismatch) == ("image/png", "image", False)
    assert result.declared_type == "image/png"
    assert result.pinned_ip == "127.0.0.1"
    assert result.final_url == result.requested_url == media_url(server, "/a.png")
    assert result.redirect_chain == ()
    assert result.headers["etag"] == '"abc"'
    assert "set-cookie" not in result.headers
    assert result.fetched_at.tzinfo is UTC
    assert 0 <= result.elapsed < 5
    sent = server.requests[-1].headers
    assert sent["host"] == f"media.test:{server.port}"
    assert sent["user-agent"] == DEFAULT_USER_AGENT
    assert sent["accept-encoding"] == "identity"
    assert resolver.calls == ["media.test"]


def test_user_agent_is_configurable(server, resolver):
    server.routes["/a.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    fetch(media_url(server, "/a.png"), local_policy(resolver, user_agent="TakedownBot-Test/9"))
    assert server.requests[-1].headers["user-agent"] == "TakedownBot-Test/9"


def test_loopback_is_refused_by_default(server, connections):
    server.routes["/a.png"] = respond(200, PNG)
    resolver = MapResolver({"media.test": ["127.0.0.1"]})
    for url in (server.url("/a.png"), media_url(server, "/a.png"), server.url("/a.png", host="[::1]")):
        with pytest.raises(ForbiddenAddress) as caught:
            fetch(url, FetchPolicy(allowed_ports=None, resolver=resolver))
        assert caught.value.reason == "forbidden_address"
        assert caught.value.category == "loopback"
    assert server.total_hits == 0
    assert connections == []


def test_environment_proxies_are_ignored(server, resolver, monkeypatch):
    proxy = LocalServer()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        server.routes["/a.png"] = respond(200, PNG)
        fetch(media_url(server, "/a.png"), local_policy(resolver))
        assert server.hits["/a.png"] == 1
        assert proxy.total_hits == 0
    finally:
        proxy.close()


# --- resolution and pinning ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("private.test", "10.0.0.1"),
        ("metadata.test", "169.254.169.254"),
        ("mixed.test", "10.0.0.1"),
        ("mixed-v6.test", "::ffff:10.0.0.1"),
    ],
)
def test_names_resolving_to_forbidden_addresses_are_refused(server, resolver, connections, host, address):
    server.routes["/a.png"] = respond(200, PNG)
    with pytest.raises(ForbiddenAddress) as caught:
        fetch(media_url(server, "/a.png", host=host), local_policy(resolver))
    assert caught.value.reason == "forbidden_address"
    assert ipaddress.ip_address(caught.value.address) == ipaddress.ip_address(address)
    assert server.total_hits == 0
    assert connections == []


def test_connection_is_pinned_to_the_checked_address(server, no_system_dns, connections):
    """A resolver that answers differently the second time (DNS rebinding) is asked only once."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["169.254.169.254"]])
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)
        return next(answers)

    server.routes["/start"] = redirect("/again")
    server.routes["/again"] = redirect(media_url(server, "/a.png", host="rebind.test"))
    server.routes["/a.png"] = respond(200, PNG)
    result = fetch(media_url(server, "/start", host="rebind.test"), local_policy(rebinding))
    assert result.status == 200
    assert calls == ["rebind.test"]
    assert {address[0] for address in connections} == {"127.0.0.1"}
    assert len(result.redirect_chain) == 2


def test_resolver_failures(server):
    def nxdomain(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def servfail(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    for resolver, transient in ((nxdomain, False), (servfail, True)):
        with pytest.raises(FetchError) as caught:
            fetch("http://media.test/", local_policy(resolver))
        assert caught.value.reason == "dns_failure"
        assert caught.value.transient is transient
    with pytest.raises(FetchError) as caught:
        fetch("http://media.test/", local_policy(MapResolver({"media.test": []})))
    assert caught.value.reason == "dns_failure"
    with pytest.raises(FetchError) as caught:
        fetch("http://media.test/", local_policy(MapResolver({"media.test": ["not-an-ip"]})))
    assert caught.value.reason == "dns_failure"


def test_slow_resolver_hits_the_total_timeout():
    def slow(host: str) -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch("http://media.test/", local_policy(slow, total_timeout=0.3))
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_transient(resolver):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://media.test:{port}/", local_policy(resolver))
    assert caught.value.reason == "connection_error"
    assert caught.value.transient


# --- redirects ----------------------------------------------------------------------------------


def test_redirects_are_followed_and_recorded(server, resolver):
    server.routes["/short"] = redirect(media_url(server, "/post", host="cdn.media.test"), 301)
    server.routes["/post"] = redirect("/a.png", 307)
    server.routes["/a.png"] = respond(200, PNG)
    result = fetch(media_url(server, "/short"), local_policy(resolver))
    assert [(hop.url, hop.status) for hop in result.redirect_chain] == [
        (media_url(server, "/short"), 301),
        (media_url(server, "/post", host="cdn.media.test"), 307),
    ]
    assert result.final_url == media_url(server, "/a.png", host="cdn.media.test")
    assert server.requests[-1].headers["host"] == f"cdn.media.test:{server.port}"


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "forbidden_address"),
        ("http://10.0.0.1/", "forbidden_address"),
        ("http://[::ffff:169.254.169.254]/", "forbidden_address"),
        ("http://0xa9fea9fe/", "forbidden_address"),
        ("http://private.test/", "forbidden_address"),
        ("//metadata.test/", "forbidden_address"),
        ("file:///etc/passwd", "bad_scheme"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "bad_scheme"),
        ("http://evil@127.0.0.1/", "userinfo"),
        ("http://localhost/", "forbidden_address"),
    ],
)
def test_redirects_into_forbidden_space_are_refused(server, resolver, connections, location, reason):
    server.routes["/r"] = redirect(location)
    policy = local_policy(resolver)
    if location == "http://localhost/":
        # localhost is admitted by allow_loopback; the resolver says it is 10.0.0.1 here.
        policy = local_policy(MapResolver({**resolver.table, "localhost": ["10.0.0.1"]}))
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/r"), policy)
    assert caught.value.reason == reason
    assert [hop.status for hop in caught.value.redirect_chain] == [302]
    assert server.hits["/r"] == 1
    assert {address[0] for address in connections} == {"127.0.0.1"}
    assert len(connections) == 1


def test_too_many_redirects(server, resolver):
    for index in range(10):
        server.routes[f"/r{index}"] = redirect(f"/r{index + 1}")
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/r0"), local_policy(resolver))
    assert caught.value.reason == "too_many_redirects"
    assert server.total_hits == 6  # the first request and five redirects, no more
    assert len(caught.value.redirect_chain) == 6


def test_redirect_loop(server, resolver):
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect(media_url(server, "/a"))
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/a"), local_policy(resolver))
    assert caught.value.reason == "redirect_loop"
    assert server.total_hits == 2


def test_redirect_without_location_is_a_status_error(server, resolver):
    server.routes["/r"] = respond(302, b"")
    with pytest.raises(HttpStatusError) as caught:
        fetch(media_url(server, "/r"), local_policy(resolver))
    assert caught.value.reason == "http_status"
    assert caught.value.status == 302


def test_redirect_body_is_not_read(server, resolver):
    """A redirect with an endless body must not be downloaded (requests.Session would read it all)."""
    server.routes["/r"] = _redirect_with_endless_body()
    server.routes["/a.png"] = respond(200, PNG)
    started = time.monotonic()
    result = fetch(media_url(server, "/r"), local_policy(resolver))
    assert result.status == 200
    assert time.monotonic() - started < 3


def _redirect_with_endless_body() -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "/a.png")
        handler.end_headers()
        try:
            for _ in range(100000):
                handler.wfile.write(b"x" * 65536)
        except OSError:
            pass

    return route


# --- status codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "transient"),
    [(401, False), (403, False), (404, False), (410, False), (429, True), (500, True), (503, True)],
)
def test_http_errors_keep_the_status(server, resolver, status, transient):
    server.routes["/x"] = respond(
        status, b"nope", {"WWW-Authenticate": 'Basic realm="x"', "Content-Type": "text/plain"}
    )
    with pytest.raises(HttpStatusError) as caught:
        fetch(media_url(server, "/x"), local_policy(resolver))
    assert caught.value.reason == "http_status"
    assert caught.value.status == status
    assert caught.value.transient is transient
    assert caught.value.headers["www-authenticate"] == 'Basic realm="x"'
    assert caught.value.url == media_url(server, "/x")


# --- sizes --------------------------------------------------------------------------------------


def test_announced_oversize_is_refused_before_reading(server, resolver):
    server.routes["/big"] = respond(200, b"", {"Content-Type": "image/png", "Content-Length": str(300 * MIB)})
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/big"), local_policy(resolver))
    assert caught.value.reason == "too_large"


def test_announced_size_over_the_sniffed_kind_cap(server, resolver):
    body = PNG + bytes(20000)
    server.routes["/big.png"] = respond(200, body, {"Content-Type": "image/png"})
    with pytest.raises(TooLarge) as caught:
        fetch(media_url(server, "/big.png"), local_policy(resolver, max_image_bytes=10000))
    assert caught.value.reason == "too_large"
    assert caught.value.kind == "image"
    assert caught.value.limit == 10000


def test_oversize_without_content_length_is_cut_while_streaming(server, resolver):
    chunks = [PNG] + [bytes(65536)] * 200  # about 13 MB, no Content-Length
    server.routes["/big"] = stream(chunks, {"Content-Type": "image/png"})
    with pytest.raises(TooLarge) as caught:
        fetch(media_url(server, "/big"), local_policy(resolver, max_image_bytes=MIB))
    assert caught.value.reason == "too_large"
    assert caught.value.kind == "image"


def test_lying_content_length_smaller_than_body_reads_only_what_was_announced(server, resolver):
    body = PNG + bytes(5 * MIB)
    server.routes["/lie"] = respond(200, body, {"Content-Length": "4000"})
    result = fetch(media_url(server, "/lie"), local_policy(resolver, max_image_bytes=MIB))
    assert result.size == 4000


def test_lying_content_length_smaller_than_cap_but_body_endless(server, resolver):
    server.routes["/lie"] = stream([PNG] + [bytes(65536)] * 100, {"Content-Length": "100"})
    result = fetch(media_url(server, "/lie"), local_policy(resolver, max_image_bytes=MIB))
    assert result.size == 100


def test_lying_content_length_larger_than_body_is_a_connection_error(server, resolver):
    server.routes["/short"] = respond(200, PNG, {"Content-Length": str(len(PNG) + 1000)})
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/short"), local_policy(resolver))
    assert caught.value.reason == "connection_error"


def test_html_cap_applies_to_pages(server, resolver):
    page = b"<!doctype html><html>" + b"a" * 20000
    server.routes["/page"] = stream([page], {"Content-Type": "text/html"})
    with pytest.raises(TooLarge) as caught:
        fetch(media_url(server, "/page"), local_policy(resolver, max_html_bytes=10000))
    assert (caught.value.reason, caught.value.kind) == ("too_large", "html")


# --- time ---------------------------------------------------------------------------------------


def test_slow_body_trickle_hits_the_total_timeout(server, resolver):
    """Each byte arrives well within the read timeout; only the total deadline can stop this."""
    server.routes["/slow"] = stream([PNG[:10]] + [b"\x00"] * 1000, {"Content-Type": "image/png"}, delay=0.1)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/slow"), local_policy(resolver, read_timeout=1.0, total_timeout=1.0))
    elapsed = time.monotonic() - started
    assert caught.value.reason == "timeout"
    assert caught.value.transient
    assert elapsed < 2.0


def test_slow_headers_trickle_hits_the_total_timeout(resolver):
    """Status line and headers one byte at a time (slowloris in reverse)."""

    def trickle(conn: socket.socket) -> None:
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 10000:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    raw = RawServer(trickle)
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(f"http://media.test:{raw.port}/", local_policy(resolver, read_timeout=1.0, total_timeout=1.0))
        assert caught.value.reason == "timeout"
        assert time.monotonic() - started < 2.0
    finally:
        raw.close()


def test_silent_server_hits_the_read_timeout(resolver):
    def silent(conn: socket.socket) -> None:
        conn.recv(65536)
        time.sleep(3)

    raw = RawServer(silent)
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(f"http://media.test:{raw.port}/", local_policy(resolver, read_timeout=0.5, total_timeout=5.0))
        assert caught.value.reason == "timeout"
        assert time.monotonic() - started < 1.5
    finally:
        raw.close()


def test_non_http_server_is_a_connection_error(resolver):
    def garbage(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    raw = RawServer(garbage)
    try:
        with pytest.raises(FetchError) as caught:
            fetch(f"http://media.test:{raw.port}/", local_policy(resolver))
        assert caught.value.reason == "connection_error"
    finally:
        raw.close()


# --- encodings ----------------------------------------------------------------------------------


def test_gzip_bomb_is_stopped_at_the_cap(server, resolver):
    bomb = gzip.compress(bytes(200 * MIB), compresslevel=9)  # ~200 KB that inflates to 200 MB
    assert len(bomb) < MIB
    server.routes["/bomb"] = respond(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "image/png"})
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/bomb"), local_policy(resolver, max_other_bytes=2 * MIB))
    assert caught.value.reason == "too_large"
    assert "decompression" in str(caught.value)
    assert time.monotonic() - started < 2


def test_gzip_bomb_stopped_by_largest_cap_before_sniffing_completes(server, resolver):
    bomb = gzip.compress(PNG + bytes(50 * MIB))
    server.routes["/bomb"] = respond(200, bomb, {"Content-Encoding": "gzip"})
    with pytest.raises(TooLarge) as caught:
        fetch(media_url(server, "/bomb"), local_policy(resolver, max_image_bytes=MIB))
    assert (caught.value.reason, caught.value.kind) == ("too_large", "image")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("gzip", lambda data: gzip.compress(data[:1000]) + gzip.compress(data[1000:])),  # two members
    ],
)
def test_compressed_bodies_are_decoded(server, resolver, encoding, encode):
    server.routes["/z"] = respond(200, encode(HTML), {"Content-Encoding": encoding, "Content-Type": "text/html"})
    result = fetch(media_url(server, "/z"), local_policy(resolver))
    assert result.body == HTML
    assert result.kind == "html"
    assert result.headers["content-encoding"] == encoding


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("br", b"\x1b\x00\x00"),
        ("zstd", b"(\xb5/\xfd"),
        ("gzip, gzip", b""),
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(HTML)[:-30]),
    ],
)
def test_unsupported_or_corrupt_encodings_are_refused(server, resolver, encoding, body):
    server.routes["/z"] = respond(200, body, {"Content-Encoding": encoding})
    with pytest.raises(FetchError) as caught:
        fetch(media_url(server, "/z"), local_policy(resolver))
    assert caught.value.reason == "bad_encoding"


# --- content types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "declared", "sniffed", "mismatch"),
    [
        (HTML, "image/jpeg", "text/html", True),
        (JPEG, "text/html; charset=utf-8", "image/jpeg", True),
        (PNG, "image/jpeg", "image/png", True),
        (JPEG, "image/jpg", "image/jpeg", False),
        (PNG, None, "image/png", False),
        (b'{"json": true}', "image/png", "application/octet-stream", True),
    ],
)
def test_content_type_is_sniffed_not_trusted(server, resolver, body, declared, sniffed, mismatch):
    headers = {"Content-Type": declared} if declared else {}
    server.routes["/x"] = respond(200, body, headers)
    result = fetch(media_url(server, "/x"), local_policy(resolver))
    assert result.sniffed_type == sniffed
    assert result.type_mismatch is mismatch
    assert result.declared_type == declared


def test_accept_kinds_stops_early(server, resolver):
    server.routes["/page"] = stream([HTML] * 1000, {"Content-Type": "image/jpeg"})
    with pytest.raises(UnexpectedType) as caught:
        fetch(media_url(server, "/page"), local_policy(resolver), accept_kinds={"image", "video"})
    assert caught.value.reason == "unexpected_type"
    assert caught.value.sniffed_type == "text/html"


# --- address fallback ---------------------------------------------------------------------------


def test_every_checked_address_may_be_tried_in_order(server, connections):
    """The server listens on 127.0.0.1 only: ::1 is refused, so the next checked address is used."""
    server.routes["/a.png"] = respond(200, PNG)
    resolver = MapResolver({"dual.test": ["::1", "127.0.0.1"]})
    result = fetch(media_url(server, "/a.png", host="dual.test"), local_policy(resolver))
    assert result.pinned_ip == "127.0.0.1"
    assert [address[0] for address in connections] == ["::1", "127.0.0.1"]


def test_ipv6_literal_url(resolver):
    v6 = LocalServer(bind="::1")
    try:
        v6.routes["/a.png"] = respond(200, PNG)
        result = fetch(v6.url("/a.png", host="[::1]"), local_policy(resolver))
        assert result.pinned_ip == "::1"
        assert v6.requests[-1].headers["host"] == f"[::1]:{v6.port}"
    finally:
        v6.close()
