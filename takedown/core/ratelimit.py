"""Fixed-window attempt counters in the cache (Redis in production, shared by every process)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache


def rate_limit_cache_key(key: str) -> str:
    """The cache key of a counter: a keyed digest of `key`, never the key itself.

    Callers name counters after what they count (a case reference, a network address); the cache
    (Redis, readable by whoever reaches it) holds only HMAC-SHA256 under a key derived from
    SECRET_KEY, so a dump of it reveals neither which references were tried nor from where.
    """
    secret = hashlib.sha256(f"takedown-ratelimit:{settings.SECRET_KEY}".encode()).digest()
    return "rl:" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]


def attempts_exceeded(key: str, *, limit: int, window_seconds: int) -> bool:
    """True when `key` already has `limit` attempts in the current window (does not count one)."""
    return int(cache.get(rate_limit_cache_key(key), 0)) >= limit


def attempt_record(key: str, *, window_seconds: int) -> int:
    """Count one attempt; the window starts at the first attempt and is not extended by later ones."""
    cache_key = rate_limit_cache_key(key)
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds)
        return 1


def attempts_reset(key: str) -> None:
    cache.delete(rate_limit_cache_key(key))
