"""The demo's settings for a test: its own var/ directory, a free port for the demo site, the registry."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from takedown.core.access import Actor
from takedown.registry.services import platforms_load
from tests.conftest import free_port
from tests.notices.conftest import registry_data


@pytest.fixture
def demo(settings: Settings, tmp_path) -> int:
    """The demo site's port; the platform registry loaded as scripts/run loads it."""
    settings.VAR_DIR = tmp_path
    settings.DEMO_SITE_PORT = free_port()
    platforms_load(actor=Actor.system(), data=registry_data())
    return int(settings.DEMO_SITE_PORT)
