from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class MatchingConfig(AppConfig):
    name = "takedown.matching"
    label = "matching"
    verbose_name = "Checking and matching"

    def ready(self) -> None:
        checks.register(detectors_configured, checks.Tags.compatibility)


def detectors_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every start) refuses a detector configuration that cannot be built.

    Building the registry loads no model (models load on first use), so this is cheap.
    """
    from django.conf import settings

    from takedown.detectors.base import DetectorError
    from takedown.matching.detection import detector_registry

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
