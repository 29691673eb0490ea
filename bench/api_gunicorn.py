"""gunicorn hooks for bench/api.py: pick the lookup index, and load the bank before serving.

`BENCH_LOOKUP_INDEX=scaled` swaps `takedown.matching.bank.LOOKUP_INDEX_CLASS` (the one-line
choice) for the multi-index in the worker; `BENCH_LOOKUP_INDEX=snapshot` replaces the PDQ bank
with a SnapshotBank mapping the snapshot bench/api.py built in `BENCH_SNAPSHOT_DIR`. Each worker
then loads its PDQ bank (from PostgreSQL, or by mapping the snapshot and applying the changes
after its checkpoint) and writes how long that took to `BENCH_READY_DIR/<pid>`, so the load
generator starts only when every worker is ready and load time is not counted as throughput.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


class _SnapshotLookupBank:
    """The lookup bank's interface (``query_many`` -> DeltaHit lists) over a SnapshotBank.

    A stand-in for the integration (issue 18) so the API can be measured on a mapped snapshot:
    the index's ids are feed entry ids, and the case ids come from one query for the matched ids.
    """

    def __init__(self, bank: Any) -> None:
        self.bank = bank

    def sync(self, *, force: bool = False) -> None:
        self.bank.sync(force=force)

    def query_many(self, values: Any) -> list[list[Any]]:
        from takedown.cases.models import FeedEntry
        from takedown.matching.bank import DeltaHit

        answers = self.bank.query_many(list(values))
        ids = {m.id for found in answers for m in found}
        cases: dict[int, int | None] = (
            dict(FeedEntry.objects.filter(pk__in=ids).values_list("id", "case_id")) if ids else {}
        )
        return [
            [DeltaHit(m.id, case, m.distance) for m in found if (case := cases.get(m.id)) is not None]
            for found in answers
        ]


def _use_snapshot() -> None:
    from django.conf import settings

    from takedown.hashing.snapshot import IndexChange
    from takedown.hashing.snapshot_bank import SnapshotBank
    from takedown.hashing.snapshot_store import LocalSnapshotStore
    from takedown.matching import bank as banks

    load = banks._load_changes("pdq")
    bank = SnapshotBank(
        store=LocalSnapshotStore(Path(os.environ["BENCH_SNAPSHOT_DIR"])),
        signal="pdq",
        load_changes=lambda after: (IndexChange(c.change_id, c.entry_id, c.value) for c in load(after)),
        refresh_seconds=settings.PLATFORM_LOOKUP_REFRESH_SECONDS,
    )
    banks._BANKS["pdq"] = _SnapshotLookupBank(bank)  # type: ignore[assignment]


def post_worker_init(worker: Any) -> None:
    from takedown.matching import bank

    if os.environ.get("BENCH_LOOKUP_INDEX") == "scaled":
        from takedown.hashing.scaled_index import MultiIndexHammingIndex

        bank.LOOKUP_INDEX_CLASS = MultiIndexHammingIndex
    if os.environ.get("BENCH_LOOKUP_INDEX") == "snapshot":
        _use_snapshot()
    from takedown.matching.bank import lookup_bank

    started = time.perf_counter()
    pdq = lookup_bank("pdq")
    pdq.sync(force=True)
    pdq.query_many(["0" * 64])  # the first query folds pending rows into the index
    elapsed = time.perf_counter() - started
    ready = Path(os.environ["BENCH_READY_DIR"])
    (ready / str(os.getpid())).write_text(f"{elapsed:.3f}")
