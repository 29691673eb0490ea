"""Django's MD5 test hasher with a counter: each verification adds one to a Redis key.

The limiter tests start gunicorn with this hasher (tests.web.settings_counting) and read the
counter to learn how many PINs and passwords the server really checked; hashing and verifying
are Django's own.
"""

from __future__ import annotations

import os

import redis
from django.contrib.auth.hashers import MD5PasswordHasher


class CountingMD5PasswordHasher(MD5PasswordHasher):
    def verify(self, password: str, encoded: str) -> bool:
        url, key = os.environ.get("COUNTING_HASHER_REDIS_URL"), os.environ.get("COUNTING_HASHER_KEY")
        if url and key:
            redis.Redis.from_url(url).incr(key)
        return super().verify(password, encoded)
