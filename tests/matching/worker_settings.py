"""Settings of the Celery workers started by the matching tests: the test settings, with the
archetype site's host names resolving to 127.0.0.1 (tests/settings.py resolves nothing)."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

FETCH_RESOLVER = "tests.matching.archetype_hosts.resolve"
