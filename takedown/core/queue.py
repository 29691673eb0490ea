"""Starting Celery tasks from services: by name, and on commit unless told otherwise.

A service that queues work must not import its app's `tasks` module: that module imports the
services (tasks are thin shells over them), so the two would import each other. Tasks are named
here the way beat's schedule names them, and looked up in the Celery app's registry, which
loads every app's tasks on first use. An unknown name raises at once (`KeyError`), so a typo
fails the first test that reaches it instead of publishing a message nobody consumes.

`task_on_commit` is the usual way: the task starts only once the data it will read is committed,
and a broker that is down must not undo the request that queued it (`robust=True`); the resume
sweeps publish such work again from PostgreSQL, which is the record of what is to be done.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task
from django.db import transaction

from takedown.celery import app

logger = logging.getLogger(__name__)


#: Threads of one web process that reach `_task` at once import the tasks modules one at a time:
#: without it, a thread could look a name up while another is still registering the tasks.
_import_lock = threading.Lock()


def _task(name: str) -> Task:  # type: ignore[type-arg]
    """The registered task `name`. `takedown.wsgi` imports the tasks modules at start (as a worker
    does); any other process (a command, a test) imports them at the first unknown name."""
    if name not in app.tasks:
        with _import_lock:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]


def task_send(name: str, *args: Any) -> None:
    """Publish (or, without a broker, run) the task `name` now."""
    _task(name).delay(*args)


def task_on_commit(name: str, *args: Any) -> None:
    """Publish the task `name` when the current transaction commits (at once outside one)."""
    task = _task(name)  # resolved now: an unknown name fails in the caller, not after commit
    transaction.on_commit(lambda: task.delay(*args), robust=True)


def task_later(name: str, *args: Any, countdown: int) -> None:
    """Publish the task `name` to run in `countdown` seconds (now, in process, without a broker).

    The task must be idempotent and re-check whether it is still due: with Redis, a countdown longer
    than the visibility timeout can deliver the message twice, and a lost message is not re-sent.
    """
    _task(name).apply_async(args=args, countdown=countdown)
