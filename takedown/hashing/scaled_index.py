"""A sub-linear, exact Hamming index for millions of PDQ hashes: sorted-array multi-index hashing.

Why this design (measured in docs/benchmarks/index.md against python-threatexchange's
``PDQIndex``, a FAISS ``IndexBinaryMultiHash``, and brute force):

* **Exact by the pigeonhole principle.** The bits are cut into ``m`` contiguous chunks. If two
  hashes differ in at most ``t`` bits, at least one chunk differs in at most ``t // m`` bits
  (otherwise every chunk would differ in ``t // m + 1`` or more, ``m * (t // m + 1) > t``), and
  that holds whatever the chunks' lengths. So probing every chunk value within ``r = t // m`` bits
  of the query's chunk finds every hash within ``t``. Each candidate is then checked with a full
  popcount, so nothing beyond the threshold is returned either.
* **The chunk length follows the size** (Norouzi, Punjani and Fleet's multi-index hashing: chunks
  of about ``log2(n)`` bits). Sixteen 16-bit chunks (radius 1 for PDQ's 31: ``16 * 17 = 272``
  probes) suit up to about a million hashes; at 10 million their buckets hold ~150 rows each and
  a query verifies ~41,000 candidates, each a random read. Eleven chunks of 23-24 bits (radius 2:
  ~3,100 probes) cut that to ~3,200 candidates, about six times less work per query, for a fixed
  ~450 MB of bucket offsets. :func:`choose_chunks` picks the count with the least expected
  probes + candidates, with chunks no longer than ``log2(n) + 1`` bits so the offsets never
  dwarf the hashes.
* **Lean.** Each chunk is a counting sort of the rows by that chunk's value: ``2**L + 1`` int32
  offsets plus an ``int32`` row permutation. At 10 million PDQ hashes that is 440 MB of
  permutations + 450 MB of offsets + 320 MB of hashes, against several GiB for hash maps of
  Python or C++ vectors; and every array is flat, so a snapshot file can hold them as they are
  and processes can memory-map them (:mod:`takedown.hashing.snapshot`).
* **Fast to build.** One or two stable ``argsort`` passes on ``uint16`` digits per chunk (numpy's
  radix sort); no per-hash Python work.
* **Batch queries are vectorised**: probes, candidate expansion and verification run over blocks
  of queries at once, which is what the batch lookup API needs.

Rows appended after the last build sit in a small *tail* that is scanned by brute force, and is
folded into the sorted arrays when it grows past :attr:`MultiIndexHammingIndex.tail_limit`.
Removal is a **tombstone mask** (``remove_ids`` flips a bit; the next query already skips those
rows), with a compaction rebuild when a quarter of the rows are dead (unless
``compact_fraction`` is ``None``: a memory-mapped snapshot must never be copied), so a withdrawn
hash leaves the results immediately.

Thresholds too large for the chunk probes to pay off (``t // m > 2``, i.e. ``t >= 48`` for PDQ)
fall back to a full scan; still exact, just linear.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, ClassVar, Final, Self

import numpy as np
import numpy.typing as npt

from takedown.hashing.bits import HEX_DIGITS, WordArray, hamming_many
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.index import IndexMatch, SignalIndex

#: Chunk lengths the layout may use. Below 16 bits buckets are too full to pay for the probes;
#: above 24 the dense offsets (2**L entries per chunk) cost more memory than the hashes.
MIN_CHUNK_BITS: Final = 16
MAX_CHUNK_BITS: Final = 24
_MAGIC: Final = b"TDMI"
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<4sHHQi")  # magic, version, bits, count, threshold
#: Probe radius above which a linear scan is cheaper than the chunk neighbourhoods.
_MAX_RADIUS: Final = 2
#: Hex strings converted per block when building from text, to bound the temporary memory.
_HEX_BLOCK: Final = 1 << 20
#: Probes + candidates handled at once in a batch query: blocks of this size stay in cache and
#: keep the temporaries to a few MB, while amortising numpy's per-call overhead over many queries.
_WORK_BUDGET: Final = 100_000

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


# ---- chunk layout ---------------------------------------------------------------------------


def chunk_layout(bits: int, chunks: int) -> tuple[tuple[int, int], ...]:
    """``(first bit, length)`` of each of ``chunks`` contiguous, nearly equal bit ranges.

    Bits are numbered in the hex text's order (bit 0 is the top bit of the first hex digit). The
    longer chunks come first; sixteen chunks of a 256-bit hash are its sixteen 16-bit words.
    """
    if not 1 <= chunks <= bits:
        raise ValueError(f"cannot cut {bits} bits into {chunks} chunks")
    base, longer = divmod(bits, chunks)
    lengths = [base + 1] * longer + [base] * (chunks - longer)
    starts = [sum(lengths[:j]) for j in range(chunks)]
    return tuple(zip(starts, lengths, strict=True))


@functools.cache
def _masks(length: int, radius: int) -> IntArray:
    """All ``length``-bit XOR masks with at most ``radius`` bits set (a chunk's neighbourhood)."""
    masks = [0]
    for r in range(1, radius + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(length), r))
    return np.asarray(masks, dtype=np.int64)


