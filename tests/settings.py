"""Test settings: the real settings, on PostgreSQL and Redis, plus a small app for kernel tests.

The test command exports DATABASE_URL and REDIS_URL; the defaults below are the local ports of a
machine of this kind. Celery stays in process (eager) unless a test starts a real worker.
"""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/takedown")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from takedown.settings import *  # noqa: F403
from takedown.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.core.testapp"]

# Hashing passwords with PBKDF2's full cost makes every login in tests slow and proves nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
