"""Fixtures for the fetching tests: local servers, a recording resolver, and a connection spy.

The fetching library has no Django and no cache; these tests need neither PostgreSQL nor Redis.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from takedown.fetching import FetchPolicy, Resolver
from tests.fetching.servers import LocalServer, Pki, make_pki


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Override tests/conftest.py's Redis cache reset: nothing here touches Django's cache."""
    return


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), ["media.test", "www.media.test"])


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every address any socket in this process connects to during the test (a connection spy)."""
    seen: list[object] = []
    real_connect = socket.socket.connect

    def spy(self: socket.socket, address: object) -> None:
        seen.append(address)
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


@pytest.fixture
def no_system_dns(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail the test if anything asks the system resolver about a name (pinning means nobody should)."""
    asked: list[object] = []
    real = socket.getaddrinfo

    def guard(host: object, *args: object, **kwargs: object) -> object:
        asked.append(host)
        if isinstance(host, str | bytes) and any(c.isalpha() for c in str(host)) and ":" not in str(host):
            raise AssertionError(f"unexpected DNS lookup of {host!r}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guard)
    return asked


def local_policy(resolver: Resolver | None = None, **overrides: object) -> FetchPolicy:
    """The test policy: loopback allowed (and nothing else), any port, short time limits."""
    settings: dict[str, object] = {
        "allow_loopback": True,
        "allowed_ports": None,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
    }
    if resolver is not None:
        settings["resolver"] = resolver
    settings.update(overrides)
    return FetchPolicy(**settings)  # type: ignore[arg-type]


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
