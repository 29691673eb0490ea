"""The consented bank: every hash survivors agreed to share, indexed in memory, read from the feed.

One bank serves both readers: matching (a found medium is looked up among other consenting
cases, so a copy of one survivor's image found at a link reported in another case is not missed)
and the platform API's batch lookups. Its only source is the feed's change log
(`cases.FeedEntry`, ordered by `change_id`): each process keeps an index per perceptual signal
and applies the changes after its checkpoint, as Meta's hasher-matcher-actioner does. A withdrawal
or a stopped share is a tombstone in the feed, so it leaves the bank at the next sync (at most
`PLATFORM_LOOKUP_REFRESH_SECONDS` later) without a rebuild; nothing counts rows to guess whether
the bank is stale. Ids in the index are positions, never model objects.

At scale (`BANK_SNAPSHOT_STORE`, docs/scaling.md) a process does not build its index from the
database: the beat's `bank_snapshots_build` task writes the index once per checkpoint as a
snapshot file (`takedown.hashing.snapshot`), every process maps the latest one (its pages shared
between processes) and applies the feed's changes after the snapshot's checkpoint, additions in a
small private index and removals as tombstones over the mapped rows. Until a first snapshot is
published a process falls back to the `DeltaBank` built from the feed.

Either way, a hit is answered only after one query confirms its entry is still shared now
(`_resolve`): a withdrawal, a stopped share or a hold takes effect at the very next lookup, in
every process, before any sync; the sync then removes it from the index itself.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from takedown.cases.models import FeedCounter, FeedEntry, FeedStatus
from takedown.hashing.hashes import Hash
from takedown.hashing.index import IndexMatch
from takedown.hashing.pairing import is_bank_query, may_compare
from takedown.hashing.scaled_index import MultiIndexHammingIndex
from takedown.hashing.signals import get_signal_type, hash_trusted
from takedown.hashing.snapshot import IndexChange, SnapshotError
from takedown.hashing.snapshot_bank import BankRows, SnapshotBank, snapshot_build
from takedown.hashing.snapshot_store import LocalSnapshotStore, S3SnapshotStore, SnapshotRef, SnapshotStore

logger = logging.getLogger(__name__)

#: The perceptual signals the bank indexes (exact ones are looked up by their keyed digest).
BANK_SIGNALS = ("pdq", "phash")


class BatchIndex(Protocol):
    """What the lookup bank needs of an index: `SignalIndex`'s building and batch queries."""

    def add_many(self, entries: Iterable[tuple[str, int]]) -> None: ...

    def query_many(self, values: list[str], threshold: int | None = None) -> list[list[IndexMatch]]: ...

    def __len__(self) -> int: ...


#: The index class platform lookups use (built as `cls(bits, threshold)`): the sorted-array
#: multi-index, exact within the threshold and about 2,000 hashes/s per batch at 1M hashes
#: (docs/benchmarks/index.md, docs/benchmarks/api.md); the brute-force HammingIndex answered 12/s.
LOOKUP_INDEX_CLASS: Callable[[int, int], BatchIndex] = MultiIndexHammingIndex


@dataclass(frozen=True)
class BankChange:
    """The current state of one bank entry whose change id moved; `value` None: no longer in the bank."""

    change_id: int
    entry_id: int
    value: str | None
    case_id: int | None
    variant: str = ""  # the registered variant ("original", "crop-c10"...): the crop-window rule needs it


@dataclass(frozen=True)
class DeltaHit:
    entry_id: int
    case_id: int
    distance: int
    variant: str = ""
    public_id: str = ""  # the feed's opaque id, filled in when a hit is confirmed (`_resolve`)


