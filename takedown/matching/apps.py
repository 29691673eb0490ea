from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from takedown.detectors.base import DetectorError
from takedown.hashing.snapshot import SnapshotError
from takedown.matching.detection import detector_registry


class MatchingConfig(AppConfig):
    name = "takedown.matching"
    label = "matching"
    verbose_name = "Checking and matching"

    def ready(self) -> None:
        checks.register(detectors_configured, checks.Tags.compatibility)
        checks.register(bank_snapshots_configured, checks.Tags.compatibility)
        # Consumers import models, which cannot be imported while the app registry is loading.
        from takedown.matching import consumers  # noqa: PLC0415

        consumers.subscribe()


def detectors_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every start) refuses a detector configuration that cannot be built.

    Building the registry loads no model (models load on first use), so this is cheap.
    """
    if not settings.DETECTORS_ENABLED:
        return []
    detector_registry.cache_clear()
    try:
        detector_registry()
    except DetectorError as error:
        return [checks.Error(f"DETECTORS_CONFIG: {error}", id="takedown.E101")]
    finally:
        detector_registry.cache_clear()
    return []


def bank_snapshots_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every start refuses a snapshot store that cannot work (an unknown kind, a bad S3 key, a
    directory other users can read), instead of each lookup failing later."""
    # The bank imports models, which cannot be imported while the app registry is loading.
    from takedown.matching.bank import snapshot_store  # noqa: PLC0415

    try:
        snapshot_store()
    except (ImproperlyConfigured, SnapshotError, OSError) as error:
        return [checks.Error(f"BANK_SNAPSHOT_*: {error}", id="takedown.E102")]
    return []
