"""The detector interface: what a detector sees, what it is told, and what it answers.

Detectors are weak signals (open detectors lose about half their accuracy on in-the-wild
fakes), so the interface makes every answer carry its own explanation and version: a reviewer
reads *why* a medium was flagged, and a verdict can be traced to the model that produced it.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from PIL import Image

from takedown.hashing.bundle import FACE_MODEL, FACE_VECTOR_LENGTH, BundleFace

#: The strings a detector may list in :attr:`Detector.needs`.
NEEDS: frozenset[str] = frozenset({"frames", "bytes", "face_templates"})


class DetectorError(Exception):
    """A detector could not run on this medium; the message says why in one sentence."""


class DetectorConfigError(DetectorError, ValueError):
    """The detector settings are wrong (unknown class, bad option, missing model file)."""


class MediumError(DetectorError, ValueError):
    """The fetched bytes cannot be turned into frames (unreadable, too large, unsupported)."""


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    """A 128-d dlib face descriptor computed on the survivor's device from an ordinary portrait.

    ``id`` is opaque and random so a template links to nothing but its case.
    """

    id: str
    vector: tuple[float, ...]
    model: str = FACE_MODEL

    def __post_init__(self) -> None:
        if len(self.vector) != FACE_VECTOR_LENGTH or not all(math.isfinite(x) for x in self.vector):
            raise ValueError(f"a face template needs {FACE_VECTOR_LENGTH} finite numbers")


def templates_from_bundle(faces: Iterable[BundleFace]) -> tuple[FaceTemplate, ...]:
    """The detectors' templates from a loaded bundle's ``face_templates`` (same id, vector, model)."""
    return tuple(FaceTemplate(face.id, tuple(face.vector), face.model) for face in faces)


@dataclass(frozen=True)
class Medium:
    """What detectors see of one fetched image or video.

    ``data`` is kept because provenance lives in the file's metadata, which decoding drops;
    ``frames`` are decoded once here so several detectors do not each decode the same bytes.
    """

    data: bytes
    mime: str
    kind: str
    frames: tuple[Image.Image, ...]


@dataclass(frozen=True)
class DetectorContext:
    """What a detector is told about the case, beyond the medium itself."""

    face_templates: tuple[FaceTemplate, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One detector's answer for one medium.

    ``score`` is 0..1 (None when the detector could not run), ``positive`` is the detector's own
    decision at its shipped threshold, ``explanation`` is one plain sentence with the numbers that
    a verdict quotes, and ``details`` is JSON-safe evidence for the reviewer.
    """

    detector: str
    version: str
    score: float | None
    positive: bool
    explanation: str
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ran(self) -> bool:
        return not self.error

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for storing a finding next to a verdict."""
        return {
            "detector": self.detector,
            "version": self.version,
            "score": self.score,
            "positive": self.positive,
            "explanation": self.explanation,
            "details": dict(self.details),
            "error": self.error,
        }


def failed(detector: str, version: str, reason: str) -> Finding:
    """The finding of a detector that could not run: no score, never positive."""
    return Finding(detector, version, None, False, f"{detector} could not run: {reason}", {}, reason)


class Detector(ABC):
    """One detector. Subclasses set ``name`` and ``needs`` and implement :meth:`analyse`.

    Constructors take keyword options from the registry settings, check them, and raise
    :class:`DetectorConfigError` for bad ones; they must not load models (that happens lazily,
    so building the registry at start-up stays cheap and a process that never analyses never
    pays for the models).
    """

    name: ClassVar[str]
    needs: ClassVar[frozenset[str]]
    version: str

    @abstractmethod
    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        """Look at one medium; raise :class:`DetectorError` when it cannot be analysed."""

    def load(self) -> None:  # noqa: B027 - optional hook; most detectors load on first analyse
        """Load the model now (a worker's warm-up, or a start-up check of the settings)."""


T = TypeVar("T")


class LazyModel(Generic[T]):
    """A model loaded on first use, once per process, safely under threads.

    Worker processes fork after import, so loading at import time would either load models in
    processes that never use them or share native handles across a fork.
    """

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._load()
        return value

    @property
    def loaded(self) -> bool:
        return self._value is not None
