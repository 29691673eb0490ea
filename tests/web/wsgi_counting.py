"""The WSGI entry point of the limiter tests' gunicorn: the real one, with Celery's tasks
registered before the first request.

Without this, the first requests that 16 threads serve at once raced Celery's lazy task
discovery and failed with `NotRegistered` (seen in this test's first runs); `takedown.wsgi`
now registers them at start too, and `core.queue` imports them under a lock.
"""

from __future__ import annotations

from takedown.celery import app as celery_app
from takedown.wsgi import application

celery_app.loader.import_default_modules()

__all__ = ["application"]
