"""Settings of the gunicorn processes the limiter tests start: the test settings, and a hasher
that counts verifications (tests/web/counting_hasher.py)."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

PASSWORD_HASHERS = ["tests.web.counting_hasher.CountingMD5PasswordHasher"]
