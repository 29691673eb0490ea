"""Indexes: registered hash values -> integer ids, queried within a distance.

Indexes hold ids (database primary keys), never objects, so a matcher process can rebuild one
from a checkpoint and swap it in. This module has the brute-force versions: a numpy popcount
scan over a (n, words) uint64 matrix, which is exact for any threshold and fast enough for a
case's hashes or a few thousand registered hashes; takedown.hashing.scaled_index has the exact
sub-linear index with the same interface for millions.
"""

from __future__ import annotations

import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Final, Self

import numpy as np

from takedown.hashing.bits import WordArray, hamming_many, hex_to_words, hexes_to_matrix
from takedown.hashing.errors import InvalidHashError

_MAGIC: Final = b"TDHX"
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<4sHHQ")  # magic, version, bits, count


@dataclass(frozen=True, slots=True, order=True)
class IndexMatch:
    """One hit: the registered id and its distance to the query (sorted by distance, then id)."""

    distance: int
    id: int


class SignalIndex(ABC):
    """Interface shared by every index (the brute-force ones below; a scaled one later)."""

    kind: ClassVar[str]

    @abstractmethod
    def add(self, value: str, id_: int) -> None: ...

    def add_many(self, entries: Iterable[tuple[str, int]]) -> None:
        for value, id_ in entries:
            self.add(value, id_)

    @abstractmethod
    def query(self, value: str, threshold: int | None = None) -> list[IndexMatch]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def serialise(self) -> bytes: ...

    @classmethod
    @abstractmethod
    def deserialise(cls, data: bytes) -> Self: ...


class HammingIndex(SignalIndex):
    """Brute-force Hamming index for fixed-length bit hashes (PDQ: 256, pHash/dHash: 64).

    Appends go to a Python list and are stacked into the matrix lazily, so building by repeated
    ``add`` stays linear.
    """

    kind = "hamming"

    def __init__(self, bits: int = 256, threshold: int = 31) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64")
        self.bits = bits
        self.threshold = threshold
        self._words = np.zeros((0, bits // 64), dtype=np.uint64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._pending_hex: list[str] = []
        self._pending_ids: list[int] = []

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], bits: int = 256, threshold: int = 31) -> Self:
        index = cls(bits, threshold)
        index.add_many(entries)
        return index

    def _check(self, value: str) -> str:
        text = value.strip().lower()
        if len(text) != self.bits // 4:
            raise InvalidHashError(f"expected {self.bits // 4} hex digits, got {len(text)}")
        try:
            bytes.fromhex(text)
        except ValueError:
            raise InvalidHashError("hash value is not hex") from None
        return text

    def add(self, value: str, id_: int) -> None:
        self._pending_hex.append(self._check(value))
        self._pending_ids.append(int(id_))

    def _flush(self) -> None:
        if not self._pending_hex:
            return
        block = hexes_to_matrix(self._pending_hex, self.bits // 4)
        self._words = np.concatenate([self._words, block])
        self._ids = np.concatenate([self._ids, np.asarray(self._pending_ids, dtype=np.int64)])
        self._pending_hex, self._pending_ids = [], []

    def _distances(self, query: WordArray) -> np.ndarray:
        self._flush()
        return hamming_many(self._words, query)

    def query(self, value: str, threshold: int | None = None) -> list[IndexMatch]:
        limit = self.threshold if threshold is None else threshold
        dists = self._distances(hex_to_words(self._check(value)))
        hits = np.flatnonzero(dists <= limit)
        return sorted(IndexMatch(int(dists[i]), int(self._ids[i])) for i in hits)

    def query_many(self, values: list[str], threshold: int | None = None) -> list[list[IndexMatch]]:
        return [self.query(value, threshold) for value in values]

    def __len__(self) -> int:
        return len(self._ids) + len(self._pending_ids)

    def serialise(self) -> bytes:
        """Compact binary form: header, big-endian words, little-endian int64 ids."""
        self._flush()
        header = _HEADER.pack(_MAGIC, _VERSION, self.bits, len(self._ids))
        threshold = struct.pack("<i", self.threshold)
        words = self._words.astype(">u8").tobytes()
        return header + threshold + words + self._ids.astype("<i8").tobytes()

    @classmethod
    def deserialise(cls, data: bytes) -> Self:
        try:
            magic, version, bits, count = _HEADER.unpack_from(data, 0)
            (threshold,) = struct.unpack_from("<i", data, _HEADER.size)
        except struct.error:
            raise ValueError("index data is truncated") from None
        if magic != _MAGIC or version != _VERSION:
            raise ValueError("not a takedown Hamming index (bad magic or version)")
        index = cls(bits, threshold)
        start = _HEADER.size + 4
        n_words = bits // 64
        words_end = start + count * n_words * 8
        if len(data) != words_end + count * 8:
            raise ValueError("index data has the wrong length")
        index._words = np.frombuffer(data[start:words_end], dtype=">u8").astype(np.uint64).reshape(count, n_words)
        index._ids = np.frombuffer(data[words_end:], dtype="<i8").astype(np.int64)
        return index


class ExactIndex(SignalIndex):
    """Dictionary index for exact digests (sha256, md5): distance is always 0."""

    kind = "exact"

    def __init__(self) -> None:
        self._ids: dict[str, list[int]] = {}

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]]) -> Self:
        index = cls()
        index.add_many(entries)
        return index

    def add(self, value: str, id_: int) -> None:
        self._ids.setdefault(value.strip().lower(), []).append(int(id_))

    def query(self, value: str, threshold: int | None = None) -> list[IndexMatch]:
        return [IndexMatch(0, id_) for id_ in sorted(self._ids.get(value.strip().lower(), []))]

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids.values())

    def serialise(self) -> bytes:
        return json.dumps({"kind": self.kind, "ids": self._ids}, sort_keys=True).encode()

    @classmethod
    def deserialise(cls, data: bytes) -> Self:
        payload = json.loads(data)
        if not isinstance(payload, dict) or payload.get("kind") != cls.kind:
            raise ValueError("not a takedown exact index")
        index = cls()
        index._ids = {str(k): [int(i) for i in v] for k, v in payload["ids"].items()}
        return index
