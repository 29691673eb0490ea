"""A real Celery worker on Redis and PostgreSQL, killed with SIGKILL mid-task, loses nothing.

The test starts `celery worker` processes (prefork, one child) against a real Redis broker and
the pytest PostgreSQL database, sends a real message, kills the whole worker (parent and child)
while the task runs, starts a fresh worker, and checks that the message was delivered again and
its effect happened exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from tests.core.testapp.models import TaskEffect

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 4


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or "5432"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def start_worker(broker_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "TEST_SIGNAL_REDIS_URL": broker_url.rsplit("/", 1)[0] + "/13",
        }
        log = (tmp_path / f"worker-{len(workers)}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "takedown",
                "worker",
                "-I",
                "tests.core.worker_tasks",
                "-Q",
                "default",
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
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_sigkilled_worker_loses_no_task_and_effect_happens_once(
    start_worker: Callable[[], subprocess.Popen[bytes]], broker_url: str
) -> None:
    signals = redis.Redis.from_url(broker_url.rsplit("/", 1)[0] + "/13")
    signals.flushdb()
    key = uuid.uuid4().hex
    producer = Celery(broker=broker_url)
    producer.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}

    first = start_worker()
    producer.send_task("tests.record_effect_once", args=[key, 120], queue="default")
    wait_for(lambda: signals.get(f"{key}:starts") == b"1", 60, "the first worker to start the task")

    os.killpg(first.pid, signal.SIGKILL)  # parent and pool child: the whole worker dies
    first.wait(timeout=10)
    assert TaskEffect.objects.filter(key=key).count() == 0

    start_worker()
    wait_for(lambda: signals.get(f"{key}:completions") == b"1", 90, "the second worker to complete the task")
    assert int(signals.get(f"{key}:starts") or 0) == 2  # delivered twice: nothing was lost
    assert TaskEffect.objects.filter(key=key).count() == 1

    # A duplicate delivery of the same work (as after a broker restart) changes nothing either.
    producer.send_task("tests.record_effect_once", args=[key, 0], queue="default")
    wait_for(lambda: signals.get(f"{key}:completions") == b"2", 60, "the duplicate to be processed")
    assert TaskEffect.objects.filter(key=key).count() == 1
