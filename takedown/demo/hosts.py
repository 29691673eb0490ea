"""The demo resolver: the demo host names answer 127.0.0.1 (the demo site), every other name the
system resolver's answer. Development only: `scripts/run` sets `FETCH_RESOLVER` to
`takedown.demo.hosts.resolve` with `FETCH_ALLOW_LOOPBACK` (which settings refuse in production);
the address policy still checks every answer.
"""

from __future__ import annotations

from takedown.demo.scenes import DEMO_HOSTS
from takedown.fetching import system_resolver

_LOCAL = frozenset(DEMO_HOSTS.values())


def resolve(host: str) -> list[str]:
    if host.lower().rstrip(".") in _LOCAL:
        return ["127.0.0.1"]
    return list(system_resolver(host))
