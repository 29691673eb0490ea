"""Index snapshots: the multi-index written once at a checkpoint, memory-mapped by every process.

Why: a bank of 10 million hashes built by each web worker from PostgreSQL costs about ten minutes
(decrypting every value) and a private gigabyte per worker. A snapshot is built once per
checkpoint (the feed's change id) by a task, with the values already in the index's own arrays;
each worker maps the file read-only, so the operating system keeps one copy of its pages for all
processes, and a new worker answers its first query within a second or two of opening it. The
worker then applies the changes after the checkpoint (:meth:`SnapshotIndex.apply`): additions go
into a small private index, removals are tombstones on the mapped rows, exactly like the lookup
bank's delta updates, so a withdrawal stops matching at the next sync.

File format, version 1 (little-endian, the machine's own order, so no array is converted on load):

* bytes 0-4095, the header page: ``b"TDIXSNAP"``, the format version (uint32), the length of a
  UTF-8 JSON document (uint32), the JSON document, zero padding, and in the last 32 bytes the
  SHA-256 of everything before them. The JSON says what the file is (signal, bits, threshold,
  chunk count and layout, row count, checkpoint, creation time, byte order, whether ids are
  sorted), where each section lies (name, dtype, shape, offset, length) and ``body_sha256``,
  the SHA-256 of every byte after the header page.
* the sections, each starting on a 4096-byte boundary: ``words`` (n x bits/64 uint64, the hash
  bits as numbers: bit 0 of the hex text is the top bit of word 0), ``ids`` (n int64, ascending),
  ``order`` (chunks x n int32) and ``offsets`` (sum of 2**L + 1 int32): the arrays of
  :class:`~takedown.hashing.scaled_index.IndexArrays`, byte for byte.

Checks: every open verifies the magic, the version, the header's digest, the JSON's fields, that
the sections fit the file exactly and the arrays' shapes, the offsets' ends and the id order: a
foreign, truncated or mangled file is refused with :class:`SnapshotError` saying why. Hashing the
whole body (about 1.4 s per GB) is done where bytes cross a boundary (the writer computes it, the
object-storage download verifies it before the file is put in place) and on demand
(``open_snapshot(path, verify=True)``, :func:`verify_snapshot`), not at every worker start.

Protection at rest (see docs/scaling.md): the file holds consented hashes in the clear, because
encrypting it would make every process decrypt it into private memory and lose the shared pages
that are the point. So it is protected the way the database's own files are: it is written with
mode 0600 into a directory of its own with mode 0700 (:class:`~takedown.hashing.snapshot_store.
LocalSnapshotStore` refuses a directory others can read), owned by the service's user, on an
encrypted volume (LUKS/dm-crypt, or the cloud provider's encrypted disk), or on a tmpfs so that
nothing reaches a disk at all. The copy kept in object storage for other machines is encrypted
(AES-256-GCM, by the store), since that bucket is outside the encrypted volume.

Pure library: no Django. The lookup bank wires it to the feed (see docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from takedown.hashing.bits import WordArray
from takedown.hashing.index import IndexMatch
from takedown.hashing.scaled_index import (
    IndexArrays,
    IntArray,
    MultiIndexHammingIndex,
    as_words,
    chunk_layout,
    collect_matches,
    hexes_to_words,
)

MAGIC: Final = b"TDIXSNAP"
FORMAT_VERSION: Final = 1
FORMAT_NAME: Final = "takedown-index-snapshot"
#: Header page and section alignment: one memory page, so sections never share a page.
PAGE: Final = 4096
SUFFIX: Final = ".tdsnap"
_PREFIX: Final = struct.Struct("<8sII")  # magic, version, JSON length
_DIGEST_SIZE: Final = 32
#: Bytes hashed per read when computing or verifying a body digest.
_READ_BLOCK: Final = 8 << 20
#: The sections of format 1, in file order, with their dtypes.
_SECTIONS: Final = (("words", "<u8"), ("ids", "<i8"), ("order", "<i4"), ("offsets", "<i4"))
#: Changes applied per batch: bounded memory while catching up on many, and one removal pass per batch.
_APPLY_BATCH: Final = 50_000


class SnapshotError(Exception):
    """A file that is not a usable snapshot: foreign, truncated, corrupt or of another version."""


@dataclass(frozen=True)
class Section:
    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int


@dataclass(frozen=True)
class SnapshotHeader:
    """What a snapshot holds and where (the JSON of the header page)."""

    signal: str
    bits: int
    threshold: int
    chunks: int
    count: int
    checkpoint: int
    created_at: float
    ids_sorted: bool
    body_sha256: str
    sections: tuple[Section, ...]
    version: int = FORMAT_VERSION
    byte_order: str = "little"
    layout: tuple[tuple[int, int], ...] = field(default=())

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        last = max(self.sections, key=lambda s: s.offset)
        return last.offset + last.nbytes

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": self.version,
            "signal": self.signal,
            "bits": self.bits,
            "threshold": self.threshold,
            "chunks": self.chunks,
            "layout": [list(c) for c in self.layout],
            "count": self.count,
            "checkpoint": self.checkpoint,
            "created_at": self.created_at,
            "byte_order": self.byte_order,
            "ids_sorted": self.ids_sorted,
            "body_sha256": self.body_sha256,
            "sections": [
                {"name": s.name, "dtype": s.dtype, "shape": list(s.shape), "offset": s.offset, "nbytes": s.nbytes}
                for s in self.sections
            ],
        }


@dataclass(frozen=True)
class IndexChange:
    """The current state of one id changed after a checkpoint; ``value`` None: no longer indexed."""

    change_id: int
    id: int
    value: str | None


# ---- writing -----------------------------------------------------------------------------------


def _aligned(offset: int) -> int:
    return -(-offset // PAGE) * PAGE


def _sections_for(arrays: IndexArrays) -> list[tuple[str, str, npt.NDArray[Any]]]:
    data = {"words": arrays.words, "ids": arrays.ids, "order": arrays.order, "offsets": arrays.offsets}
    return [(name, dtype, np.ascontiguousarray(data[name], dtype=np.dtype(dtype))) for name, dtype in _SECTIONS]


def _header_page(header: SnapshotHeader) -> bytes:
    document = json.dumps(header.to_json(), sort_keys=True, separators=(",", ":")).encode()
    prefix = _PREFIX.pack(MAGIC, header.version, len(document))
    body = prefix + document
    if len(body) > PAGE - _DIGEST_SIZE:
        raise SnapshotError("snapshot header does not fit in its page")
    body += b"\0" * (PAGE - _DIGEST_SIZE - len(body))
    return body + hashlib.sha256(body).digest()


def write_snapshot(
    index: MultiIndexHammingIndex | IndexArrays, path: Path, *, checkpoint: int, signal: str
) -> SnapshotHeader:
    """Write ``index`` (folded and compacted first) as a snapshot file at ``checkpoint``.

    The file appears atomically: it is written to a hidden temporary file beside ``path`` with
    mode 0600, flushed to disk, then renamed, so a reader sees the old file or the whole new one.
    """
    if sys.byteorder != "little":
        raise SnapshotError("snapshots are written in little-endian order; this machine is big-endian")
    arrays = index.arrays() if isinstance(index, MultiIndexHammingIndex) else index
    parts = _sections_for(arrays)
    sections: list[Section] = []
    offset = PAGE
    for name, dtype, array in parts:
        sections.append(Section(name, dtype, tuple(int(d) for d in array.shape), offset, int(array.nbytes)))
        offset = _aligned(offset + array.nbytes)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(b"\0" * PAGE)  # the header page, written last (it holds the body's digest)
            position = PAGE
            for section, (_name, _dtype, array) in zip(sections, parts, strict=True):
                pad = b"\0" * (section.offset - position)
                out.write(pad)
                digest.update(pad)
                view = memoryview(array.reshape(-1).view(np.uint8).data)
                for start in range(0, len(view), _READ_BLOCK):
                    block = view[start : start + _READ_BLOCK]
                    out.write(block)
                    digest.update(block)
                position = section.offset + section.nbytes
            header = SnapshotHeader(
                signal=signal,
                bits=arrays.bits,
                threshold=arrays.threshold,
                chunks=arrays.chunks,
                count=int(arrays.words.shape[0]),
                checkpoint=int(checkpoint),
                created_at=round(time.time(), 3),
                ids_sorted=bool(arrays.ids_sorted),
                body_sha256=digest.hexdigest(),
                sections=tuple(sections),
                layout=chunk_layout(arrays.bits, arrays.chunks),
            )
            out.seek(0)
            out.write(_header_page(header))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return header


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def build_snapshot(
    path: Path,
    *,
    values: Sequence[str] | npt.NDArray[Any],
    ids: Sequence[int] | npt.ArrayLike,
    checkpoint: int,
    signal: str = "pdq",
    bits: int = 256,
    threshold: int = 31,
    chunks: int | None = None,
) -> SnapshotHeader:
    """Build the index of ``values`` (hex strings or a hash matrix) and write it at ``checkpoint``.

    Rows are sorted by id first, so a worker finds the rows of changed ids by binary search.
    """
    if isinstance(values, np.ndarray):
        words = as_words(values, bits)
    else:
        items = list(values)
        words = hexes_to_words(items, bits) if items else np.zeros((0, bits // 64), dtype=np.uint64)
    id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
    if id_array.shape[0] != words.shape[0]:
        raise ValueError(f"{words.shape[0]} hashes but {id_array.shape[0]} ids")
    by_id = np.argsort(id_array, kind="stable")
    index = MultiIndexHammingIndex.from_matrix(words[by_id], id_array[by_id], bits, threshold, chunks=chunks)
    return write_snapshot(index, path, checkpoint=checkpoint, signal=signal)


# ---- reading -----------------------------------------------------------------------------------


def _parse_header(page: bytes, where: str) -> SnapshotHeader:
    if len(page) < PAGE:
        raise SnapshotError(f"{where}: too short to be a snapshot ({len(page)} bytes)")
    magic, version, length = _PREFIX.unpack_from(page, 0)
    if magic != MAGIC:
        raise SnapshotError(f"{where}: not a takedown index snapshot (bad magic)")
    if version != FORMAT_VERSION:
        raise SnapshotError(f"{where}: snapshot format version {version}; this code reads version {FORMAT_VERSION}")
    if hashlib.sha256(page[: PAGE - _DIGEST_SIZE]).digest() != page[PAGE - _DIGEST_SIZE : PAGE]:
        raise SnapshotError(f"{where}: the header is corrupt (its digest does not match)")
    if _PREFIX.size + length > PAGE - _DIGEST_SIZE:
        raise SnapshotError(f"{where}: the header is corrupt (bad length)")
    try:
        doc = json.loads(page[_PREFIX.size : _PREFIX.size + length])
        if doc["format"] != FORMAT_NAME or doc["version"] != version:
            raise SnapshotError(f"{where}: the header names another format")
        sections = tuple(
            Section(
                str(s["name"]), str(s["dtype"]), tuple(int(d) for d in s["shape"]), int(s["offset"]), int(s["nbytes"])
            )
            for s in doc["sections"]
        )
        return SnapshotHeader(
            signal=str(doc["signal"]),
            bits=int(doc["bits"]),
            threshold=int(doc["threshold"]),
            chunks=int(doc["chunks"]),
            count=int(doc["count"]),
            checkpoint=int(doc["checkpoint"]),
            created_at=float(doc["created_at"]),
            ids_sorted=bool(doc["ids_sorted"]),
            body_sha256=str(doc["body_sha256"]),
            sections=sections,
            version=int(doc["version"]),
            byte_order=str(doc["byte_order"]),
            layout=tuple((int(a), int(b)) for a, b in doc["layout"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{where}: the header is corrupt ({type(exc).__name__}: {exc})") from None


def _check_layout(header: SnapshotHeader, file_size: int, where: str) -> None:
    """The sections are exactly format 1's, fit the file, and match the row count and layout."""
    if header.byte_order != sys.byteorder:
        raise SnapshotError(f"{where}: written in {header.byte_order}-endian order; this machine is {sys.byteorder}")
    if header.bits <= 0 or header.bits % 64:
        raise SnapshotError(f"{where}: invalid bit length {header.bits}")
    try:
        layout = chunk_layout(header.bits, header.chunks)
    except ValueError as exc:
        raise SnapshotError(f"{where}: {exc}") from None
    n, words = header.count, header.bits // 64
    expected = {
        "words": ("<u8", (n, words)),
        "ids": ("<i8", (n,)),
        "order": ("<i4", (header.chunks * n,)),
        "offsets": ("<i4", (sum((1 << length) + 1 for _, length in layout),)),
    }
    if [s.name for s in header.sections] != [name for name, _ in _SECTIONS]:
        raise SnapshotError(f"{where}: unexpected sections {[s.name for s in header.sections]}")
    position = PAGE
    for s in header.sections:
        dtype, shape = expected[s.name]
        itemsize = np.dtype(dtype).itemsize
        if s.dtype != dtype or s.shape != shape or s.nbytes != itemsize * int(np.prod(shape)):
            raise SnapshotError(f"{where}: section {s.name} has the wrong type or shape")
        if s.offset % PAGE or s.offset < position:
            raise SnapshotError(f"{where}: section {s.name} is misplaced")
        position = s.offset + s.nbytes
    if position != file_size:
        raise SnapshotError(f"{where}: the file is {file_size} bytes, the header describes {position} (truncated?)")


