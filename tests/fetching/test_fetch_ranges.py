"""Byte ranges (segments inside one file) through the fetcher, with and without server support."""

from __future__ import annotations

import pytest

from takedown.fetching import FetchSession, TooLarge
from tests.fetching.conftest import local_policy
from tests.fetching.servers import MapResolver, respond
from tests.fetching.test_streams import ranged

BODY = bytes(range(256)) * 400  # 102,400 bytes


@pytest.fixture
def session(server) -> FetchSession:
    server.routes["/honours"] = ranged(BODY)
    server.routes["/ignores"] = respond(200, BODY)
    return FetchSession(local_policy(MapResolver({"site.test": ["127.0.0.1"]}), host_interval=0.0))


@pytest.mark.parametrize("path", ["/honours", "/ignores"])
def test_a_range_is_the_bytes_asked_for(server, session, path):
    result = session.fetch(f"http://site.test:{server.port}{path}", byte_range=(1000, 1999))
    assert result.body == BODY[1000:2000]
    assert result.size == 1000
    assert result.status == (206 if path == "/honours" else 200)
    assert server.requests[-1].headers["range"] == "bytes=1000-1999"


def test_a_server_ignoring_ranges_is_still_capped(server, session):
    with pytest.raises(TooLarge):
        session.fetch(f"http://site.test:{server.port}/ignores", byte_range=(0, 99), max_bytes=50_000)
    assert session.fetch(f"http://site.test:{server.port}/honours", byte_range=(0, 99), max_bytes=50_000).size == 100


def test_the_session_shares_one_byte_budget(server):
    server.routes["/a"] = respond(200, BODY)
    session = FetchSession(
        local_policy(MapResolver({"site.test": ["127.0.0.1"]}), host_interval=0.0, max_page_bytes=250_000)
    )
    session.fetch(f"http://site.test:{server.port}/a")
    session.fetch(f"http://site.test:{server.port}/a")
    with pytest.raises(TooLarge):
        session.fetch(f"http://site.test:{server.port}/a")
    assert session.stats.requests == 2 and session.stats.bytes == 2 * len(BODY)
    with pytest.raises(ValueError, match="address rules"):
        session.fetch(f"http://site.test:{server.port}/a", policy=local_policy(MapResolver({})))
