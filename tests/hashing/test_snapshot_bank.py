"""A process's bank kept current from snapshots and a change log (takedown/hashing/snapshot_bank.py).

The change log here is a small model of the platforms' feed (every write takes the next change id,
a withdrawal leaves the id with no value); the store is a real directory. The bank must answer
exactly what the log holds once its refresh interval has passed, swap to the build task's newer
snapshots, and a withdrawn value must be physically absent from the snapshot files after the next
build.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from takedown.hashing.bits import words_to_hex
from takedown.hashing.index import HammingIndex
from takedown.hashing.snapshot import IndexChange
from takedown.hashing.snapshot_bank import BankRows, SnapshotBank, SnapshotUnavailable, snapshot_build
from takedown.hashing.snapshot_store import LocalSnapshotStore


class Feed:
    """Ids with their last change id and value (None: withdrawn), like FeedEntry rows."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[int, str | None]] = {}
        self.last = 0

    def put(self, id_: int, value: str | None) -> None:
        self.last += 1
        self.rows[id_] = (self.last, value)

    def changes(self, after: int) -> list[IndexChange]:
        newer = [(change, id_, value) for id_, (change, value) in self.rows.items() if change > after]
        return [IndexChange(change, id_, value) for change, id_, value in sorted(newer)]

    def everything(self) -> BankRows:
        live = [(id_, value) for id_, (_change, value) in self.rows.items() if value is not None]
        return BankRows([v for _i, v in live], [i for i, _v in live], self.last)

    def truth(self, values: list[str]) -> list[list[object]]:
        index = HammingIndex(256, 31)
        index.add_many((v, i) for i, (_c, v) in self.rows.items() if v is not None)
        return [index.query(v) for v in values]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> tuple[Feed, LocalSnapshotStore, list[str]]:
    rng = np.random.default_rng(11)
    words = rng.integers(0, 2**64, size=(6000, 4), dtype=np.uint64)
    feed = Feed()
    for i, row in enumerate(words):
        feed.put(1000 + i, words_to_hex(row))
    probes = [words_to_hex(row) for row in words[:40]]
    return feed, LocalSnapshotStore(tmp_path / "snapshots"), probes


def _build(feed: Feed, store: LocalSnapshotStore, **kwargs: object):
    return snapshot_build(
        store=store,
        signal="pdq",
        bits=256,
        threshold=31,
        load_changes=feed.changes,
        load_all=feed.everything,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_bank_follows_the_log_within_its_refresh_interval(world) -> None:
    feed, store, probes = world
    clock = Clock()
    bank = SnapshotBank(store=store, signal="pdq", load_changes=feed.changes, refresh_seconds=5, clock=clock)
    with pytest.raises(SnapshotUnavailable):
        bank.query_many(probes)
    first = _build(feed, store)
    assert first is not None and first.checkpoint == feed.last
    clock.now = 10
    assert bank.query_many(probes) == feed.truth(probes)
    assert bank.checkpoint == feed.last and len(bank) == 6000

    gone = 1000 + 3
    feed.put(gone, None)  # withdrawn
    feed.put(99, probes[5])  # a new id with a known value
    clock.now = 12  # within the interval: the process may still answer the old state
    assert any(m.id == gone for m in bank.query_many([probes[3]])[0])
    clock.now = 15.5  # past it: the next lookup syncs first
    assert bank.query_many(probes) == feed.truth(probes)
    assert all(m.id != gone for m in bank.query_many([probes[3]])[0])
    assert {m.id for m in bank.query_many([probes[5]])[0]} >= {99, 1005}


def test_builds_are_due_on_withdrawals_and_change_and_the_bank_swaps(world, tmp_path: Path) -> None:
    feed, store, probes = world
    clock = Clock()
    bank = SnapshotBank(store=store, signal="pdq", load_changes=feed.changes, refresh_seconds=5, clock=clock)
    first = _build(feed, store)
    bank.sync(force=True)
    assert _build(feed, store) is None  # nothing changed

    feed.put(50_000, probes[7])  # one addition: 1/6000 changed, below the fraction
    assert _build(feed, store) is None
    for i in range(400):  # 6.7% changed: due
        feed.put(60_000 + i, probes[i % 40])
    added = _build(feed, store)
    assert added is not None and added.checkpoint == feed.last

    withdrawn = probes[9]
    withdrawn_bytes = np.frombuffer(bytes.fromhex(withdrawn), dtype=">u8").astype("<u8").tobytes()
    assert withdrawn_bytes in (store.directory / added.name).read_bytes()
    for id_, (_change, value) in list(feed.rows.items()):
        if value == withdrawn:
            feed.put(id_, None)  # every copy of this hash leaves the bank
    second = _build(feed, store)
    assert second is not None  # due: a value of the latest snapshot left the bank
    files = sorted(p.name for p in store.directory.glob("pdq-*"))
    assert files == [second.name]  # older files pruned (keep=1)
    assert withdrawn_bytes not in (store.directory / second.name).read_bytes()

    assert bank.index is not None and bank.index.header.checkpoint == first.checkpoint
    clock.now = 100
    assert bank.query_many(probes) == feed.truth(probes)
    assert bank.index.header.checkpoint == second.checkpoint  # swapped to the newest snapshot
    assert bank.query_many([withdrawn]) == [[]]


def test_an_old_snapshot_is_rebuilt_even_without_changes(world) -> None:
    feed, store, _probes = world
    first = _build(feed, store)
    assert first is not None
    assert _build(feed, store, now=lambda: first.created_at + 60) is None
    later = _build(feed, store, now=lambda: first.created_at + 7 * 3600)
    # Rebuilt from the same rows: the same bytes, so the same name (a replaced file keeps the
    # old pages for whoever still maps them); only the header's creation time moves.
    assert later is not None and (later.checkpoint, later.name) == (first.checkpoint, first.name)
    assert later.created_at >= first.created_at and store.latest("pdq") == later
