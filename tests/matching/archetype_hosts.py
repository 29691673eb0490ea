"""The resolver the matching tests (and the workers they start) use: the archetype site's "public"
host names answer 127.0.0.1, a few names answer addresses inside (for the SSRF test), nothing else
resolves, so no test can reach the internet.

Set it with ``FETCH_RESOLVER = "tests.matching.archetype_hosts.resolve"`` (``tests.matching.worker_settings``
does so for worker processes). The address policy still checks every answer.
"""

from __future__ import annotations

import socket

#: The archetype site's host names (tests/fetching/archetypes/site.py `HOSTS`, which
#: test_pages.py checks against this list; not imported, so the benchmark that uses this resolver
#: does not load the site builder).
HOSTS = ("tube.test", "cdn.tube.test", "gallery.test", "news.test", "forum.test", "adult.test")
#: Names that resolve inward: each must be refused by the address policy, never connected to.
INSIDE = {
    "inside.test": ["10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "mixed.test": ["127.0.0.1", "10.0.0.1"],
}
TABLE = {**{host: ["127.0.0.1"] for host in HOSTS}, **INSIDE}


def resolve(host: str) -> list[str]:
    answer = TABLE.get(host.lower().rstrip("."))
    if answer is None:
        raise socket.gaierror(socket.EAI_NONAME, f"the test suite does not resolve names ({host})")
    return list(answer)
