"""The detector registry of this process, built once from the settings.

Models load lazily inside each detector on first use, so building the registry is cheap; the
registry is cached per process (a worker analyses many media with the same loaded models).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from takedown.detectors.registry import DetectorRegistry


@lru_cache(maxsize=1)
def detector_registry() -> DetectorRegistry:
    from takedown.detectors.registry import DEFAULT_CONFIG, DetectorRegistry

    config = settings.DETECTORS_CONFIG if settings.DETECTORS_CONFIG is not None else DEFAULT_CONFIG
    return DetectorRegistry.from_config(config)
