"""The consented bank: PDQ hashes of every active case whose survivor agreed to share them.

Found media of any check are looked up here as well as against their own case, so a copy of one
survivor's image found at a link reported in another case is not missed. The index lives in
memory and is rebuilt from PostgreSQL when its checkpoint moves (a hash added, or a case
withdrawn or its consent changed), as Meta's hasher-matcher-actioner does; ids in the index are
positions in `entries`, never model objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet

from takedown.cases.models import CaseStatus, RegisteredHash
from takedown.hashing.crop_search import window_target
from takedown.hashing.hashes import Hash
from takedown.hashing.index import HammingIndex
from takedown.hashing.signals import PDQ_MIN_QUALITY

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
        self.index = HammingIndex(256, PDQ_THRESHOLD)
        self.entries: list[BankEntry] = []

    def current(self) -> tuple[HammingIndex, list[BankEntry]]:
        rows = _consented()
        stats = rows.aggregate(n=Count("id"), last=Max("id"), cases=Count("case_id", distinct=True))
        checkpoint = (stats["n"], stats["last"] or 0, stats["cases"])
        with self.lock:
            if checkpoint != self.checkpoint:
                entries: list[BankEntry] = []
                index = HammingIndex(256, PDQ_THRESHOLD)
                pairs = []
                for rh in rows.only("case_id", "item_id", "variant", "value").iterator(chunk_size=2000):
                    pairs.append((rh.value, len(entries)))
                    entries.append(BankEntry(rh.case_id, rh.item_id, rh.variant))
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
