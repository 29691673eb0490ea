"""The detector library has no Django and no cache: these tests need neither PostgreSQL nor Redis."""

from __future__ import annotations

import pytest

from tests.detectors.helpers import FACES, PHOTOS


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Override tests/conftest.py's Redis cache reset: nothing here touches Django's cache."""
    return


@pytest.fixture(autouse=True, scope="session")
def _shared_data() -> None:
    if not FACES.exists() or not PHOTOS.exists():
        pytest.skip(f"shared test data missing: {FACES.parent}")
