"""A real serving stack for the limiter tests: gunicorn on the test database, nginx in front of it.

The servers run as separate processes on 127.0.0.1 against this run's PostgreSQL test database and
Redis cache (same key prefix, so the suite's cache clearing covers them). Their settings module,
`tests.web.settings_counting`, is the test settings with one addition: the password hasher counts
every verification in Redis, so a test can tell how many PINs and passwords the server really
checked (the hasher itself is Django's; only a counter is added).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import free_port, test_database_url

ROOT = Path(__file__).resolve().parents[2]
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


class VerificationCounter:
    """How many passwords and PINs the server processes checked (tests.web.counting_hasher)."""

    def __init__(self, redis_url: str) -> None:
        self.key = f"test-verifications:{uuid.uuid4().hex}"
        self.client = redis.Redis.from_url(redis_url)

    @property
    def value(self) -> int:
        return int(self.client.get(self.key) or 0)

    def close(self) -> None:
        self.client.delete(self.key)


@pytest.fixture
def verifications(redis_base_url: str) -> Iterator[VerificationCounter]:
    from django.conf import settings

    counter = VerificationCounter(settings.CACHES["default"]["LOCATION"])
    yield counter
    counter.close()


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise AssertionError(f"server at {url} did not answer within {timeout}s:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def start_gunicorn(
    tmp_path: Path, verifications: VerificationCounter, transactional_db: None
) -> Iterator[Callable[..., Server]]:
    """Start gunicorn (2 processes x 16 threads, like a small production box) on the test database."""
    from django.conf import settings

    started: list[Server] = []

    def start(*, env: dict[str, str] | None = None) -> Server:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        server_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.web.settings_counting",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.CACHES["default"]["LOCATION"],
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "COUNTING_HASHER_REDIS_URL": settings.CACHES["default"]["LOCATION"],
            "COUNTING_HASHER_KEY": verifications.key,
            **(env or {}),
        }
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.web.wsgi_counting:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "16",
            "--worker-class",
            "gthread",
            "--timeout",
            "120",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env=server_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
        started.append(server)
        _wait_http(server.url + "/healthz", process, log)
        return server

    yield start
    for server in started:
        _stop(server.process)


NGINX_CONF = """
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            # The one trusted hop: append the address this proxy saw (what production's proxy does).
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


@pytest.fixture
def start_nginx(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """Debian's nginx as the reverse proxy in front of `upstream` (scripts/test installs nginx-light)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is required for the proxy tests (scripts/test installs Debian's nginx-light).")
    started: list[Server] = []

    def start(upstream: str) -> Server:
        port = free_port()
        prefix = tmp_path / f"nginx-{port}"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, prefix=prefix, port=port, upstream=upstream), encoding="utf-8")
        log = prefix / "error.log"
        with (prefix / "stdout.log").open("wb") as out:
            process = subprocess.Popen(
                [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
        started.append(server)
        _wait_http(server.url + "/healthz", process, prefix / "stdout.log")
        return server

    yield start
    for server in started:
        _stop(server.process)


def browser_session(base_url: str, path: str, *, source: str | None = None) -> tuple[httpx.Client, str]:
    """A client that loaded the form at `path` (cookies and CSRF token), optionally from a source
    address on the loopback network (127.0.0.2, ...), as a separate person's device."""
    transport = httpx.HTTPTransport(local_address=source) if source else None
    client = httpx.Client(base_url=base_url, timeout=120.0, transport=transport, follow_redirects=False)
    # A connection per request: gunicorn closes idle keep-alive connections after 2 s, and a POST
    # sent on one it has just closed would fail for reasons that have nothing to do with the test.
    page = client.get(path, headers={"Connection": "close"})
    assert page.status_code == 200, (path, page.status_code)
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF token on {path}"
    return client, match.group(1)


def post_form(client: httpx.Client, path: str, token: str, data: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post(path, data={"csrfmiddlewaretoken": token, **data}, headers={"Connection": "close", **headers})


def fire_in_parallel(clients: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every call at once (all threads released together by a barrier); the responses in order."""
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def run(index: int, call: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    failures = [r for r in results if not isinstance(r, httpx.Response)]
    assert not failures, failures[:3]
    return results
