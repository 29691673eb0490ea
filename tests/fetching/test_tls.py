"""HTTPS through the pinned connection: SNI and certificate checks use the original host name."""

from __future__ import annotations

import socket
import time

import pytest

from takedown.fetching import FetchError, fetch
from tests.fetching.conftest import local_policy
from tests.fetching.servers import LocalServer, MapResolver, RawServer, respond

PNG = b"\x89PNG\r\n\x1a\n" + bytes(3000)


@pytest.fixture
def sni_seen() -> list[str | None]:
    return []


@pytest.fixture
def tls_server(pki, sni_seen):
    srv = LocalServer(tls=pki.server_context(sni_seen))
    srv.routes["/a.png"] = respond(200, PNG, {"Content-Type": "image/png"})
    yield srv
    srv.close()


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver({"media.test": ["127.0.0.1"], "www.media.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


def test_https_verifies_the_certificate_against_the_host_name(tls_server, pki, resolver, sni_seen, no_system_dns):
    result = fetch(tls_server.url("/a.png", host="media.test"), local_policy(resolver, ca_bundle=str(pki.ca_file)))
    assert result.body == PNG
    assert result.pinned_ip == "127.0.0.1"
    assert sni_seen == ["media.test"]
    assert tls_server.requests[-1].headers["host"] == f"media.test:{tls_server.port}"
    assert resolver.calls == ["media.test"]


def test_https_to_a_name_the_certificate_does_not_cover_fails(tls_server, pki, resolver, sni_seen):
    with pytest.raises(FetchError) as caught:
        fetch(tls_server.url("/a.png", host="other.test"), local_policy(resolver, ca_bundle=str(pki.ca_file)))
    assert caught.value.reason == "tls_error"
    assert not caught.value.transient
    assert sni_seen == ["other.test"]
    assert tls_server.total_hits == 0


def test_https_to_the_bare_address_fails_when_the_certificate_names_hosts(tls_server, pki, resolver):
    with pytest.raises(FetchError) as caught:
        fetch(tls_server.url("/a.png"), local_policy(resolver, ca_bundle=str(pki.ca_file)))
    assert caught.value.reason == "tls_error"
    assert tls_server.total_hits == 0


def test_https_with_an_untrusted_ca_fails(tls_server, resolver):
    with pytest.raises(FetchError) as caught:
        fetch(tls_server.url("/a.png", host="media.test"), local_policy(resolver))  # certifi, not our CA
    assert caught.value.reason == "tls_error"
    assert tls_server.total_hits == 0


def test_https_redirect_to_another_covered_name(tls_server, pki, resolver, sni_seen):
    tls_server.routes["/r"] = respond(302, b"", {"Location": tls_server.url("/a.png", host="www.media.test")})
    result = fetch(tls_server.url("/r", host="media.test"), local_policy(resolver, ca_bundle=str(pki.ca_file)))
    assert result.final_url == tls_server.url("/a.png", host="www.media.test")
    assert sni_seen == ["media.test", "www.media.test"]


def test_https_url_on_a_plain_http_server_is_a_tls_error(server, pki, resolver):
    server.routes["/a.png"] = respond(200, PNG)
    with pytest.raises(FetchError) as caught:
        fetch(f"https://media.test:{server.port}/a.png", local_policy(resolver, ca_bundle=str(pki.ca_file)))
    assert caught.value.reason == "tls_error"


def test_stalled_tls_handshake_hits_the_time_limit(pki, resolver):
    def stall(conn: socket.socket) -> None:
        time.sleep(3)

    raw = RawServer(stall)
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(
                f"https://media.test:{raw.port}/",
                local_policy(resolver, ca_bundle=str(pki.ca_file), connect_timeout=0.5, total_timeout=5.0),
            )
        assert caught.value.reason == "timeout"
        assert time.monotonic() - started < 1.5
    finally:
        raw.close()
