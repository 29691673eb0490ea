"""Signal types Takedown shares that python-threatexchange 1.2 does not have.

* ``phash``: imagehash's 64-bit DCT perceptual hash, matched within Hamming distance 4 (the
  threshold Takedown's robustness table justifies). Takedown computes it on its canonical,
  box-reduced RGB array; this hasher computes it on the whole EXIF-oriented RGB picture, which
  lands within a bit or two of the service's value for ordinary photos (imagehash shrinks to
  32 x 32 anyway), so matching still works, but the two are not bit-identical.
* ``photo_md5`` and ``photo_sha256``: threatexchange's MD5 and SHA-256 types (``video_md5``,
  ``video_sha256``) apply to videos only, and Takedown's file digests cover photos too. An exact
  digest matches the same bytes whatever they are, so the feed's digests are offered under both
  the video and the photo types.
"""

import hashlib
import io
import random
import re
import typing as t

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps
from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.photo import PhotoContent
from threatexchange.signal_type import index, signal_base

try:  # Optional: only hashing photos needs it (pip install "takedown-threatexchange[phash]").
    import imagehash
except ImportError:  # pragma: no cover - exercised only where the extra is not installed
    imagehash = None  # type: ignore[assignment]

PHASH_THRESHOLD = 4
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class PHashSignal(signal_base.SimpleSignalType, signal_base.BytesHasher, signal_base.CanGenerateRandomSignal):
    """imagehash.phash (64 bits, 16 hex digits), matched within Hamming distance 4."""

    @classmethod
    def get_name(cls) -> str:
        return "phash"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> type["PHashIndex[t.Any]"]:
        return PHashIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        normalized = signal_str.strip().lower()
        if not _HEX16.match(normalized):
            raise ValueError(f"{signal_str!r} is not a pHash (16 hex digits)")
        return normalized

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> signal_base.SignalComparisonResult:
        distance = (int(hash1, 16) ^ int(hash2, 16)).bit_count()
        return signal_base.SignalComparisonResult.from_simple_dist(distance, PHASH_THRESHOLD)

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        if imagehash is None:
            raise RuntimeError(
                'hashing photos with pHash needs imagehash: pip install "takedown-threatexchange[phash]"'
            )
        with Image.open(io.BytesIO(bytes_)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
        return str(imagehash.phash(upright))

    @classmethod
    def get_random_signal(cls) -> str:
        return f"{random.getrandbits(64):016x}"

    @staticmethod
    def get_examples() -> list[str]:
        return ["d1c43b3c4e1e1e3c", "0f0f0f0f0f0f0f0f"]


class PHashIndex(index.SignalTypeIndex[index.T]):
    """A numpy popcount scan: a pHash bank of a million values answers in a few milliseconds."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self.entries: list[index.T] = []
        self._array: npt.NDArray[np.uint64] | None = None

    def add(self, signal_str: str, entry: index.T) -> None:
        self.values.append(int(PHashSignal.validate_signal_str(signal_str), 16))
        self.entries.append(entry)
        self._array = None

    def query(self, query: str) -> list[index.IndexMatchUntyped[index.SignalSimilarityInfo, index.T]]:
        if self._array is None:
            self._array = np.asarray(self.values, dtype=np.uint64)
        target = np.uint64(int(PHashSignal.validate_signal_str(query), 16))
        distances = np.bitwise_count(self._array ^ target)
        hits = np.flatnonzero(distances <= PHASH_THRESHOLD)
        return [
            index.IndexMatchUntyped(index.SignalSimilarityInfoWithIntDistance(int(distances[i])), self.entries[i])
            for i in hits[np.argsort(distances[hits], kind="stable")]
        ]


class _DigestSignal(signal_base.SimpleSignalType, signal_base.BytesHasher, signal_base.CanGenerateRandomSignal):
    """A file digest of a photo: exact match only."""

    _NAME: t.ClassVar[str]
    _PATTERN: t.ClassVar[re.Pattern[str]]
    _ALGORITHM: t.ClassVar[str]

    @classmethod
    def get_name(cls) -> str:
        return cls._NAME

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> type[signal_base.TrivialSignalTypeIndex[t.Any]]:
        return signal_base.TrivialSignalTypeIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        normalized = signal_str.strip().lower()
        if not cls._PATTERN.match(normalized):
            raise ValueError(f"{signal_str!r} is not a valid {cls._NAME}")
        return normalized

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        return hashlib.new(cls._ALGORITHM, bytes_).hexdigest()

    @classmethod
    def get_random_signal(cls) -> str:
        return hashlib.new(cls._ALGORITHM, random.randbytes(16)).hexdigest()  # noqa: S311 - test data

    @staticmethod
    def get_examples() -> list[str]:
        return []


class PhotoMD5Signal(_DigestSignal):
    """MD5 of a photo file's bytes (threatexchange's ``video_md5`` covers videos only)."""

    _NAME = "photo_md5"
    _PATTERN = _HEX32
    _ALGORITHM = "md5"

    @staticmethod
    def get_examples() -> list[str]:
        return ["d41d8cd98f00b204e9800998ecf8427e"]


class PhotoSHA256Signal(_DigestSignal):
    """SHA-256 of a photo file's bytes (threatexchange's ``video_sha256`` covers videos only)."""

    _NAME = "photo_sha256"
    _PATTERN = _HEX64
    _ALGORITHM = "sha256"

    @staticmethod
    def get_examples() -> list[str]:
        return ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
