"""Fixed-window attempt counters in the cache (Redis in production, shared by every process)."""

from __future__ import annotations

from django.core.cache import cache


def attempts_exceeded(key: str, *, limit: int, window_seconds: int) -> bool:
    """True when `key` already has `limit` attempts in the current window (does not count one)."""
    return int(cache.get(f"rl:{key}", 0)) >= limit


def attempt_record(key: str, *, window_seconds: int) -> int:
    """Count one attempt; the window starts at the first attempt and is not extended by later ones."""
    cache_key = f"rl:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds)
        return 1


def attempts_reset(key: str) -> None:
    cache.delete(f"rl:{key}")