class DeltaBank:
    """An in-memory index kept current by applying changes after its checkpoint (the last change id).

    `load_changes(after)` yields the current state of every entry changed after `after`, in change
    order; it is the only way the bank reads the database, so the caller decides what "in the bank"
    means (consent, withdrawal, holds). Additions are appended to the index; a removed or changed
    entry's old position is marked dead and filtered out of results, so a withdrawal takes effect at
    the next sync without a rebuild. When dead positions outnumber live ones the index is rebuilt
    from scratch. Syncs are at most `refresh_seconds` apart: that interval is the bound on how long
    a withdrawn hash can still be answered.
    """

    def __init__(
        self,
        *,
        bits: int,
        threshold: int,
        load_changes: Callable[[int], Iterable[BankChange]],
        refresh_seconds: float,
        index_class: Callable[[int, int], BatchIndex] | None = None,
    ) -> None:
        self.bits = bits
        self.threshold = threshold
        self.load_changes = load_changes
        self.refresh_seconds = refresh_seconds
        self.index_class = index_class or LOOKUP_INDEX_CLASS
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.index: BatchIndex = self.index_class(self.bits, self.threshold)
        self.positions: list[tuple[int, int, str]] = []  # position -> (entry id, case id, variant)
        self.position_of: dict[int, int] = {}  # live entry id -> position
        self.checkpoint = 0
        self.synced_at = float("-inf")

    def _apply(self, changes: Iterable[BankChange]) -> None:
        pending: list[tuple[str, int]] = []
        for change in changes:
            self.position_of.pop(change.entry_id, None)
            if change.value is not None and change.case_id is not None:
                position = len(self.positions)
                self.positions.append((change.entry_id, change.case_id, change.variant))
                self.position_of[change.entry_id] = position
                pending.append((change.value, position))
                if len(pending) >= 50_000:  # bounded memory while loading millions
                    self.index.add_many(pending)
                    pending = []
            self.checkpoint = max(self.checkpoint, change.change_id)
        self.index.add_many(pending)

    def sync(self, *, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            if not force and now - self.synced_at < self.refresh_seconds:
                return
            dead = len(self.positions) - len(self.position_of)
            if dead > max(1000, len(self.position_of)):
                self._reset()
            self._apply(self.load_changes(self.checkpoint))
            self.synced_at = now

    def __len__(self) -> int:
        return len(self.position_of)

    def query_many(self, values: Sequence[str]) -> list[list[DeltaHit]]:
        """Live entries within the threshold of each value (values already normalised)."""
        self.sync()
        with self.lock:
            index, positions, position_of = self.index, self.positions, self.position_of
            if not values or not position_of:
                return [[] for _ in values]
            answers = index.query_many(list(values), self.threshold)
        result: list[list[DeltaHit]] = []
        for matches in answers:
            hits = []
            for match in matches:
                entry_id, case_id, variant = positions[match.id]
                if position_of.get(entry_id) == match.id:
                    hits.append(DeltaHit(entry_id, case_id, match.distance, variant))
            result.append(hits)
        return result


def _load_changes(signal: str) -> Callable[[int], Iterator[BankChange]]:
    """The bank's only read: feed entries of one signal changed after a change id, in order."""

    def load(after: int) -> Iterator[BankChange]:
        # Tuples, not model instances: loading a million rows is dominated by per-row overhead
        # (decrypting each value, about 25 us, is the part that must stay).
        rows = (
            FeedEntry.objects.filter(signal=signal, change_id__gt=after)
            .order_by("change_id")
            .values_list("id", "change_id", "status", "held_at", "case_id", "value", "registered_hash__variant")
        )
        for entry_id, change_id, status, held_at, case_id, value, variant in rows.iterator(chunk_size=10_000):
            shared = status == FeedStatus.ACTIVE and held_at is None
            yield BankChange(change_id, entry_id, value if shared else None, case_id, variant or "")

    return load


def _index_changes(signal: str) -> Callable[[int], Iterator[IndexChange]]:
    """The same read as the snapshot's change log (ids are feed entry ids)."""
    load = _load_changes(signal)

    def changes(after: int) -> Iterator[IndexChange]:
        return (IndexChange(c.change_id, c.entry_id, c.value) for c in load(after))

    return changes


def _load_all(signal: str) -> Callable[[], BankRows]:
    """Every entry of one signal in the bank now, for the first snapshot (later ones are rebased).

    The checkpoint is the feed counter read first: every change up to it has committed (writers
    hold the counter's row until commit), and a row read later that is newer is simply applied
    again as a change after the checkpoint, which is harmless.
    """

    def load() -> BankRows:
        checkpoint = FeedCounter.objects.filter(pk=1).values_list("last_change_id", flat=True).first() or 0
        rows = (
            FeedEntry.objects.filter(
                signal=signal, status=FeedStatus.ACTIVE, held_at__isnull=True, case_id__isnull=False
            )
            .order_by("id")
            .values_list("id", "value")
        )
        ids: list[int] = []
        values: list[str] = []
        for entry_id, value in rows.iterator(chunk_size=10_000):
            if value:
                ids.append(entry_id)
                values.append(value)
        return BankRows(values=values, ids=ids, checkpoint=checkpoint)

    return load


def _s3_key() -> bytes:
    try:
        key = base64.urlsafe_b64decode(settings.BANK_SNAPSHOT_S3_KEY.encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured("BANK_SNAPSHOT_S3_KEY must be 32 random bytes in URL-safe base64")
    return key


def snapshot_store() -> SnapshotStore | None:
    """The configured store of bank snapshots (`BANK_SNAPSHOT_STORE`); None: snapshots are off."""
    kind = settings.BANK_SNAPSHOT_STORE
    if kind == "none":
        return None
    directory = Path(settings.BANK_SNAPSHOT_DIR)
    if kind == "local":
        return LocalSnapshotStore(directory)
    if kind == "s3":
        client = boto3.client(
            "s3",
            endpoint_url=settings.BANK_SNAPSHOT_S3_ENDPOINT_URL or None,
            region_name=settings.BANK_SNAPSHOT_S3_REGION or None,
        )
        return S3SnapshotStore(
            client,
            settings.BANK_SNAPSHOT_S3_BUCKET,
            key=_s3_key(),
            cache_dir=directory,
            prefix=settings.BANK_SNAPSHOT_S3_PREFIX,
        )
    raise ImproperlyConfigured(f"BANK_SNAPSHOT_STORE must be none, local or s3, not {kind!r}")


class LookupBank(Protocol):
    """What readers of the bank use: batch queries answered as confirmed hits."""

    def sync(self, *, force: bool = False) -> None: ...

    def query_many(self, values: Sequence[str]) -> list[list[DeltaHit]]: ...

    def __len__(self) -> int: ...


def _resolve(answers: list[list[tuple[int, int]]]) -> list[list[DeltaHit]]:
    """(entry id, distance) candidates as hits of entries still shared now (one query, only if any).

    This is what makes a withdrawal immediate everywhere: the index may still hold the entry until
    its next sync, but the feed row was made a tombstone in the withdrawal's own transaction.
    """
    ids = {entry_id for found in answers for entry_id, _distance in found}
    if not ids:
        return [[] for _ in answers]
    live = {
        entry_id: (case_id, variant or "", public_id)
        for entry_id, case_id, variant, public_id in FeedEntry.objects.filter(
            pk__in=ids, status=FeedStatus.ACTIVE, held_at__isnull=True, case_id__isnull=False
        ).values_list("id", "case_id", "registered_hash__variant", "public_id")
        if case_id is not None
    }
    result: list[list[DeltaHit]] = []
    for found in answers:
        hits = []
        for entry_id, distance in found:
            state = live.get(entry_id)
            if state is not None:
                hits.append(DeltaHit(entry_id, state[0], distance, state[1], state[2]))
        result.append(hits)
    return result


class FeedBank:
    """One signal's bank in one process: the latest snapshot plus the feed's changes since it.

    Falls back to a `DeltaBank` read from the feed while no snapshot has been published (a new
    deployment before the first build), and drops that copy once a snapshot appears.
    """

    def __init__(self, *, signal: str, store: SnapshotStore, refresh_seconds: float) -> None:
        kind = get_signal_type(signal)
        self.signal = signal
        self.bits = kind.hex_length * 4
        self.threshold = kind.default_threshold
        self.refresh_seconds = refresh_seconds
        self.snapshot = SnapshotBank(
            store=store, signal=signal, load_changes=_index_changes(signal), refresh_seconds=refresh_seconds
        )
        self.fallback: DeltaBank | None = None

    def _fallback(self) -> DeltaBank:
        if self.fallback is None:
            logger.warning("no %s bank snapshot yet: this process builds its bank from the feed", self.signal)
            self.fallback = DeltaBank(
                bits=self.bits,
                threshold=self.threshold,
                load_changes=_load_changes(self.signal),
                refresh_seconds=self.refresh_seconds,
            )
        return self.fallback

    def sync(self, *, force: bool = False) -> None:
        try:
            self.snapshot.sync(force=force)
        except (SnapshotError, OSError, BotoCoreError, ClientError):
            # The store is unreachable or a file is bad: keep answering from the index this process
            # has (hits are still confirmed against the feed, so withdrawals stay effective) and try
            # again at the next sync; the build task writes a good file.
            logger.warning("bank snapshot sync failed for %s; serving the current index", self.signal, exc_info=True)
        if self.snapshot.index is not None:
            self.fallback = None
        else:
            self._fallback().sync(force=force)

    @property
    def serving_snapshot(self) -> bool:
        return self.snapshot.index is not None

    def __len__(self) -> int:
        if self.snapshot.index is not None:
            return len(self.snapshot)
        return 0 if self.fallback is None else len(self.fallback)

    def query_many(self, values: Sequence[str]) -> list[list[DeltaHit]]:
        self.sync()
        if not values:
            return []
        if self.snapshot.index is not None:
            matches = self.snapshot.query_many(list(values), self.threshold)
            return _resolve([[(m.id, m.distance) for m in found] for found in matches])
        answers = self._fallback().query_many(values)
        return _resolve([[(h.entry_id, h.distance) for h in found] for found in answers])


_BANKS: dict[str, LookupBank] = {}
_BANKS_LOCK = threading.Lock()


def lookup_bank(signal: str) -> LookupBank:
    """The process's bank for a perceptual signal (made on first use, then kept current)."""
    with _BANKS_LOCK:
        bank = _BANKS.get(signal)
        if bank is None:
            store = snapshot_store()
            if store is not None:
                bank = FeedBank(signal=signal, store=store, refresh_seconds=settings.PLATFORM_LOOKUP_REFRESH_SECONDS)
            else:
                kind = get_signal_type(signal)
                delta = DeltaBank(
                    bits=kind.hex_length * 4,
                    threshold=kind.default_threshold,
                    load_changes=_load_changes(signal),
                    refresh_seconds=settings.PLATFORM_LOOKUP_REFRESH_SECONDS,
                )
                bank = _ConfirmedDeltaBank(delta)
            _BANKS[signal] = bank
        return bank


class _ConfirmedDeltaBank:
    """A `DeltaBank` whose hits are confirmed against the feed, as `FeedBank`'s are (snapshots off)."""

    def __init__(self, delta: DeltaBank) -> None:
        self.delta = delta

    def sync(self, *, force: bool = False) -> None:
        self.delta.sync(force=force)

    def __len__(self) -> int:
        return len(self.delta)

    def query_many(self, values: Sequence[str]) -> list[list[DeltaHit]]:
        answers = self.delta.query_many(values)
        return _resolve([[(h.entry_id, h.distance) for h in found] for found in answers])


def bank_snapshot_build(*, signal: str) -> SnapshotRef | None:
    """Publish the next snapshot of one signal's bank if it is due; None: off, busy or current.

    Due at the first build, when a hash of the latest snapshot left the bank (its value must not
    stay at rest: the next file leaves it out and the old one is deleted), when more than
    `BANK_SNAPSHOT_MAX_CHANGED_PERCENT` of it changed, or when it is older than
    `BANK_SNAPSHOT_MAX_AGE_SECONDS`. One build per signal at a time (a lock in the cache).
    """
    store = snapshot_store()
    if store is None:
        return None
    lock = f"bank-snapshot-build:{signal}"
    if not cache.add(lock, "1", timeout=settings.BANK_SNAPSHOT_BUILD_TIME_LIMIT):
        return None
    try:
        kind = get_signal_type(signal)
        ref = snapshot_build(
            store=store,
            signal=signal,
            bits=kind.hex_length * 4,
            threshold=kind.default_threshold,
            load_changes=_index_changes(signal),
            load_all=_load_all(signal),
            max_changed_fraction=settings.BANK_SNAPSHOT_MAX_CHANGED_PERCENT / 100,
            max_age_seconds=settings.BANK_SNAPSHOT_MAX_AGE_SECONDS,
        )
    finally:
        cache.delete(lock)
    if ref is not None:
        logger.info("bank snapshot %s published (checkpoint %d, %d bytes)", ref.name, ref.checkpoint, ref.size)
    return ref


def bank_lookup(found: list[Hash], *, exclude_case_id: int) -> list[DeltaHit]:
    """Closest consented registered PDQ hash per other case for a found medium's PDQ hashes.

    The matcher's pairing rule applies (`takedown.hashing.pairing.may_compare`): a search window
    meets only the registered variant(s) it stands for, and variants registered for windows only
    (parts of the picture, off-centre crops, the central 40%) meet nothing else. It is what keeps
    the window search free of false matches. Only the hashes the bank can answer are asked
    (`takedown.hashing.pairing.is_bank_query`: not the windows standing for variants the feed
    never shares, nor skewed crop windows).
    """
    queries = [h for h in found if h.signal == "pdq" and hash_trusted(h.signal, h.quality) and is_bank_query(h.variant)]
    if not queries:
        return []
    answers = lookup_bank("pdq").query_many([h.value for h in queries])
    best: dict[int, DeltaHit] = {}
    for h, hits in zip(queries, answers, strict=True):
        for hit in hits:
            if hit.case_id == exclude_case_id or not may_compare(hit.variant, h.variant):
                continue
            current = best.get(hit.case_id)
            if current is None or hit.distance < current.distance:
                best[hit.case_id] = hit
    return sorted(best.values(), key=lambda hit: (hit.distance, hit.case_id))
