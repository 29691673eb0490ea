"""A sub-linear, exact Hamming index for millions of PDQ hashes: sorted-array multi-index hashing.

Why this design (measured in docs/benchmarks/index.md against python-threatexchange's
``PDQIndex``, a FAISS ``IndexBinaryMultiHash``, and brute force):

* **Exact by the pigeonhole principle.** The 256 bits are cut into 16 chunks of 16 bits. If two
  hashes differ in at most ``t`` bits, at least one chunk differs in at most ``t // 16`` bits
  (otherwise every chunk would differ in ``t // 16 + 1`` or more, ``16 * (t // 16 + 1) > t``).
  So probing every chunk value within ``r = t // 16`` bits of the query's chunk finds every hash
  within ``t``: for PDQ's 31 that is radius 1, ``16 * 17 = 272`` probes. Each candidate is then
  checked with a full popcount, so nothing beyond the threshold is returned either.
* **Lean.** Each chunk is a counting sort of the rows by that chunk's 16-bit value: a 65,537-entry
  offsets array plus an ``int32`` row permutation. At 10 million hashes that is 640 MB of
  permutations + 320 MB of hashes, against several GiB for hash maps of Python or C++ vectors.
* **Fast to build.** Sixteen stable ``argsort`` calls on ``uint16`` keys (numpy's radix sort);
  no per-hash Python work, so 10 million hashes build in seconds from a ``uint64`` matrix.
* **Batch queries are vectorised**: probes, candidate expansion and verification run over blocks
  of queries at once, which is what the batch lookup API needs.

Rows appended after the last build sit in a small *tail* that is scanned by brute force, and is
folded into the sorted arrays when it grows past :attr:`MultiIndexHammingIndex.tail_limit`.
Removal is a **tombstone mask** (``remove_ids`` flips a bit; the next query already skips those
rows), with a compaction rebuild when a quarter of the rows are dead, so a withdrawn hash leaves
the results immediately, well inside the one-minute bound.

Thresholds too large for the chunk probes to pay off (``t // 16 > 2`` for PDQ, i.e. ``t >= 48``)
fall back to a full scan; still exact, just linear.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any, ClassVar, Final, Self

import numpy as np
import numpy.typing as npt

from takedown.hashing.bits import HEX_DIGITS, WordArray, hamming_many
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.index import IndexMatch, SignalIndex

CHUNK_BITS: Final = 16
_KEYS: Final = 1 << CHUNK_BITS
_MAGIC: Final = b"TDMI"
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<4sHHQi")  # magic, version, bits, count, threshold
#: Probe radius above which a linear scan is cheaper than 16 * C(16, <=r) bucket probes.
_MAX_RADIUS: Final = 2
#: Hex strings converted per block when building from text, to bound the temporary memory.
_HEX_BLOCK: Final = 1 << 20
#: Candidate rows expanded at once in a batch query: small blocks stay in cache, and measured
#: faster at 10M hashes than blocks of 300k or 1M candidates.
_CANDIDATE_BUDGET: Final = 100_000

IntArray = npt.NDArray[np.int64]


def _flip_masks(radius: int) -> npt.NDArray[np.int64]:
    """All 16-bit XOR masks with at most ``radius`` bits set (the chunk neighbourhood)."""
    masks = [0]
    for r in range(1, radius + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(CHUNK_BITS), r))
    return np.asarray(masks, dtype=np.int64)


_MASKS: Final = {r: _flip_masks(r) for r in range(_MAX_RADIUS + 1)}


def _chunk(words: WordArray, j: int) -> npt.NDArray[np.int64]:
    """Chunk ``j`` (bits 16j..16j+15 of the hex text order) of every row, as int64 keys."""
    shift = np.uint64(64 - CHUNK_BITS * (j % 4 + 1))
    column = (words[:, j // 4] >> shift) & np.uint64(_KEYS - 1)
    return column.astype(np.int64)


def _distances(rows: WordArray, queries: WordArray) -> IntArray:
    """Row-wise Hamming distances of two equal-shape word matrices (``rows`` is overwritten).

    ``np.take`` + in-place XOR + a per-column sum is about five times faster here than fancy
    indexing and ``sum(axis=1)``, which numpy runs as a slow reduction over a 4-wide axis.
    """
    np.bitwise_xor(rows, queries, out=rows)
    counts = np.bitwise_count(rows)
    dist = counts[:, 0].astype(np.int64)
    for w in range(1, counts.shape[1]):
        dist += counts[:, w]
    return dist


def _as_words(matrix: npt.ArrayLike, bits: int) -> WordArray:
    """Accept an (n, bits/64) uint64 matrix or an (n, bits/8) uint8 matrix (bytes in hex order)."""
    arr = np.asarray(matrix)
    n_words = bits // 64
    if arr.ndim != 2:
        raise InvalidHashError(f"expected a 2-d hash matrix, got {arr.ndim} dimensions")
    if arr.dtype == np.uint8 and arr.shape[1] == bits // 8:
        return np.ascontiguousarray(arr).view(">u8").astype(np.uint64).reshape(arr.shape[0], n_words)
    if arr.dtype == np.uint64 and arr.shape[1] == n_words:
        return np.ascontiguousarray(arr)
    raise InvalidHashError(
        f"expected an (n, {n_words}) uint64 or (n, {bits // 8}) uint8 matrix, got {arr.shape} {arr.dtype}"
    )


def hexes_to_words(values: Sequence[str], bits: int = 256) -> WordArray:
    """Validate and convert many hex strings at C speed, naming the first bad one on error.

    ``bytes.fromhex`` skips whitespace, so a string of the right length with a space in it comes
    out one byte short: checking the total byte count catches it, then the slow path says which.
    """
    n_hex, n_words = bits // 4, bits // 64
    out = np.empty((len(values), n_words), dtype=np.uint64)
    for start in range(0, len(values), _HEX_BLOCK):
        block = values[start : start + _HEX_BLOCK]
        raw = b""
        try:
            # join raises TypeError on a non-string; map(len) runs at C speed, unlike a generator.
            if set(map(len, block)) <= {n_hex}:
                raw = bytes.fromhex("".join(block))
        except (TypeError, ValueError):
            raw = b""
        if len(raw) != len(block) * n_hex // 2:
            raw = bytes.fromhex("".join(_normalise(v, n_hex, start + i) for i, v in enumerate(block)))
        out[start : start + len(block)] = np.frombuffer(raw, dtype=">u8").reshape(len(block), n_words)
    return out


def _normalise(value: object, n_hex: int, position: int | None = None) -> str:
    where = "" if position is None else f" (hash {position})"
    if not isinstance(value, str):
        raise InvalidHashError(f"hash value must be a string{where}, got {type(value).__name__}")
    text = value.strip().lower()
    if len(text) != n_hex:
        raise InvalidHashError(f"expected {n_hex} hex digits{where}, got {len(text)}")
    if not HEX_DIGITS.issuperset(text):
        raise InvalidHashError(f"hash value is not hex{where}")
    return text


class MultiIndexHammingIndex(SignalIndex):
    """Exact Hamming index over 16-bit chunks (see the module docstring for why it is exact).

    Same interface as :class:`~takedown.hashing.index.HammingIndex` plus ``query_many``,
    ``from_matrix``/``from_hexes`` and ``remove_ids``. Not thread-safe for writes: build or
    mutate under a lock, or build a new index and swap the reference (queries only read).
    """

    kind = "multi-index"
    #: Rows appended after a build are scanned linearly until the tail is this long.
    tail_limit: ClassVar[int] = 65_536

    def __init__(self, bits: int = 256, threshold: int = 31) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64")
        self.bits = bits
        self.threshold = threshold
        self._n_chunks = bits // CHUNK_BITS
        self._words: WordArray = np.zeros((0, bits // 64), dtype=np.uint64)
        self._ids: IntArray = np.zeros(0, dtype=np.int64)
        self._alive: npt.NDArray[np.bool_] = np.ones(0, dtype=bool)
        self._dead = 0
        # Sorted-array structure over rows [0, _indexed): offsets (chunks, 65537) and the row
        # permutation of every chunk, flattened to one int32 array of chunks * _indexed.
        self._indexed = 0
        self._offsets: IntArray = np.zeros((self._n_chunks, _KEYS + 1), dtype=np.int64)
        self._order: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._pending_hex: list[str] = []
        self._pending_ids: list[int] = []

    # ---- building -------------------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], bits: int = 256, threshold: int = 31) -> Self:
        values: list[str] = []
        ids: list[int] = []
        for value, id_ in entries:
            values.append(value)
            ids.append(int(id_))
        return cls.from_hexes(values, ids, bits=bits, threshold=threshold)

    @classmethod
    def from_hexes(
        cls, values: Sequence[str], ids: Sequence[int] | npt.ArrayLike, bits: int = 256, threshold: int = 31
    ) -> Self:
        """Build from hex strings (validated; :class:`InvalidHashError` names the bad one)."""
        return cls.from_matrix(hexes_to_words(values, bits), ids, bits=bits, threshold=threshold)

    @classmethod
    def from_matrix(
        cls, matrix: npt.ArrayLike, ids: Sequence[int] | npt.ArrayLike, bits: int = 256, threshold: int = 31
    ) -> Self:
        """Build from an (n, 4) uint64 or (n, 32) uint8 matrix (PDQ) and one id per row."""
        index = cls(bits, threshold)
        words = _as_words(matrix, bits)
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if id_array.shape[0] != words.shape[0]:
            raise ValueError(f"{words.shape[0]} hashes but {id_array.shape[0]} ids")
        index._words, index._ids = words, id_array.copy()
        index._alive = np.ones(words.shape[0], dtype=bool)
        index._rebuild()
        return index

    def add(self, value: str, id_: int) -> None:
        self._pending_hex.append(_normalise(value, self.bits // 4))
        self._pending_ids.append(int(id_))

    def add_many(self, entries: Iterable[tuple[str, int]]) -> None:
        for value, id_ in entries:
            self.add(value, id_)

    def _flush(self) -> None:
        """Move pending hex strings into the tail; fold a long tail into the sorted arrays."""
        if self._pending_hex:
            block = hexes_to_words(self._pending_hex, self.bits)
            self._words = np.concatenate([self._words, block])
            self._ids = np.concatenate([self._ids, np.asarray(self._pending_ids, dtype=np.int64)])
            self._alive = np.concatenate([self._alive, np.ones(len(self._pending_ids), dtype=bool)])
            self._pending_hex, self._pending_ids = [], []
        if self._words.shape[0] - self._indexed > self.tail_limit:
            self._rebuild()

    def _rebuild(self) -> None:
        """Drop tombstoned rows and re-sort every chunk (a radix sort per chunk: seconds at 10M)."""
        if self._dead:
            keep = self._alive
            self._words, self._ids = self._words[keep], self._ids[keep]
            self._alive = np.ones(self._words.shape[0], dtype=bool)
            self._dead = 0
        n = self._words.shape[0]
        order = np.empty(self._n_chunks * n, dtype=np.int32)
        offsets = np.empty((self._n_chunks, _KEYS + 1), dtype=np.int64)
        for j in range(self._n_chunks):
            keys = _chunk(self._words, j).astype(np.uint16)
            order[j * n : (j + 1) * n] = np.argsort(keys, kind="stable")
            offsets[j, 0] = 0
            np.cumsum(np.bincount(keys, minlength=_KEYS), out=offsets[j, 1:])
            del keys
        self._order, self._offsets, self._indexed = order, offsets, n

    def remove_ids(self, ids: Iterable[int] | npt.NDArray[np.integer[Any]]) -> int:
        """Tombstone every row whose id is in ``ids``; return how many rows were removed.

        Takes effect for the very next query. Compacts (rebuilds) once a quarter of the rows
        are dead, so memory and scan work do not grow without bound.
        """
        self._flush()
        targets = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        hit = self._alive & np.isin(self._ids, targets)
        removed = int(hit.sum())
        if removed:
            self._alive[hit] = False
            self._dead += removed
            if self._dead * 4 >= self._words.shape[0]:
                self._rebuild()
        return removed

    # ---- querying -------------------------------------------------------------------------

    def _query_words(self, values: Sequence[str] | npt.NDArray[Any]) -> WordArray:
        if isinstance(values, np.ndarray):
            return _as_words(values, self.bits)
        items = list(values)
        return hexes_to_words(items, self.bits) if items else np.zeros((0, self.bits // 64), np.uint64)

    def query(self, value: str, threshold: int | None = None) -> list[IndexMatch]:
        query = hexes_to_words([_normalise(value, self.bits // 4)], self.bits)
        return self._search(query, self.threshold if threshold is None else threshold)[0]

    def query_many(
        self, values: Sequence[str] | npt.NDArray[Any], threshold: int | None = None
    ) -> list[list[IndexMatch]]:
        """Query many hashes at once: hex strings, or an (n, 4) uint64 / (n, 32) uint8 matrix."""
        return self._search(self._query_words(values), self.threshold if threshold is None else threshold)

    def _search(self, queries: WordArray, threshold: int) -> list[list[IndexMatch]]:
        self._flush()
        if threshold < 0:
            return [[] for _ in range(queries.shape[0])]
        radius = threshold // self._n_chunks
        parts: list[tuple[IntArray, IntArray, IntArray]] = []
        if radius > _MAX_RADIUS:
            parts.append(self._scan(queries, 0, threshold))
        else:
            # Expected candidates per query: probes times the mean bucket size.
            per_query = self._n_chunks * len(_MASKS[radius]) * max(1, self._indexed // _KEYS)
            step = max(1, _CANDIDATE_BUDGET // per_query)
            for start in range(0, queries.shape[0], step):
                owners, rows, dists = self._probe(queries[start : start + step], radius, threshold)
                parts.append((owners + start, rows, dists))
            if self._words.shape[0] > self._indexed:
                parts.append(self._scan(queries, self._indexed, threshold))
        if not parts:
            return [[] for _ in range(queries.shape[0])]
        owners, rows, dists = (np.concatenate(column) for column in zip(*parts, strict=True))
        return self._collect(queries.shape[0], owners, rows, dists)

    def _probe(self, queries: WordArray, radius: int, threshold: int) -> tuple[IntArray, IntArray, IntArray]:
        """Candidates from the sorted chunks (radius-r neighbours of every chunk), verified."""
        n, q, m = self._indexed, queries.shape[0], self._n_chunks
        if n == 0 or q == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        masks = _MASKS[radius]
        chunk_keys = np.stack([_chunk(queries, j) for j in range(m)], axis=1)  # (q, m)
        keys = chunk_keys[:, :, np.newaxis] ^ masks[np.newaxis, np.newaxis, :]  # (q, m, p)
        chunk_ids = np.arange(m)[np.newaxis, :, np.newaxis]
        starts = self._offsets[chunk_ids, keys]
        lengths = (self._offsets[chunk_ids, keys + 1] - starts).ravel()
        bases = (starts + chunk_ids * n).ravel()
        total = int(lengths.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        # Expand the (base, length) ranges into positions without a Python loop.
        first_out = np.cumsum(lengths) - lengths
        positions = np.repeat(bases - first_out, lengths) + np.arange(total, dtype=np.int64)
        rows = self._order[positions]
        probes_per_query = m * masks.shape[0]
        per_query = np.add.reduceat(lengths, np.arange(0, q * probes_per_query, probes_per_query))
        owner = np.repeat(np.arange(q, dtype=np.int64), per_query)
        dist = _distances(np.take(self._words, rows, axis=0), np.take(queries, owner, axis=0))
        keep = dist <= threshold
        if self._dead:
            keep &= self._alive[rows]
        return owner[keep], rows[keep].astype(np.int64), dist[keep]

    def _scan(self, queries: WordArray, start: int, threshold: int) -> tuple[IntArray, IntArray, IntArray]:
        """Brute-force popcount over rows [start, n) (the tail, or everything for large t)."""
        owners, rows, dists = [], [], []
        block = self._words[start:]
        for i in range(queries.shape[0]):
            dist = hamming_many(block, queries[i])
            hit = np.flatnonzero(dist <= threshold)
            if self._dead:
                hit = hit[self._alive[start + hit]]
            owners.append(np.full(hit.shape[0], i, dtype=np.int64))
            rows.append(hit.astype(np.int64) + start)
            dists.append(dist[hit].astype(np.int64))
        if not owners:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(owners), np.concatenate(rows), np.concatenate(dists)

    def _collect(self, q: int, owners: IntArray, rows: IntArray, dists: IntArray) -> list[list[IndexMatch]]:
        """Deduplicate (a row can share several chunks with a query) and sort each query's hits."""
        results: list[list[IndexMatch]] = [[] for _ in range(q)]
        if owners.shape[0] == 0:
            return results
        key = owners * max(1, self._words.shape[0]) + rows
        _, first = np.unique(key, return_index=True)
        owners, ids, dists = owners[first], self._ids[rows[first]], dists[first]
        order = np.lexsort((ids, dists, owners))
        for o, d, i in zip(owners[order].tolist(), dists[order].tolist(), ids[order].tolist(), strict=True):
            results[o].append(IndexMatch(d, i))
        return results

    def __len__(self) -> int:
        return int(self._words.shape[0] - self._dead + len(self._pending_ids))

    # ---- persistence ----------------------------------------------------------------------

    def serialise(self) -> bytes:
        """Header, big-endian words and little-endian ids of the live rows.

        The sorted chunk arrays are not stored: rebuilding them is a few radix sorts, cheaper
        than reading 20 bytes per row more from disk or Redis.
        """
        self._flush()
        words, ids = self._words[self._alive], self._ids[self._alive]
        header = _HEADER.pack(_MAGIC, _VERSION, self.bits, words.shape[0], self.threshold)
        return header + words.astype(">u8").tobytes() + ids.astype("<i8").tobytes()

    @classmethod
    def deserialise(cls, data: bytes) -> Self:
        try:
            magic, version, bits, count, threshold = _HEADER.unpack_from(data, 0)
        except struct.error:
            raise ValueError("index data is truncated") from None
        if magic != _MAGIC or version != _VERSION:
            raise ValueError("not a takedown multi-index (bad magic or version)")
        if bits <= 0 or bits % 64:
            raise ValueError("index data has an invalid bit length")
        words_end = _HEADER.size + count * bits // 8
        if len(data) != words_end + count * 8:
            raise ValueError("index data has the wrong length")
        words = np.frombuffer(data, dtype=">u8", count=count * bits // 64, offset=_HEADER.size)
        ids = np.frombuffer(data, dtype="<i8", count=count, offset=words_end)
        return cls.from_matrix(words.astype(np.uint64).reshape(count, bits // 64), ids, bits, threshold)
