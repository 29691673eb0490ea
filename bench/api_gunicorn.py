"""gunicorn hooks for bench/api.py: pick the lookup index, and load the bank before serving.

`BENCH_LOOKUP_INDEX=scaled` swaps `takedown.matching.bank.LOOKUP_INDEX_CLASS` (the one-line
choice) for the multi-index in the worker. Each worker then loads its PDQ bank from PostgreSQL
and writes how long that took to `BENCH_READY_DIR/<pid>`, so the load generator starts only when
every worker is ready and load time is not counted as throughput.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    from takedown.matching import bank

    if os.environ.get("BENCH_LOOKUP_INDEX") == "scaled":
        from takedown.hashing.scaled_index import MultiIndexHammingIndex

        bank.LOOKUP_INDEX_CLASS = MultiIndexHammingIndex
    from takedown.matching.bank import lookup_bank

    started = time.perf_counter()
    pdq = lookup_bank("pdq")
    pdq.sync(force=True)
    pdq.query_many(["0" * 64])  # the first query folds pending rows into the index
    elapsed = time.perf_counter() - started
    ready = Path(os.environ["BENCH_READY_DIR"])
    (ready / str(os.getpid())).write_text(f"{elapsed:.3f}")
