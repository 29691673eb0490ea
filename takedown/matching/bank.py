"""The consented bank: every hash survivors agreed to share, indexed in memory, read from the feed.

One bank serves both readers: matching (a found medium is looked up among other consenting
cases, so a copy of one survivor's image found at a link reported in another case is not missed)
and the platform API's batch lookups. Its only source is the feed's change log
(`cases.FeedEntry`, ordered by `change_id`): each process keeps an index per perceptual signal
and applies the changes after its checkpoint, as Meta's hasher-matcher-actioner does. A withdrawal
or a stopped share is a tombstone in the feed, so it leaves the bank at the next sync (at most
`PLATFORM_LOOKUP_REFRESH_SECONDS` later) without a rebuild; nothing counts rows to guess whether
the bank is stale. Ids in the index are positions, never model objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from takedown.cases.models import FeedEntry, FeedStatus
from takedown.hashing.crop_search import window_target
from takedown.hashing.hashes import Hash
from takedown.hashing.index import IndexMatch
from takedown.hashing.scaled_index import MultiIndexHammingIndex
from takedown.hashing.signals import get_signal_type, hash_trusted


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


_BANKS: dict[str, DeltaBank] = {}
_BANKS_LOCK = threading.Lock()


def lookup_bank(signal: str) -> DeltaBank:
    """The process's bank for a perceptual signal (made on first use, then kept current)."""
    with _BANKS_LOCK:
        bank = _BANKS.get(signal)
        if bank is None:
            kind = get_signal_type(signal)
            bank = DeltaBank(
                bits=kind.hex_length * 4,
                threshold=kind.default_threshold,
                load_changes=_load_changes(signal),
                refresh_seconds=settings.PLATFORM_LOOKUP_REFRESH_SECONDS,
            )
            _BANKS[signal] = bank
        return bank


def bank_lookup(found: list[Hash], *, exclude_case_id: int) -> list[DeltaHit]:
    """Closest consented registered PDQ hash per other case for a found medium's PDQ hashes.

    A crop-search window is only compared with the registered crop it stands for (the rule that
    keeps the window search free of false matches; see takedown/hashing/crop_search.py).
    """
    queries = [h for h in found if h.signal == "pdq" and hash_trusted(h.signal, h.quality)]
    if not queries:
        return []
    answers = lookup_bank("pdq").query_many([h.value for h in queries])
    best: dict[int, DeltaHit] = {}
    for h, hits in zip(queries, answers, strict=True):
        target = window_target(h.variant)
        for hit in hits:
            if hit.case_id == exclude_case_id or (target is not None and hit.variant != target):
                continue
            current = best.get(hit.case_id)
            if current is None or hit.distance < current.distance:
                best[hit.case_id] = hit
    return sorted(best.values(), key=lambda hit: (hit.distance, hit.case_id))
