"""The Celery application, configured from Django settings (the `CELERY_` namespace).

Loaded by `takedown.core.apps.CoreConfig.ready` rather than from `takedown/__init__.py`, so that the
pure libraries under `takedown/` (hashing, detectors, fetching) import without Celery or Django.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "takedown.settings")

app = Celery("takedown")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
