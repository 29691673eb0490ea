"""A process's lookup bank kept current from snapshots and a change log, and the build task's body.

Pure library (no Django): the caller supplies the store (:mod:`takedown.hashing.snapshot_store`)
and two readers of its change log, so the platforms app can wire the consented feed in a few
lines (docs/scaling.md, "The snapshot's life"):

* ``load_changes(after)``: the current state of every id changed after the change id ``after``,
  in change order, as :class:`~takedown.hashing.snapshot.IndexChange` (value None: not in the bank);
* ``load_all()``: every id in the bank now, with the change id of that state (first build only).

:class:`SnapshotBank` is what each web or matcher process holds: the latest snapshot, mapped,
plus the changes since its checkpoint, synced at most every ``refresh_seconds`` (the bound on
how long a withdrawn hash can still be answered), swapped for a newer snapshot when the build
task publishes one. :func:`snapshot_build` is the build task: it writes the next snapshot when
the latest one is stale, and always when a hash left the bank since, so a withdrawn value is
physically gone from the files within one build interval (the old files are pruned).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

from takedown.hashing.index import IndexMatch
from takedown.hashing.snapshot import IndexChange, SnapshotIndex, build_snapshot, open_snapshot
from takedown.hashing.snapshot_store import SnapshotRef, SnapshotStore

ChangeLoader = Callable[[int], Iterable[IndexChange]]


class SnapshotUnavailable(Exception):
    """No snapshot of this signal has been published yet: the caller falls back or waits."""


@dataclass(frozen=True)
class BankRows:
    """Everything in the bank at one change id: what the first snapshot is built from."""

    values: Sequence[str] | npt.NDArray[Any]
    ids: Sequence[int] | npt.NDArray[Any]
    checkpoint: int


class SnapshotBank:
    """One signal's bank in one process: the latest published snapshot plus the changes after it."""

    def __init__(
        self,
        *,
        store: SnapshotStore,
        signal: str,
        load_changes: ChangeLoader,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.signal = signal
        self.load_changes = load_changes
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.index: SnapshotIndex | None = None
        self.synced_at = float("-inf")

    def sync(self, *, force: bool = False) -> None:
        """Swap in a newer snapshot if one was published, then apply the changes since the checkpoint.

        Fetching (a download, for object storage) and opening a new snapshot, and catching it up,
        happen outside the lock: queries go on against the current index meanwhile.
        """
        with self.lock:
            if not force and self.clock() - self.synced_at < self.refresh_seconds:
                return
            current = self.index
        started = self.clock()
        ref = self.store.latest(self.signal)
        fresh: SnapshotIndex | None = None
        if ref is not None and (current is None or ref.checkpoint > current.header.checkpoint):
            fresh = open_snapshot(self.store.fetch(ref))
            fresh.apply(self.load_changes(fresh.checkpoint))
        with self.lock:
            if fresh is not None and (self.index is None or fresh.header.checkpoint > self.index.header.checkpoint):
                self.index = fresh  # the old mapping goes with its last reference
            if self.index is not None:
                self.index.apply(self.load_changes(self.index.checkpoint))
            self.synced_at = started

    @property
    def checkpoint(self) -> int | None:
        return None if self.index is None else self.index.checkpoint

    def __len__(self) -> int:
        return 0 if self.index is None else len(self.index)

    def query_many(
        self, values: Sequence[str] | npt.NDArray[Any], threshold: int | None = None
    ) -> list[list[IndexMatch]]:
        """Live ids within the threshold of each value (after a sync if one is due)."""
        self.sync()
        with self.lock:
            if self.index is None:
                raise SnapshotUnavailable(f"no {self.signal} snapshot has been published yet")
            return self.index.query_many(values, threshold)


def snapshot_build(
    *,
    store: SnapshotStore,
    signal: str,
    bits: int,
    threshold: int,
    load_changes: ChangeLoader,
    load_all: Callable[[], BankRows],
    max_changed_fraction: float = 0.05,
    max_age_seconds: float = 6 * 3600,
    keep: int = 1,
    now: Callable[[], float] = time.time,
) -> SnapshotRef | None:
    """Publish the next snapshot of ``signal`` if it is due; returns it (None: the latest is current).

    Due when there is none yet (built from ``load_all``), when a hash of the latest one left the
    bank since (withdrawn, closed, held: its value must not stay at rest), when more than
    ``max_changed_fraction`` of it changed, or when it is older than ``max_age_seconds``. The next
    snapshot is the latest's live rows plus the changes (``SnapshotIndex.rebase``): only changed
    values are read from the source. Older files are pruned down to ``keep``.
    """
    latest = store.open_latest(signal)
    staging = store.staging_path(signal)
    if latest is None:
        rows = load_all()
        build_snapshot(
            staging,
            values=rows.values,
            ids=rows.ids,
            checkpoint=rows.checkpoint,
            signal=signal,
            bits=bits,
            threshold=threshold,
        )
    else:
        latest.apply(load_changes(latest.checkpoint))
        left = latest.header.count - len(latest.base)
        stale = now() - latest.header.created_at > max_age_seconds
        if not left and not stale and latest.changed_fraction <= max_changed_fraction:
            return None
        latest.rebase(staging)
    ref = store.publish(staging)
    store.prune(signal, keep=keep)
    return ref
