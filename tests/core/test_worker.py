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
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.conftest import wait_for
from tests.core.testapp.models import TaskEffect

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 4


def test_sigkilled_worker_loses_no_task_and_effect_happens_once(
    start_worker: Callable[..., subprocess.Popen[bytes]], broker_url: str
) -> None:
    signals = redis.Redis.from_url(broker_url.rsplit("/", 1)[0] + "/13")
    signals.flushdb()
    key = uuid.uuid4().hex
    # set_as_current=False: a new app would otherwise become the one shared tasks send through,
    # and every later test that expects tasks to run in process would send them to this broker.
    producer = Celery(broker=broker_url, set_as_current=False)
    producer.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}

    first = start_worker(include="tests.core.worker_tasks", visibility_timeout=VISIBILITY_TIMEOUT)
    producer.send_task("tests.record_effect_once", args=[key, 120], queue="default")
    wait_for(lambda: signals.get(f"{key}:starts") == b"1", 60, "the first worker to start the task")

    os.killpg(first.pid, signal.SIGKILL)  # parent and pool child: the whole worker dies
    first.wait(timeout=10)
    assert TaskEffect.objects.filter(key=key).count() == 0

    start_worker(include="tests.core.worker_tasks", visibility_timeout=VISIBILITY_TIMEOUT)
    wait_for(lambda: signals.get(f"{key}:completions") == b"1", 90, "the second worker to complete the task")
    assert int(signals.get(f"{key}:starts") or 0) == 2  # delivered twice: nothing was lost
    assert TaskEffect.objects.filter(key=key).count() == 1

    # A duplicate delivery of the same work (as after a broker restart) changes nothing either.
    producer.send_task("tests.record_effect_once", args=[key, 0], queue="default")
    wait_for(lambda: signals.get(f"{key}:completions") == b"2", 60, "the duplicate to be processed")
    assert TaskEffect.objects.filter(key=key).count() == 1
