"""gunicorn hooks for bench/api.py: pick the lookup index, and load the bank before serving.

`BENCH_LOOKUP_INDEX=scaled` swaps `takedown.matching.bank.LOOKUP_INDEX_CLASS` (the one-line
choice) for the multi-index in the worker (with `BANK_SNAPSHOT_STORE=none`, set by bench/api.py,
each worker builds its bank from PostgreSQL); `BENCH_LOOKUP_INDEX=snapshot` runs the service as
deployed: `BANK_SNAPSHOT_STORE=local` and `BANK_SNAPSHOT_DIR` point at the snapshot bench/api.py
published, and `lookup_bank` maps it. Each worker loads its PDQ bank and writes how long that took
to `BENCH_READY_DIR/<pid>`, so the load generator starts only when every worker is ready and load
time is not counted as throughput. With `BENCH_PROFILE_DIR`, each worker runs under cProfile from
then on and writes `<pid>.prof` there when it exits (a separate run: the profiler slows it).
"""

from __future__ import annotations

import cProfile
import os
import time
from pathlib import Path
from typing import Any

_PROFILE: cProfile.Profile | None = None


def post_worker_init(worker: Any) -> None:
    global _PROFILE
    from takedown.matching import bank

    if os.environ.get("BENCH_LOOKUP_INDEX") == "scaled":
        from takedown.hashing.scaled_index import MultiIndexHammingIndex

        bank.LOOKUP_INDEX_CLASS = MultiIndexHammingIndex
    started = time.perf_counter()
    pdq = bank.lookup_bank("pdq")
    pdq.sync(force=True)
    pdq.query_many(["0" * 64])  # the first query folds pending rows into the index
    elapsed = time.perf_counter() - started
    if os.environ.get("BENCH_LOOKUP_INDEX") == "snapshot":
        # Measuring the fallback (the whole bank read from PostgreSQL) by mistake would take minutes.
        assert isinstance(pdq, bank.FeedBank) and pdq.serving_snapshot, "the worker did not map the snapshot"
    ready = Path(os.environ["BENCH_READY_DIR"])
    (ready / str(os.getpid())).write_text(f"{elapsed:.3f}")
    if os.environ.get("BENCH_PROFILE_DIR"):
        _PROFILE = cProfile.Profile()
        _PROFILE.enable()


def worker_exit(server: Any, worker: Any) -> None:
    if _PROFILE is not None:
        _PROFILE.disable()
        _PROFILE.dump_stats(str(Path(os.environ["BENCH_PROFILE_DIR"]) / f"{os.getpid()}.prof"))
