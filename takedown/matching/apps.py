from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from takedown.detectors.base import DetectorError
from takedown.matching.detection import detector_registry


class MatchingConfig(AppConfig):
    name = "takedown.matching"
    label = "matching"
    verbose_name = "Checking and matching"

    def ready(self) -> None:
        checks.register(detectors_configured, checks.Tags.compatibility)
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
