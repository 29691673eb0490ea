"""The consented bank: PDQ hashes of every active case whose survivor agreed to share them.

Found media of any check are looked up here as well as against their own case, so a copy of one
survivor's image found at a link reported in another case is not missed. The index lives in
memory and is rebuilt from PostgreSQL when its checkpoint moves (a hash added, or a case
withdrawn or its consent changed), as Meta's hasher-matcher-actioner does; ids in the index are
positions in `entries`, never model objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Count, Max, QuerySet

from takedown.cases.models import CaseStatus, RegisteredHash
from takedown.hashing.crop_search import window_target
from takedown.hashing.hashes import Hash
from takedown.hashing.index import HammingIndex, IndexMatch, SignalIndex
from takedown.hashing.scaled_index import MultiIndexHammingIndex
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES

ACTIVE = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED)
PDQ_THRESHOLD = 31


@dataclass(frozen=True)
class BankEntry:
    case_id: int
    item_id: str
    variant: str


@dataclass(frozen=True)
class BankHit:
    entry: BankEntry
    distance: int
    found_variant: str


def _consented() -> QuerySet[RegisteredHash]:
    return RegisteredHash.objects.filter(
        signal="pdq", case__consent_share_hashes=True, case__status__in=ACTIVE, quality__gte=PDQ_MIN_QUALITY
    )


class _Bank:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checkpoint: tuple[int, int, int] | None = None
        self.index: SignalIndex = HammingIndex(256, PDQ_THRESHOLD)
        self.entries: list[BankEntry] = []

    def current(self) -> tuple[SignalIndex, list[BankEntry]]:
        rows = _consented()
        stats = rows.aggregate(n=Count("id"), last=Max("id"), cases=Count("case_id", distinct=True))
        checkpoint = (stats["n"], stats["last"] or 0, stats["cases"])
        with self.lock:
            if checkpoint != self.checkpoint:
                entries: list[BankEntry] = []
                pairs = []
                for rh in rows.only("case_id", "item_id", "variant", "value").iterator(chunk_size=2000):
                    pairs.append((rh.value, len(entries)))
                    entries.append(BankEntry(rh.case_id, rh.item_id, rh.variant))
                # The brute-force scan below a few thousand hashes, the exact multi-index above.
                index = SIGNAL_TYPES["pdq"].index_class(len(pairs))(256, PDQ_THRESHOLD)  # type: ignore[call-arg]
                index.add_many(pairs)
                self.index, self.entries, self.checkpoint = index, entries, checkpoint
            return self.index, self.entries


_BANK = _Bank()


def bank_lookup(found: list[Hash], *, exclude_case_id: int) -> list[BankHit]:
    """Closest consented registered hash per other case for a found medium's PDQ hashes.

    A crop-search window is only compared with the registered crop it stands for (the rule that
    keeps the window search free of false matches; see takedown/hashing/crop_search.py).
    """
    index, entries = _BANK.current()
    if not entries:
        return []
    best: dict[int, BankHit] = {}
    for h in found:
        if h.signal != "pdq" or (h.quality or 0) < PDQ_MIN_QUALITY:
            continue
        target = window_target(h.variant)
        for match in index.query(h.value):
            entry = entries[match.id]
            if entry.case_id == exclude_case_id or (target is not None and entry.variant != target):
                continue
            current = best.get(entry.case_id)
            if current is None or match.distance < current.distance:
                best[entry.case_id] = BankHit(entry, match.distance, h.variant)
    return sorted(best.values(), key=lambda hit: (hit.distance, hit.entry.case_id))


# ---------------------------------------------------------------------------------------------------
# The platform lookup bank: one incremental index per perceptual signal, fed by a change log.


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


@dataclass(frozen=True)
class DeltaHit:
    entry_id: int
    case_id: int
    distance: int


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
        self.positions: list[tuple[int, int]] = []  # position -> (entry id, case id)
        self.position_of: dict[int, int] = {}  # live entry id -> position
        self.checkpoint = 0
        self.synced_at = float("-inf")

    def _apply(self, changes: Iterable[BankChange]) -> None:
        pending: list[tuple[str, int]] = []
        for change in changes:
            self.position_of.pop(change.entry_id, None)
            if change.value is not None and change.case_id is not None:
                position = len(self.positions)
                self.positions.append((change.entry_id, change.case_id))
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
                entry_id, case_id = positions[match.id]
                if position_of.get(entry_id) == match.id:
                    hits.append(DeltaHit(entry_id, case_id, match.distance))
            result.append(hits)
        return result
