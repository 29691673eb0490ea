"""The shared limits of everything fetched for one reported URL.

A reported page leads to many fetches: its media, the next pages of a thread, a stream's playlists
and segments, and, when it is rendered, every sub-resource the browser asks for. Each one goes
through the fetcher's address checks and pinning on its own; this session adds what they share:
one wall-clock deadline (``page_timeout``), one byte budget (``max_page_bytes``), the DNS answers
already checked (a host is resolved once per reported URL), per-host politeness (requests to one
host spaced by ``host_interval``), and a count of bytes and requests for the evidence and the
benchmarks. It is safe to use from several threads (the renderer fetches in parallel).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from takedown.fetching.addresses import IPAddress
from takedown.fetching.errors import FetchTimeout, TooLarge
from takedown.fetching.fetcher import DEFAULT_POLICY, FetchResult, _Fetch
from takedown.fetching.policy import FetchPolicy
from takedown.fetching.sniff import Kind


@dataclass
class SessionStats:
    """Requests made and bytes received (bodies of successful fetches, after decompression)."""

    requests: int = 0
    bytes: int = 0
    by_host: dict[str, int] = field(default_factory=dict)


class FetchSession:
    """One reported URL's fetches under shared limits. ``fetch`` raises ``FetchError`` like
    :func:`takedown.fetching.fetch`, plus ``FetchTimeout``/``TooLarge`` when the shared time or
    byte budget is spent before the request starts."""

    def __init__(self, policy: FetchPolicy | None = None, *, started: float | None = None) -> None:
        self.policy = policy or DEFAULT_POLICY
        self.started = time.monotonic() if started is None else started
        self.deadline = self.started + self.policy.page_timeout
        self.resolutions: dict[str, tuple[IPAddress, ...]] = {}
        self.stats = SessionStats()
        self._budget = self.policy.max_page_bytes
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    @property
    def budget(self) -> int:
        """Bytes that may still be fetched for this reported URL."""
        with self._lock:
            return self._budget

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def fetch(
        self,
        url: str,
        *,
        accept_kinds: Collection[Kind] | None = None,
        referer: str | None = None,
        max_bytes: int | None = None,
        byte_range: tuple[int, int] | None = None,
        deadline: float | None = None,
        policy: FetchPolicy | None = None,
        paced: bool = True,
    ) -> FetchResult:
        """Fetch ``url`` through the fetcher, within this session's deadline and byte budget.

        ``max_bytes`` lowers the cap for this one fetch; ``deadline`` (monotonic) ends it sooner
        than the session; ``policy`` may change byte caps per kind (streams raise the cap of
        "other" for encrypted segments) but never the address rules, which come from the
        session's policy; ``paced`` spaces requests to one host by ``host_interval``.
        """
        limit = self.deadline if deadline is None else min(deadline, self.deadline)
        now = time.monotonic()
        if now >= limit:
            raise FetchTimeout(
                f"Not fetched: the time limit for this page ({self.policy.page_timeout:g} s) was reached.", url=url
            )
        budget = self.budget
        if budget <= 0:
            raise TooLarge(
                f"Not fetched: the byte limit for this page ({self.policy.max_page_bytes}) was reached.",
                limit=self.policy.max_page_bytes,
                url=url,
            )
        if paced:
            self._wait_for_turn(url, limit)
        effective = self.policy if policy is None else _same_rules(self.policy, policy)
        cap = budget if max_bytes is None else min(budget, max_bytes)
        start = time.monotonic()
        result = _Fetch(
            effective,
            deadline=min(limit, start + effective.total_timeout),
            accept_kinds=accept_kinds,
            referer=referer,
            byte_budget=cap,
            resolutions=self.resolutions,
            byte_range=byte_range,
        ).run(url)
        with self._lock:
            self._budget -= result.size
            self.stats.requests += 1
            self.stats.bytes += result.size
            host = urlsplit(result.final_url).hostname or ""
            self.stats.by_host[host] = self.stats.by_host.get(host, 0) + result.size
        return result

    def _wait_for_turn(self, url: str, limit: float) -> None:
        """Politeness: requests to one host start at least ``host_interval`` apart."""
        interval = self.policy.host_interval
        if interval <= 0:
            return
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return  # the fetcher refuses the URL with the right reason
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, 0.0))
            self._next_slot[host] = slot + interval
        wait = slot - time.monotonic()
        if wait > 0:
            if slot >= limit:
                raise FetchTimeout("Not fetched: the time limit for this page would pass while waiting for the host.")
            time.sleep(wait)


def _same_rules(base: FetchPolicy, override: FetchPolicy) -> FetchPolicy:
    """``override``'s caps and timeouts with ``base``'s address rules, so no caller can loosen them."""
    if (
        override.allow_loopback != base.allow_loopback
        or override.allowed_ports != base.allowed_ports
        or override.resolver is not base.resolver
        or override.ca_bundle != base.ca_bundle
    ):
        raise ValueError("A per-fetch policy may change limits only, not the address rules.")
    return override
