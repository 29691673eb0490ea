"""Fixed-window attempt counters in the cache (Redis in production, shared by every process).

A limit is kept by `attempt_take`: it counts the attempt first (one atomic increment) and only
then says whether the attempt may go ahead, so requests that arrive together cannot all pass a
check made before any of them was counted (issue 14, defect 4). `attempt_refund` gives back an
attempt that turned out not to count (a right PIN, a case that was not opened).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache


def rate_limit_cache_key(key: str) -> str:
    """The cache key of a counter: a keyed digest of `key`, never the key itself.

    Callers name counters after what they count (a case reference, a network address); the cache
    (Redis, readable by whoever reaches it) holds only HMAC-SHA256 under a key derived from
    SECRET_KEY, so a dump of it reveals neither which references were tried nor from where
    (issue 14, defect 7; tests/cases/test_ratelimit_keys.py).
    """
    secret = hashlib.sha256(f"takedown-ratelimit:{settings.SECRET_KEY}".encode()).digest()
    return "rl:" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]


_key = rate_limit_cache_key


def attempts_exceeded(key: str, *, limit: int, window_seconds: int) -> bool:
    """True when `key` already has `limit` attempts in the current window (does not count one).

    A read only: to guard an action, use `attempt_take`, which counts before it answers.
    """
    return int(cache.get(_key(key), 0)) >= limit


def attempt_record(key: str, *, window_seconds: int) -> int:
    """Count one attempt and return the count in this window; the window starts at the first
    attempt and is not extended by later ones. Atomic: `add` creates the counter, `incr` is one
    Redis INCR."""
    cache_key = _key(key)
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds)
        return 1


def attempt_take(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt, then allow it only if it is within `limit` for the window.

    Counting comes first, so of any number of attempts made at once at most `limit` are allowed.
    A refused attempt still counts: a burst keeps the window closed, it cannot reopen it.
    """
    return attempt_record(key, window_seconds=window_seconds) <= limit


def attempt_refund(key: str) -> None:
    """Give back one attempt taken with `attempt_take` (no-op when the window has ended)."""
    with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
        cache.decr(_key(key))


def attempts_reset(key: str) -> None:
    cache.delete(_key(key))
