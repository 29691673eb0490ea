"""Signal types: what a hash is, how its text is checked, how two values compare.

Modelled on python-threatexchange's ``signal_type`` package: each type is a small class with a
name, ``normalize`` (validate and canonicalise the text form, with a clear error), ``compute``,
``compare -> (matched, distance)``, a default threshold and the index class that serves it. The
registry ``SIGNAL_TYPES`` is the single list the bundle validator, the matcher and the Django app
consult, so adding a signal type is one class here.

Thresholds are not folklore: each one is justified in docs/benchmarks/robustness.md (recall on
edited copies and false matches over all pairs of 1,353 unrelated photos).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar, Final

from takedown.hashing.bits import HEX_DIGITS, hamming_hex
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.hashes import FILE, ORIGINAL, Hash
from takedown.hashing.image import RGBArray, hash_rgb
from takedown.hashing.index import ExactIndex, HammingIndex, SignalIndex
from takedown.hashing.scaled_index import MultiIndexHammingIndex

#: From this many values a perceptual signal is served by the multi-index instead of the scan:
#: the measured crossover of one PDQ query (~95 us for both at ~4,000 random hashes; the scan
#: grows linearly, the multi-index stays near 0.1 ms to 100,000). See docs/benchmarks/index.md.
SCALED_INDEX_MIN_SIZE: Final = 4096

#: PDQ hashes below this quality are "not trusted" (Meta's default): kept, flagged, not matched.
PDQ_MIN_QUALITY: Final = 50


@dataclass(frozen=True, slots=True)
class Comparison:
    """Result of comparing two values of one signal type."""

    matched: bool
    distance: int


class SignalType:
    """Base class; subclasses set the class attributes and, if needed, ``compute_*``."""

    name: ClassVar[str]
    #: Length of the canonical text form in hex digits.
    hex_length: ClassVar[int]
    #: ``True`` for Hamming-distance (perceptual) hashes, ``False`` for exact digests.
    perceptual: ClassVar[bool]
    #: Largest distance still counted as a match (0 for exact digests).
    default_threshold: ClassVar[int]

    @classmethod
    def normalize(cls, value: str) -> str:
        """Return the canonical (lowercase hex) text or raise :class:`InvalidHashError`."""
        if not isinstance(value, str):
            raise InvalidHashError(f"{cls.name} value must be a string, got {type(value).__name__}")
        text = value.strip().lower()
        if len(text) != cls.hex_length:
            raise InvalidHashError(f"{cls.name} value must be {cls.hex_length} hex digits, got {len(text)}")
        if not HEX_DIGITS.issuperset(text):
            raise InvalidHashError(f"{cls.name} value must contain only hex digits 0-9 a-f")
        return text

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Hamming distance for perceptual hashes; 0 (equal) or 1 (different) for digests."""
        a, b = cls.normalize(a), cls.normalize(b)
        if cls.perceptual:
            return hamming_hex(a, b)
        return 0 if a == b else 1

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        """Compare two values: matched when the distance is at most the threshold."""
        limit = cls.default_threshold if threshold is None else threshold
        dist = cls.distance(a, b)
        return Comparison(matched=dist <= limit, distance=dist)

    @classmethod
    def index_class(cls, size: int = 0) -> type[SignalIndex]:
        """The index that serves ``size`` values of this signal.

        Exact digests use a dictionary. Perceptual hashes use the brute-force popcount scan up
        to :data:`SCALED_INDEX_MIN_SIZE` values (it is faster there) and the exact multi-index
        above it; both take ``(bits, threshold)`` and answer identically. A caller that does not
        know the size gets the scan, which is always correct.
        """
        if not cls.perceptual:
            return ExactIndex
        return MultiIndexHammingIndex if size >= SCALED_INDEX_MIN_SIZE else HammingIndex


class PerceptualImageSignal(SignalType):
    """A hash computed from the canonical RGB array (see :mod:`takedown.hashing.image`)."""

    perceptual = True

    @classmethod
    def compute_rgb(cls, rgb: RGBArray, variant: str = ORIGINAL) -> Hash:
        for item in hash_rgb(rgb, variant):
            if item.signal == cls.name:
                return item
        raise AssertionError(f"hash_rgb does not produce {cls.name}")  # pragma: no cover


class PdqSignal(PerceptualImageSignal):
    """Meta's PDQ: 256 bits + quality; the format StopNCII and ThreatExchange exchange.

    Threshold 31 is Meta's published default; our robustness table confirms it gives zero false
    matches over all pairs of the shared photos while keeping recall on recompression, resize,
    blur and watermarks at or above 99%.
    """

    name = "pdq"
    hex_length = 64
    default_threshold = 31

    @staticmethod
    def trusted(quality: int | None) -> bool:
        """Low-quality PDQ hashes (flat, featureless pictures) match too many things."""
        return quality is not None and quality >= PDQ_MIN_QUALITY


def hash_trusted(signal: str, quality: int | None) -> bool:
    """Whether a hash may be matched, shared or looked up: PDQ only above its quality floor.

    The one statement of Meta's rule for every caller (matcher, feed, banks, CLI); other signals
    carry no quality and are always usable.
    """
    return signal != PdqSignal.name or PdqSignal.trusted(quality)


class PHashSignal(PerceptualImageSignal):
    """imagehash.phash (64-bit DCT hash); a second opinion beside PDQ, not exchanged."""

    name = "phash"
    hex_length = 16
    default_threshold = 4


class DHashSignal(PerceptualImageSignal):
    """imagehash.dhash (64-bit gradient hash); cheap and robust to recompression."""

    name = "dhash"
    hex_length = 16
    default_threshold = 4


class ExactSignal(SignalType):
    """A cryptographic digest of the file bytes: matches only byte-identical copies."""

    perceptual = False
    default_threshold = 0
    algorithm: ClassVar[str]

    @classmethod
    def compute_bytes(cls, data: bytes) -> Hash:
        return Hash(cls.name, hashlib.new(cls.algorithm, data).hexdigest(), None, FILE)


class Sha256Signal(ExactSignal):
    name = "sha256"
    hex_length = 64
    algorithm = "sha256"


class Md5Signal(ExactSignal):
    """MD5 is broken for security but is what StopNCII exchanges for video; kept for parity."""

    name = "md5"
    hex_length = 32
    algorithm = "md5"


SIGNAL_TYPES: Final[dict[str, type[SignalType]]] = {
    cls.name: cls for cls in (PdqSignal, PHashSignal, DHashSignal, Sha256Signal, Md5Signal)
}


def get_signal_type(name: str) -> type[SignalType]:
    """Look a signal type up by name, with an error that lists the known ones."""
    try:
        return SIGNAL_TYPES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise InvalidHashError(f"unknown signal type {name!r}; known: {known}") from None
