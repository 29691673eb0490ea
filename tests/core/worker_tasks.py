"""A task loaded only into the worker processes that the worker test starts (`celery -I`).

It follows the project's task rules: it takes primitives, and its effect is idempotent (one
TaskEffect row per key, enforced by a unique constraint), so a redelivered message is harmless.
Every start is counted in Redis so the test can see how often the message was delivered, and the
first start blocks long enough to be killed mid-task.
"""

from __future__ import annotations

import os
import time

import redis
from celery import shared_task

from tests.core.testapp.models import TaskEffect


def _signals() -> redis.Redis:
    return redis.Redis.from_url(os.environ["TEST_SIGNAL_REDIS_URL"])


@shared_task(name="tests.record_effect_once")
def record_effect_once(key: str, first_run_seconds: float) -> None:
    starts = _signals().incr(f"{key}:starts")
    if starts == 1:
        time.sleep(first_run_seconds)  # the test kills the worker during this
    TaskEffect.objects.get_or_create(key=key)
    _signals().incr(f"{key}:completions")
