"""The detector registry: which detectors run, built from plain settings.

An operator enables, disables, tunes or adds detectors without code changes: each entry names a
class by dotted path and gives its keyword options. Everything is checked when the registry is
built, so a typo fails at start-up with a sentence naming the entry, not on the first report.
Running the detectors never raises: a detector that fails gives a finding that says why, and
the others still run (one broken model must not hide the others' evidence).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from takedown.detectors.base import (
    Detector,
    DetectorConfigError,
    DetectorContext,
    DetectorError,
    Finding,
    Medium,
    failed,
)

logger = logging.getLogger(__name__)

_ENTRY_KEYS: Final = frozenset({"name", "class", "enabled", "options"})

#: The shipped set: explicit content, face similarity and provenance on; the ONNX plug-in off
#: until an operator gives it a model file (see :func:`default_config`).
DEFAULT_CONFIG: Final[list[dict[str, Any]]] = [
    {"name": "explicit", "class": "takedown.detectors.explicit.NudeNetDetector", "enabled": True, "options": {}},
    {"name": "face", "class": "takedown.detectors.faces.FaceDetector", "enabled": True, "options": {}},
    {"name": "provenance", "class": "takedown.detectors.provenance.ProvenanceDetector", "enabled": True, "options": {}},
    {
        "name": "onnx",
        "class": "takedown.detectors.onnx_classifier.OnnxClassifierDetector",
        "enabled": False,
        "options": {"path": ""},
    },
]


def default_config(onnx_model_path: str = "", onnx_options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The shipped set, with the ONNX plug-in enabled when a model path is given."""
    config = [dict(entry, options=dict(entry["options"])) for entry in DEFAULT_CONFIG]
    if onnx_model_path:
        onnx = next(entry for entry in config if entry["name"] == "onnx")
        onnx["enabled"] = True
        onnx["options"] = {**(onnx_options or {}), "path": onnx_model_path}
    return config


def _import_class(path: Any, where: str) -> type[Detector]:
    if not isinstance(path, str) or "." not in path:
        raise DetectorConfigError(f"{where}: class must be a dotted path like 'package.module.Class'")
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DetectorConfigError(f"{where}: cannot import {module_name} ({exc})") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Detector):
        raise DetectorConfigError(f"{where}: {path} is not a Detector class")
    return cls


class DetectorRegistry:
    """The enabled detectors, in configured order, each under its entry name."""

    def __init__(self, detectors: Sequence[tuple[str, Detector]], disabled: Sequence[str] = ()) -> None:
        self._detectors = list(detectors)
        self.disabled = tuple(disabled)

    @classmethod
    def from_config(cls, config: Sequence[Mapping[str, Any]]) -> DetectorRegistry:
        """Build from entries ``{"name", "class", "enabled", "options"}``; raise
        :class:`DetectorConfigError` naming the first bad entry."""
        if not isinstance(config, list | tuple):
            raise DetectorConfigError("detector settings must be a list of entries")
        detectors: list[tuple[str, Detector]] = []
        disabled: list[str] = []
        names: set[str] = set()
        for i, entry in enumerate(config):
            where = f"detector entry {i}"
            if not isinstance(entry, Mapping):
                raise DetectorConfigError(f"{where} must be a mapping")
            extra = set(entry) - _ENTRY_KEYS
            if extra:
                raise DetectorConfigError(f"{where} has unknown keys: {', '.join(sorted(map(str, extra)))}")
            name = entry.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                raise DetectorConfigError(f"{where}: name must be a short identifier like 'explicit'")
            where = f"detector {name!r}"
            if name in names:
                raise DetectorConfigError(f"{where} appears twice")
            names.add(name)
            enabled = entry.get("enabled", True)
            if not isinstance(enabled, bool):
                raise DetectorConfigError(f"{where}: enabled must be true or false")
            options = entry.get("options", {})
            if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
                raise DetectorConfigError(f"{where}: options must be a mapping of option names to values")
            detector_class = _import_class(entry.get("class"), where)
            if not enabled:
                disabled.append(name)
                continue
            try:
                detector = detector_class(**options)
            except DetectorConfigError as exc:
                raise DetectorConfigError(f"{where}: {exc}") from exc
            except TypeError as exc:
                raise DetectorConfigError(f"{where}: bad options ({exc})") from exc
            detectors.append((name, detector))
        return cls(detectors, disabled)

    @property
    def names(self) -> list[str]:
        """Names of the enabled detectors, in the order they run."""
        return [name for name, _ in self._detectors]

    @property
    def detectors(self) -> list[tuple[str, Detector]]:
        return list(self._detectors)

    def get(self, name: str) -> Detector | None:
        return next((d for n, d in self._detectors if n == name), None)

    def load(self) -> None:
        """Load every enabled detector's model now (raises :class:`DetectorConfigError`)."""
        for _, detector in self._detectors:
            detector.load()

    def analyse_all(self, medium: Medium, context: DetectorContext) -> list[Finding]:
        """Run every enabled detector; a detector that fails yields a finding with ``error`` set."""
        findings = []
        for name, detector in self._detectors:
            version = getattr(detector, "version", "unknown")
            try:
                finding = detector.analyse(medium, context)
            except DetectorError as exc:
                finding = failed(name, version, str(exc))
            except Exception as exc:
                # Only the exception type and message are logged: never the medium or its URL.
                logger.exception("detector %s failed with %s", name, type(exc).__name__)
                finding = failed(name, version, f"unexpected {type(exc).__name__}")
            if finding.detector != name:
                finding = dataclasses.replace(finding, detector=name)
            findings.append(finding)
        return findings
