"""Fixtures shared by every test: real Redis, and helpers to find free local ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

pytest_plugins = ["tests.browser.fixtures"]  # browser fixtures for any test that drives Chromium


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
    """A Redis database of its own for the Celery broker, emptied before and after the test.

    TAKEDOWN_TEST_BROKER_DB picks another database so two suites with worker tests can run side
    by side on one Redis (they would otherwise consume each other's tasks).
    """
    base = redis_base_url.rsplit("/", 1)[0]
    url = f"{base}/{int(os.environ.get('TAKEDOWN_TEST_BROKER_DB', '14'))}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """The cache is a real Redis shared by tests; start every test from an empty one (this run's keys)."""
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION")
    if not location:
        from django.core.cache import cache

        cache.clear()
        return
    client = redis.Redis.from_url(location)
    keys = list(client.scan_iter(f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request in Spanish leaves Spanish active in the test's thread (LocaleMiddleware activates it
    and nothing deactivates it after the test client's request): each test starts and ends in the
    default language, so a later test's English assertions do not depend on the order."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_banks() -> Iterator[None]:
    """The consented bank lives in the process and follows the feed's change ids, which restart at 1
    in every test's database (never in production): each test starts with no bank."""
    from takedown.matching import bank

    bank._BANKS.clear()
    yield
    bank._BANKS.clear()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_database_url() -> str:
    """The URL of the database pytest-django created, for worker processes to share it."""
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or '5432'}/{s['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def start_worker(broker_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real `celery worker` processes on the test database and broker; killed at teardown."""
    workers: list[subprocess.Popen[bytes]] = []
    root = Path(__file__).resolve().parents[1]

    def start(
        *, queues: str = "default", include: str = "", visibility_timeout: int = 60, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        worker_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            # A worker the test kills may die holding the sweep lock; let it expire quickly.
            "CELERY_UNACKED_MUTEX_EXPIRE": "3",
            "TEST_SIGNAL_REDIS_URL": broker_url.rsplit("/", 1)[0] + "/13",
            **(env or {}),
        }
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "takedown",
            "worker",
            "-Q",
            queues,
            "-c",
            "1",
            "-P",
            "prefork",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
            "--loglevel",
            "INFO",
        ]
        if include:
            args += ["-I", include]
        log = (tmp_path / f"worker-{len(workers)}.log").open("wb")
        process = subprocess.Popen(
            args, cwd=root, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def totp_code(secret: str, *, margin: float = 3.0) -> str:
    """The current TOTP code, waiting for the next 30 s period when this one is about to end.

    allauth accepts only the current period's code, so a code computed a moment before a period
    boundary would be refused by the time the request reaches the server.
    """
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    now = time.time()
    if 30 - now % 30 < margin:
        time.sleep(30 - now % 30 + 0.1)
    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