def _neighbours(length: int, radius: int) -> int:
    return sum(math.comb(length, r) for r in range(radius + 1))


def choose_chunks(bits: int, threshold: int, rows: int) -> int:
    """The chunk count with the least expected work per query for ``rows`` random hashes.

    Work = probes (bucket lookups) + candidates (rows verified), which cost about the same in
    the vectorised query: ``sum_j N(L_j, r) * (1 + rows / 2**L_j)`` with ``r = threshold // m``.
    Chunks are kept within [16, min(24, ceil(log2(rows)) + 1)] bits, so small indexes keep the
    4 MB layout of sixteen 16-bit chunks. Ties go to more (shorter) chunks: less memory.
    """
    longest = min(MAX_CHUNK_BITS, max(MIN_CHUNK_BITS, math.ceil(math.log2(max(rows, 2))) + 1))
    best, best_cost = max(1, bits // MIN_CHUNK_BITS), math.inf
    for m in range(max(1, bits // MIN_CHUNK_BITS), math.ceil(bits / longest) - 1, -1):
        radius = threshold // m
        layout = chunk_layout(bits, m)
        if radius > _MAX_RADIUS or max(length for _, length in layout) > longest:
            continue
        cost = sum(_neighbours(length, radius) * (1 + rows / 2**length) for _, length in layout)
        if cost < best_cost:
            best, best_cost = m, cost
    return best


def offsets_size(layout: Sequence[tuple[int, int]]) -> int:
    """Entries of the flat offsets array of a layout: ``2**L + 1`` per chunk."""
    return sum((1 << length) + 1 for _, length in layout)


def _chunk(words: WordArray, start: int, length: int) -> IntArray:
    """Bits ``start .. start + length - 1`` (hex text order) of every row, as int64 keys."""
    word, offset = divmod(start, 64)
    mask = np.uint64((1 << length) - 1)
    if offset + length <= 64:
        return ((words[:, word] >> np.uint64(64 - offset - length)) & mask).astype(np.int64)
    low_bits = offset + length - 64  # the chunk spans two words
    high = (words[:, word] << np.uint64(low_bits)) & mask
    return (high | (words[:, word + 1] >> np.uint64(64 - low_bits))).astype(np.int64)


def _stable_argsort(keys: IntArray, length: int) -> IntArray:
    """Rows ordered by key, equal keys in row order: LSD radix on 16-bit digits (numpy's radix sort).

    numpy sorts 64-bit keys with timsort, several times slower than two 16-bit radix passes.
    """
    if length <= 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    first = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return first[np.argsort((keys[first] >> 16).astype(np.uint16), kind="stable")]


@dataclass(frozen=True)
class _ChunkGroup:
    """Chunks of one length, probed together with one set of masks."""

    length: int
    starts: tuple[int, ...]
    chunk_ids: IntArray  # positions in the layout
    offset_bases: IntArray  # where each chunk's offsets start in the flat offsets array


def _groups(layout: Sequence[tuple[int, int]]) -> tuple[_ChunkGroup, ...]:
    bases = np.cumsum([0] + [(1 << length) + 1 for _, length in layout])[:-1]
    out = []
    for length in sorted({length for _, length in layout}, reverse=True):
        ids = [j for j, (_, size) in enumerate(layout) if size == length]
        out.append(
            _ChunkGroup(
                length,
                tuple(layout[j][0] for j in ids),
                np.asarray(ids, dtype=np.int64),
                bases[ids].astype(np.int64),
            )
        )
    return tuple(out)


# ---- hex and matrices -----------------------------------------------------------------------


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


def as_words(matrix: npt.ArrayLike, bits: int) -> WordArray:
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


def _ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenated ``range(start, start + length)`` for every pair, without a Python loop."""
    total = int(lengths.sum())
    first_out = np.cumsum(lengths) - lengths
    return np.repeat(starts - first_out, lengths) + np.arange(total, dtype=np.int64)


@dataclass(frozen=True)
class IndexArrays:
    """The whole sorted structure of a built index, as flat arrays (what a snapshot stores).

    ``order[j * n : (j + 1) * n]`` is chunk ``j``'s row permutation; chunk ``j``'s offsets start
    at ``sum(2**L_i + 1 for i < j)`` in ``offsets``. ``ids_sorted``: ids are non-decreasing, so a
    removal can use a binary search instead of a scan.
    """

    bits: int
    threshold: int
    chunks: int
    words: WordArray
    ids: IntArray
    order: Int32Array
    offsets: Int32Array
    ids_sorted: bool


class MultiIndexHammingIndex(SignalIndex):
    """Exact Hamming index over ``chunks`` bit ranges (see the module docstring for why it is exact).

    Same interface as :class:`~takedown.hashing.index.HammingIndex` plus ``query_many``,
    ``from_matrix``/``from_hexes``/``from_arrays``, ``arrays`` and ``remove_ids``. ``chunks``
    fixes the chunk count; ``None`` lets every (re)build choose it from the row count. Not
    thread-safe for writes: build or mutate under a lock, or build a new index and swap the
    reference (queries only read).
    """

    kind = "multi-index"
    #: Rows appended after a build are scanned linearly until the tail is this long.
    tail_limit: ClassVar[int] = 65_536

    def __init__(self, bits: int = 256, threshold: int = 31, *, chunks: int | None = None) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64")
        if chunks is not None:
            chunk_layout(bits, chunks)  # validates
        self.bits = bits
        self.threshold = threshold
        self.chunks = chunks
        #: Compact (rebuild without dead rows) when this fraction of the rows is dead; None: never
        #: (a memory-mapped snapshot must not be copied into private memory).
        self.compact_fraction: float | None = 0.25
        self._words: WordArray = np.zeros((0, bits // 64), dtype=np.uint64)
        self._ids: IntArray = np.zeros(0, dtype=np.int64)
        self._ids_sorted: bool | None = True
        self._alive: npt.NDArray[np.bool_] = np.ones(0, dtype=bool)
        self._dead = 0
        # Sorted-array structure over rows [0, _indexed): see IndexArrays.
        self._indexed = 0
        self._layout: tuple[tuple[int, int], ...] = chunk_layout(bits, chunks or bits // MIN_CHUNK_BITS)
        self._groups = _groups(self._layout)
        self._offsets: Int32Array = np.zeros(0, dtype=np.int32)
        self._order: Int32Array = np.zeros(0, dtype=np.int32)
        self._pending_hex: list[str] = []
        self._pending_ids: list[int] = []

    @property
    def layout(self) -> tuple[tuple[int, int], ...]:
        """``(first bit, length)`` of each chunk of the current build."""
        return self._layout

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
        cls,
        values: Sequence[str],
        ids: Sequence[int] | npt.ArrayLike,
        bits: int = 256,
        threshold: int = 31,
        *,
        chunks: int | None = None,
    ) -> Self:
        """Build from hex strings (validated; :class:`InvalidHashError` names the bad one)."""
        return cls.from_matrix(hexes_to_words(values, bits), ids, bits=bits, threshold=threshold, chunks=chunks)

    @classmethod
    def from_matrix(
        cls,
        matrix: npt.ArrayLike,
        ids: Sequence[int] | npt.ArrayLike,
        bits: int = 256,
        threshold: int = 31,
        *,
        chunks: int | None = None,
    ) -> Self:
        """Build from an (n, 4) uint64 or (n, 32) uint8 matrix (PDQ) and one id per row."""
        index = cls(bits, threshold, chunks=chunks)
        words = as_words(matrix, bits)
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if id_array.shape[0] != words.shape[0]:
            raise ValueError(f"{words.shape[0]} hashes but {id_array.shape[0]} ids")
        index._words, index._ids = words, id_array.copy()
        index._ids_sorted = None
        index._alive = np.ones(words.shape[0], dtype=bool)
        index._rebuild()
        return index

    @classmethod
    def from_arrays(cls, arrays: IndexArrays) -> Self:
        """Wrap an already built structure without copying or sorting anything.

        The arrays may be read-only views of a memory-mapped file: queries and ``remove_ids``
        only read them (the tombstone mask is private), and compaction is off. Adding rows or
        compacting would copy them into private memory, so a snapshot keeps additions in a
        separate index instead (:class:`takedown.hashing.snapshot.SnapshotIndex`).
        """
        index = cls(arrays.bits, arrays.threshold, chunks=arrays.chunks)
        n = arrays.words.shape[0]
        layout = chunk_layout(arrays.bits, arrays.chunks)
        if arrays.words.shape != (n, arrays.bits // 64) or arrays.words.dtype != np.uint64:
            raise ValueError(f"words must be ({n}, {arrays.bits // 64}) uint64")
        if arrays.ids.shape != (n,) or arrays.ids.dtype != np.int64:
            raise ValueError(f"ids must be ({n},) int64")
        if arrays.order.shape != (arrays.chunks * n,) or arrays.order.dtype != np.int32:
            raise ValueError(f"order must be ({arrays.chunks * n},) int32")
        if arrays.offsets.shape != (offsets_size(layout),) or arrays.offsets.dtype != np.int32:
            raise ValueError(f"offsets must be ({offsets_size(layout)},) int32")
        for group in index._groups:
            ends = group.offset_bases + (1 << group.length)
            if np.any(arrays.offsets[group.offset_bases] != 0) or np.any(arrays.offsets[ends] != n):
                raise ValueError("offsets do not cover the rows: the structure is corrupt")
        index._words, index._ids, index._ids_sorted = arrays.words, arrays.ids, arrays.ids_sorted
        index._alive = np.ones(n, dtype=bool)
        index._order, index._offsets, index._indexed = arrays.order, arrays.offsets, n
        index.compact_fraction = None
        return index

    def arrays(self) -> IndexArrays:
        """The built structure as flat arrays, after folding the tail and dropping dead rows."""
        self._flush()
        if self._dead or self._indexed != self._words.shape[0]:
            self._rebuild()
        return IndexArrays(
            bits=self.bits,
            threshold=self.threshold,
            chunks=len(self._layout),
            words=self._words,
            ids=self._ids,
            order=self._order,
            offsets=self._offsets,
            ids_sorted=self._sorted_ids(),
        )

    def live_rows(self) -> tuple[WordArray, IntArray]:
        """Copies of the live rows' hashes and ids, without rebuilding (a mapped index stays mapped)."""
        self._flush()
        return self._words[self._alive], self._ids[self._alive]

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
            self._ids_sorted = None
            self._pending_hex, self._pending_ids = [], []
        if self._words.shape[0] - self._indexed > self.tail_limit:
            self._rebuild()

    def _rebuild(self) -> None:
        """Drop tombstoned rows, choose the layout and counting-sort every chunk."""
        if self._dead:
            keep = self._alive
            self._words, self._ids = self._words[keep], self._ids[keep]
            self._alive = np.ones(self._words.shape[0], dtype=bool)
            self._dead = 0
        n = self._words.shape[0]
        if n >= 2**31:
            raise ValueError("the index holds at most 2**31 - 1 rows (int32 permutations)")
        chunks = self.chunks or choose_chunks(self.bits, self.threshold, n)
        layout = chunk_layout(self.bits, chunks)
        order = np.empty(chunks * n, dtype=np.int32)
        offsets = np.empty(offsets_size(layout), dtype=np.int32)
        base = 0
        for j, (start, length) in enumerate(layout):
            keys = _chunk(self._words, start, length)
            order[j * n : (j + 1) * n] = _stable_argsort(keys, length)
            offsets[base] = 0
            offsets[base + 1 : base + (1 << length) + 1] = np.cumsum(np.bincount(keys, minlength=1 << length))
            base += (1 << length) + 1
            del keys
        self._layout, self._groups = layout, _groups(layout)
        self._order, self._offsets, self._indexed = order, offsets, n

    def _sorted_ids(self) -> bool:
        if self._ids_sorted is None:
            self._ids_sorted = bool(np.all(self._ids[1:] >= self._ids[:-1]))
        return self._ids_sorted

    def remove_ids(self, ids: Iterable[int] | npt.NDArray[np.integer[Any]]) -> int:
        """Tombstone every row whose id is in ``ids``; return how many rows were removed.

        Takes effect for the very next query. Compacts (rebuilds) once ``compact_fraction`` of
        the rows are dead, so memory and scan work do not grow without bound. With ids in
        ascending order (snapshots are written so) the rows are found by binary search, in
        microseconds instead of a scan of every id.
        """
        self._flush()
        targets = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).reshape(-1)
        if targets.shape[0] == 0 or self._ids.shape[0] == 0:
            return 0
        if self._sorted_ids():
            low = np.searchsorted(self._ids, targets, side="left")
            high = np.searchsorted(self._ids, targets, side="right")
            rows = np.unique(_ranges(low.astype(np.int64), (high - low).astype(np.int64)))
        else:
            rows = np.flatnonzero(np.isin(self._ids, targets))
        rows = rows[self._alive[rows]]
        removed = int(rows.shape[0])
        if removed:
            self._alive[rows] = False
            self._dead += removed
            if self.compact_fraction is not None and self._dead >= self.compact_fraction * self._words.shape[0]:
                self._rebuild()
        return removed

    # ---- querying -------------------------------------------------------------------------

    def _query_words(self, values: Sequence[str] | npt.NDArray[Any]) -> WordArray:
        if isinstance(values, np.ndarray):
            return as_words(values, self.bits)
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

    def search_words(self, queries: WordArray, threshold: int | None = None) -> tuple[IntArray, IntArray, IntArray]:
        """Raw batch search: (query position, row, distance) of every hit, each (query, row) once.

        The fast path for callers that merge several indexes (a snapshot and its changes) or
        want arrays rather than lists of :class:`IndexMatch`; ``ids_of`` maps rows to ids.
        """
        limit = self.threshold if threshold is None else threshold
        return self._hits(as_words(queries, self.bits), limit)

    def ids_of(self, rows: IntArray) -> IntArray:
        return self._ids[rows]

    def _search(self, queries: WordArray, threshold: int) -> list[list[IndexMatch]]:
        owners, rows, dists = self._hits(queries, threshold)
        return collect_matches(queries.shape[0], owners, self._ids[rows], dists)

    def _hits(self, queries: WordArray, threshold: int) -> tuple[IntArray, IntArray, IntArray]:
        self._flush()
        empty = np.zeros(0, dtype=np.int64)
        if threshold < 0 or queries.shape[0] == 0:
            return empty, empty, empty
        radius = threshold // len(self._layout)
        parts: list[tuple[IntArray, IntArray, IntArray]] = []
        if radius > _MAX_RADIUS:
            parts.append(self._scan(queries, 0, threshold))
        else:
            if self._indexed:
                step = max(1, _WORK_BUDGET // self._work_per_query(radius))
                for start in range(0, queries.shape[0], step):
                    owners, rows, dists = self._probe(queries[start : start + step], radius, threshold)
                    parts.append((owners + start, rows, dists))
            if self._words.shape[0] > self._indexed:
                parts.append(self._scan(queries, self._indexed, threshold))
        if not parts:
            return empty, empty, empty
        owners, rows, dists = (np.concatenate(column) for column in zip(*parts, strict=True))
        # A row can share several chunks with a query: keep each (query, row) once.
        _, first = np.unique(owners * max(1, self._words.shape[0]) + rows, return_index=True)
        return owners[first], rows[first], dists[first]

    def _work_per_query(self, radius: int) -> int:
        """Expected probes + candidates of one query (random data), to size the query blocks."""
        n = self._indexed
        return max(1, int(sum(_neighbours(length, radius) * (1 + n / 2**length) for _, length in self._layout)))

    def _probe(self, queries: WordArray, radius: int, threshold: int) -> tuple[IntArray, IntArray, IntArray]:
        """Candidates from the sorted chunks (radius-r neighbours of every chunk), verified."""
        n, q = self._indexed, queries.shape[0]
        positions: list[IntArray] = []
        counts: list[IntArray] = []
        for group in self._groups:
            masks = _masks(group.length, radius)
            keys = np.stack([_chunk(queries, start, group.length) for start in group.starts], axis=1)  # (q, g)
            slots = (keys[:, :, np.newaxis] ^ masks) + group.offset_bases[np.newaxis, :, np.newaxis]  # (q, g, p)
            starts = self._offsets[slots].astype(np.int64)
            lengths = (self._offsets[slots + 1] - starts).reshape(q, -1)
            bases = starts + (group.chunk_ids * n)[np.newaxis, :, np.newaxis]
            positions.append(_ranges(bases.ravel(), lengths.ravel()))
            counts.append(lengths.sum(axis=1))
        rows = self._order[np.concatenate(positions)].astype(np.int64)
        # Positions are group-major, then query-major within a group: the owners follow suit.
        owner = np.concatenate([np.repeat(np.arange(q, dtype=np.int64), c) for c in counts])
        dist = _distances(np.take(self._words, rows, axis=0), np.take(queries, owner, axis=0))
        keep = dist <= threshold
        if self._dead:
            keep &= self._alive[rows]
        return owner[keep], rows[keep], dist[keep]

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

    def __len__(self) -> int:
        return int(self._words.shape[0] - self._dead + len(self._pending_ids))

    # ---- persistence ----------------------------------------------------------------------

    def serialise(self) -> bytes:
        """Header, big-endian words and little-endian ids of the live rows.

        The sorted chunk arrays are not stored: rebuilding them is a few radix sorts, cheaper
        than reading 20 bytes per row more from disk or Redis. (A snapshot file stores them, to
        be memory-mapped: :mod:`takedown.hashing.snapshot`.)
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


def collect_matches(q: int, owners: IntArray, ids: IntArray, dists: IntArray) -> list[list[IndexMatch]]:
    """One list of matches per query from raw (query, id, distance) hits, nearest first, then by id."""
    results: list[list[IndexMatch]] = [[] for _ in range(q)]
    if owners.shape[0] == 0:
        return results
    order = np.lexsort((ids, dists, owners))
    for o, d, i in zip(owners[order].tolist(), dists[order].tolist(), ids[order].tolist(), strict=True):
        results[o].append(IndexMatch(d, i))
    return results
