"""The detector registry of this process, built once from the settings.

Models load lazily inside each detector on first use, so building the registry is cheap; the
registry is cached per process (a worker analyses many media with the same loaded models).
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from takedown.detectors.registry import DEFAULT_CONFIG, DetectorRegistry


@lru_cache(maxsize=1)
def detector_registry() -> DetectorRegistry:
    config = settings.DETECTORS_CONFIG if settings.DETECTORS_CONFIG is not None else DEFAULT_CONFIG
    return DetectorRegistry.from_config(config)