def read_header(path: Path) -> SnapshotHeader:
    """The header of a snapshot file, checked (magic, version, digest, sections against the size)."""
    path = Path(path)
    with path.open("rb") as f:
        page = f.read(PAGE)
        size = os.fstat(f.fileno()).st_size
    header = _parse_header(page, str(path))
    _check_layout(header, size, str(path))
    return header


def body_digest(path: Path) -> str:
    """SHA-256 of everything after the header page (what ``body_sha256`` records)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        f.seek(PAGE)
        while block := f.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify_snapshot(path: Path) -> SnapshotHeader:
    """Check the header and the digest of the whole body (reads the file once)."""
    header = read_header(path)
    if body_digest(path) != header.body_sha256:
        raise SnapshotError(f"{path}: the contents are corrupt (the body's digest does not match the header)")
    return header


def open_snapshot(path: Path, *, verify: bool = False) -> SnapshotIndex:
    """Memory-map a snapshot read-only and wrap it for queries and changes.

    Nothing is copied: the index's arrays are views of the mapping, shared with every other
    process that maps the same file (measured in docs/benchmarks/index.md). ``verify`` also
    hashes the whole body first. The mapping lives as long as the returned object.
    """
    header = verify_snapshot(path) if verify else read_header(path)
    with Path(path).open("rb") as f:
        mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_WILLNEED"):
        # Start reading the file into the page cache now, asynchronously, so a cold start's first
        # queries do not each wait for a disk read (a no-op when other processes have it cached).
        mapping.madvise(mmap.MADV_WILLNEED)
    views: dict[str, npt.NDArray[Any]] = {}
    for s in header.sections:
        count = int(np.prod(s.shape))
        views[s.name] = np.frombuffer(mapping, dtype=np.dtype(s.dtype), count=count, offset=s.offset).reshape(s.shape)
    ids = views["ids"].view(np.int64)
    if header.ids_sorted and header.count > 1 and not bool(np.all(ids[1:] >= ids[:-1])):
        raise SnapshotError(f"{path}: the ids are not in the order the header claims")
    arrays = IndexArrays(
        bits=header.bits,
        threshold=header.threshold,
        chunks=header.chunks,
        words=views["words"].view(np.uint64),
        ids=ids,
        order=views["order"].view(np.int32),
        offsets=views["offsets"].view(np.int32),
        ids_sorted=header.ids_sorted,
    )
    try:
        base = MultiIndexHammingIndex.from_arrays(arrays)
    except ValueError as exc:
        raise SnapshotError(f"{path}: {exc}") from None
    return SnapshotIndex(base, header, Path(path), arrays)


# ---- the loaded index --------------------------------------------------------------------------


class _DeltaIndex(MultiIndexHammingIndex):
    """The private index of rows added after the checkpoint: a short tail keeps batch scans cheap."""

    tail_limit: ClassVar[int] = 4096


class SnapshotIndex:
    """A memory-mapped snapshot at a checkpoint plus the changes applied after it.

    The mapped rows are never copied: an id changed after the checkpoint is tombstoned there and,
    if it still has a value, added to a small private index. ``checkpoint`` is the last change
    applied, the cursor to read further changes from. Not thread-safe for writes (like the index):
    apply changes under the caller's lock, or swap in a new object.
    """

    def __init__(self, base: MultiIndexHammingIndex, header: SnapshotHeader, path: Path, mapped: IndexArrays) -> None:
        self.base = base
        self.mapped = mapped  # the views of the file, read-only
        self.header = header
        self.path = path
        self.signal = header.signal
        self.bits = header.bits
        self.threshold = header.threshold
        self.checkpoint = header.checkpoint
        self.delta: MultiIndexHammingIndex = _DeltaIndex(header.bits, header.threshold)

    def warm(self) -> int:
        """Read one byte of every page of the mapping; returns the bytes covered.

        A worker that calls this (in the background, after it answers) maps every page at once
        instead of faulting them in during its first queries; the pages are the page cache's, so
        this costs no memory beyond the shared file.
        """
        covered = 0
        for array in (self.mapped.words, self.mapped.ids, self.mapped.order, self.mapped.offsets):
            flat = array.reshape(-1).view(np.uint8)
            int(flat[::PAGE].sum())
            covered += flat.shape[0]
        return covered

    def apply(self, changes: Iterable[IndexChange]) -> int:
        """Apply changes in change order; returns how many were newer than the checkpoint.

        Each change is the id's current state, so for an id changed several times the last one
        wins. Changes at or before the checkpoint are skipped, which makes re-applying harmless.
        """
        pending: dict[int, str | None] = {}
        newest = self.checkpoint
        applied = 0
        for change in changes:
            if change.change_id <= self.checkpoint:
                continue
            pending.pop(change.id, None)
            pending[change.id] = change.value
            newest = max(newest, change.change_id)
            applied += 1
            if len(pending) >= _APPLY_BATCH:
                self._apply(pending)
                self.checkpoint, pending = newest, {}
        self._apply(pending)
        self.checkpoint = newest
        return applied

    def _apply(self, pending: Mapping[int, str | None]) -> None:
        if not pending:
            return
        ids = np.fromiter(pending.keys(), dtype=np.int64, count=len(pending))
        self.base.remove_ids(ids)
        self.delta.remove_ids(ids)
        self.delta.add_many((value, id_) for id_, value in pending.items() if value is not None)

    def query(self, value: str, threshold: int | None = None) -> list[IndexMatch]:
        return self.query_many([value], threshold)[0]

    def query_many(
        self, values: Sequence[str] | npt.NDArray[Any], threshold: int | None = None
    ) -> list[list[IndexMatch]]:
        """Matches of each value among the live rows (snapshot and changes), nearest first."""
        if isinstance(values, np.ndarray):
            queries: WordArray = as_words(values, self.bits)
        else:
            items = list(values)
            queries = hexes_to_words(items, self.bits) if items else np.zeros((0, self.bits // 64), np.uint64)
        owners: list[IntArray] = []
        ids: list[IntArray] = []
        dists: list[IntArray] = []
        for index in (self.base, self.delta):
            if len(index):
                o, rows, d = index.search_words(queries, threshold)
                owners.append(o)
                ids.append(index.ids_of(rows))
                dists.append(d)
        if not owners:
            return [[] for _ in range(queries.shape[0])]
        return collect_matches(queries.shape[0], np.concatenate(owners), np.concatenate(ids), np.concatenate(dists))

    def __len__(self) -> int:
        return len(self.base) + len(self.delta)

    @property
    def changed_fraction(self) -> float:
        """Rows tombstoned in the snapshot or added since, over its rows: when to build a new one."""
        dead = self.header.count - len(self.base)
        return (dead + len(self.delta)) / max(1, self.header.count)

    def live_rows(self) -> tuple[WordArray, IntArray]:
        """Every live (hash, id) row, snapshot and changes: what the next snapshot is built from."""
        base_words, base_ids = self.base.live_rows()
        delta_words, delta_ids = self.delta.live_rows()
        return np.concatenate([base_words, delta_words]), np.concatenate([base_ids, delta_ids])

    def rebase(self, path: Path) -> SnapshotHeader:
        """Write a new snapshot at the current checkpoint from the live rows (no database read).

        The build task can keep snapshots current this way: open the latest, apply the changes
        since its checkpoint, rebase; only the changed values are read (and decrypted) again.
        """
        words, ids = self.live_rows()
        return build_snapshot(
            path,
            values=words,
            ids=ids,
            checkpoint=self.checkpoint,
            signal=self.signal,
            bits=self.bits,
            threshold=self.threshold,
        )
