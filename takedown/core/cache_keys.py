"""The cache's key function: rate-limit counters of other libraries are stored under keyed digests.

allauth names its sign-in counters `allauth:rl:<app>:<action>:<rate>:ip:<address>`; in Redis that
is a list of every address that tried to sign in as staff. Takedown's own counters are digested
where they are named (`core.ratelimit.rate_limit_cache_key`); this does the same for allauth's at
the one place every key passes through. Other keys keep Django's default form.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

_DIGESTED_PREFIXES = ("allauth:rl:",)


def make_key(key: str, key_prefix: str, version: int) -> str:
    for prefix in _DIGESTED_PREFIXES:
        if key.startswith(prefix):
            secret = hashlib.sha256(f"takedown-cache-key:{settings.SECRET_KEY}".encode()).digest()
            key = prefix + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]
            break
    return f"{key_prefix}:{version}:{key}"
