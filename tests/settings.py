"""Test settings: the real settings, on PostgreSQL and Redis, plus a small app for kernel tests.

The test command exports DATABASE_URL and REDIS_URL; the defaults below are the local ports of a
machine of this kind. Celery stays in process (eager) unless a test starts a real worker.
"""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/takedown")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Each test run gets its own cache prefix and test database, so runs side by side (a developer's
# and a helper's, or two terminals) cannot clear or drop each other's data.
RUN_ID = f"t{os.getpid()}"
os.environ.setdefault("CACHE_KEY_PREFIX", RUN_ID)
# The bank's snapshots too (workers started by a test inherit the directory): a snapshot belongs
# to one database, and each run has its own.
os.environ.setdefault("BANK_SNAPSHOT_DIR", f"/tmp/takedown-test-bank-{RUN_ID}")

from takedown.settings import *  # noqa: E402, F403
from takedown.settings import DATABASES, INSTALLED_APPS  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_takedown_{RUN_ID}"}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.core.testapp"]

# Reported links are checked only by tests that serve them from a local server (they turn it on,
# and pass CHECK_ON_REPORT=true to the workers they start, where the check is requested).
CHECK_ON_REPORT = os.environ.get("CHECK_ON_REPORT", "").lower() in {"1", "true", "yes", "on"}
FETCH_RESOLVER = "tests.offline.offline_resolver"

# Hashing passwords with PBKDF2's full cost makes every login in tests slow and proves nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
