"""The archetype site (built once per test session) and a real Chromium renderer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from takedown.fetching import ChromiumRenderer, default_renderer
from tests.fetching.archetypes.media import SHARED
from tests.fetching.archetypes.site import Site, build_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not SHARED.exists():
        pytest.fail(f"the shared test data is missing: {SHARED}")
    built = build_site(tmp_path_factory.mktemp("archetypes"))
    yield built
    built.server.close()


@pytest.fixture(scope="session")
def renderer() -> Iterator[ChromiumRenderer]:
    found = default_renderer()
    if found is None:
        pytest.fail(
            "Debian's chromium and Playwright are required for the rendering tests (scripts/test installs them)."
        )
    with found:
        yield found
