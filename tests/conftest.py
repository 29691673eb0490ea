"""Fixtures shared by every test: real Redis, and helpers to find free local ports."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_base_url() -> str:
    """The real Redis the suite uses; its absence is a failure, not a skip."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:  # pragma: no cover - environment failure
        pytest.fail(f"Redis is required for the test suite and is not reachable at {url}: {exc}")
    return url


@pytest.fixture
def broker_url(redis_base_url: str) -> Iterator[str]:
    """A Redis database of its own for the Celery broker, emptied before and after the test."""
    base = redis_base_url.rsplit("/", 1)[0]
    url = f"{base}/14"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """The cache is a real Redis shared by tests; start every test from an empty one."""
    from django.core.cache import cache

    cache.clear()
    return
