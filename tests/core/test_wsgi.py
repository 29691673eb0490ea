"""The web entry point registers Celery's tasks at start, so concurrent first requests cannot race
their lazy discovery (seen as `NotRegistered` under threaded gunicorn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_wsgi_application_registers_every_task() -> None:
    probe = (
        "import json, takedown.wsgi; from takedown.celery import app; from django.conf import settings; "
        "names = {e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values()}; "
        "print(json.dumps(sorted(n for n in names if n not in app.tasks)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "takedown.settings", "TAKEDOWN_ENV": "development"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
