"""Index snapshots (takedown/hashing/snapshot.py) and their stores (snapshot_store.py).

A snapshot must answer exactly like the index it was written from, stay exact while changes after
its checkpoint are applied (removals, re-additions, new rows), refuse any file that is not a whole,
unaltered snapshot of this format, and travel through S3-compatible storage encrypted. The object
storage tests run a real S3 server on 127.0.0.1 (moto's, from PyPI: no MinIO server installs from
the registries reachable here).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import numpy.typing as npt
import pytest
from moto.server import ThreadedMotoServer

from takedown.hashing.bits import WordArray, words_to_hex
from takedown.hashing.index import HammingIndex, IndexMatch
from takedown.hashing.scaled_index import MultiIndexHammingIndex
from takedown.hashing.snapshot import (
    PAGE,
    IndexChange,
    SnapshotError,
    build_snapshot,
    open_snapshot,
    read_header,
    verify_snapshot,
    write_snapshot,
)
from takedown.hashing.snapshot_store import (
    LocalSnapshotStore,
    S3SnapshotStore,
    SnapshotRef,
    decrypt_stream,
    encrypt_stream,
)

N = 30_000


def _flip(row: WordArray, bits: int, rng: np.random.Generator) -> WordArray:
    out = row.copy()
    for position in rng.choice(256, size=bits, replace=False):
        out[position // 64] ^= np.uint64(1 << (63 - position % 64))
    return out


@pytest.fixture(scope="module")
def data() -> tuple[WordArray, npt.NDArray[np.int64], WordArray]:
    """Random rows with shuffled, sparse ids; queries near some rows (distance 0..40)."""
    rng = np.random.default_rng(20261205)
    words = rng.integers(0, 2**64, size=(N, 4), dtype=np.uint64)
    ids = (rng.permutation(N) * 5 + 11).astype(np.int64)
    near = rng.choice(N, size=41, replace=False)
    queries = np.stack([_flip(words[row], d, rng) for d, row in enumerate(near)])
    return words, ids, queries


def _reference(words: WordArray, ids: npt.NDArray[np.int64]) -> HammingIndex:
    index = HammingIndex(256, 31)
    index.add_many((words_to_hex(w), int(i)) for w, i in zip(words, ids, strict=True))
    return index


@pytest.mark.parametrize("chunks", [None, 11])
def test_a_snapshot_answers_like_the_index_it_was_written_from(data, tmp_path: Path, chunks: int | None) -> None:
    words, ids, queries = data
    path = tmp_path / "pdq.tdsnap"
    header = build_snapshot(path, values=words, ids=ids, checkpoint=1234, chunks=chunks)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (header.count, header.checkpoint, header.signal, header.ids_sorted) == (N, 1234, "pdq", True)
    assert header.chunks == (chunks or 16) and path.stat().st_size == header.size
    assert read_header(path) == header == verify_snapshot(path)

    snapshot = open_snapshot(path)
    # Nothing was copied: the arrays are read-only views of the mapping.
    for array in (snapshot.base._words, snapshot.base._ids, snapshot.base._order, snapshot.base._offsets):
        assert not array.flags.writeable and not array.flags.owndata
    texts = [words_to_hex(q) for q in queries]
    expected = [_reference(words, ids).query(t) for t in texts]
    assert sum(1 for found in expected if found) == 32  # distances 0..31 found, 32..40 not
    assert snapshot.query_many(texts) == expected == snapshot.query_many(queries)
    assert [snapshot.query(t) for t in texts] == expected
    memory = MultiIndexHammingIndex.from_matrix(words, ids, chunks=chunks)
    assert memory.query_many(texts) == expected
    assert len(snapshot) == N and snapshot.checkpoint == 1234


def test_changes_after_the_checkpoint_remove_readd_and_add_exactly(data, tmp_path: Path) -> None:
    words, ids, queries = data
    path = tmp_path / "pdq.tdsnap"
    build_snapshot(path, values=words, ids=ids, checkpoint=100)
    snapshot = open_snapshot(path)
    texts = [words_to_hex(q) for q in queries]
    hit = snapshot.query(texts[3])[0].id  # the row 3 bits from query 3
    fresh = words_to_hex(queries[7])
    (original,) = snapshot.query(fresh)  # the row 7 bits from query 7
    changes = [
        IndexChange(99, 1, fresh),  # at or before the checkpoint: already in the snapshot, skipped
        IndexChange(101, hit, None),  # withdrawn
        IndexChange(102, 10**9, fresh),  # new id
        IndexChange(103, hit, fresh),  # the withdrawn id comes back with another value
        IndexChange(104, 10**9 + 1, words_to_hex(queries[20])),
        IndexChange(105, 10**9 + 1, None),  # added then removed in the same batch: last state wins
    ]
    assert snapshot.apply(changes) == 5
    assert snapshot.checkpoint == 105
    assert [m.id for m in snapshot.query(texts[3])] == []
    assert snapshot.query(fresh) == [IndexMatch(0, hit), IndexMatch(0, 10**9), original]
    assert all(m.id != 10**9 + 1 for m in snapshot.query(texts[20]))
    assert len(snapshot) == N + 1
    assert snapshot.apply(changes) == 0  # idempotent: nothing is newer than the checkpoint
    assert 0 < snapshot.changed_fraction < 0.001


def test_a_random_history_of_changes_matches_a_fresh_build(data, tmp_path: Path) -> None:
    """Many batches of random changes (over more than one apply batch) against a model."""
    words, ids, queries = data
    rng = np.random.default_rng(7)
    path = tmp_path / "pdq.tdsnap"
    build_snapshot(path, values=words, ids=ids, checkpoint=0)
    snapshot = open_snapshot(path)
    model = {int(i): words_to_hex(w) for w, i in zip(words, ids, strict=True)}
    change_id = 0
    near = [words_to_hex(_flip(q, int(rng.integers(0, 12)), rng)) for q in queries for _ in range(3)]
    for _round in range(6):
        batch = []
        for _ in range(400):
            change_id += 1
            target = int(rng.choice(ids)) if rng.random() < 0.7 else int(10**6 + rng.integers(0, 300))
            value = None if rng.random() < 0.4 else near[int(rng.integers(0, len(near)))]
            batch.append(IndexChange(change_id, target, value))
            if value is None:
                model.pop(target, None)
            else:
                model[target] = value
        snapshot.apply(batch)
        check = [words_to_hex(q) for q in queries] + near[:30]
        fresh = HammingIndex(256, 31)
        fresh.add_many((v, i) for i, v in model.items())
        assert snapshot.query_many(check) == [fresh.query(t) for t in check]
        assert len(snapshot) == len(model)
    # The next snapshot is built from the live rows, without reading the source again.
    rebased = snapshot.rebase(tmp_path / "next.tdsnap")
    assert rebased.checkpoint == change_id and rebased.count == len(model)
    again = open_snapshot(tmp_path / "next.tdsnap", verify=True)
    assert again.query_many(near[:50]) == snapshot.query_many(near[:50])


def _rewrite_header(path: Path, mutate) -> None:
    """Re-sign a modified header (as a foreign or newer writer would) to test the field checks."""
    raw = bytearray(path.read_bytes())
    magic, version, length = struct.unpack_from("<8sII", raw, 0)
    doc = json.loads(raw[16 : 16 + length])
    version = mutate(doc) or version
    text = json.dumps(doc).encode()
    page = struct.pack("<8sII", magic, version, len(text)) + text
    page += b"\0" * (PAGE - 32 - len(page))
    raw[:PAGE] = page + hashlib.sha256(page).digest()
    path.write_bytes(bytes(raw))


def test_foreign_corrupt_truncated_and_newer_files_are_refused(data, tmp_path: Path) -> None:
    words, ids, _ = data
    good = tmp_path / "good.tdsnap"
    build_snapshot(good, values=words[:5000], ids=ids[:5000], checkpoint=9)
    original = good.read_bytes()

    def variant(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    cases = {
        "not a takedown index snapshot": variant("foreign", b"PK\x03\x04" + original[4:]),
        "too short": variant("tiny", original[:100]),
        "header is corrupt": variant("header", original[:200] + b"X" + original[201:]),
        "truncated": variant("truncated", original[:-1]),
        "describes": variant("longer", original + b"\0"),
    }
    for message, path in cases.items():
        with pytest.raises(SnapshotError, match=message):
            open_snapshot(path)
    newer = variant("newer", original)
    _rewrite_header(newer, lambda doc: doc.update(version=2) or 2)
    with pytest.raises(SnapshotError, match="version 2; this code reads version 1"):
        open_snapshot(newer)
    shuffled = variant("shuffled", original)
    _rewrite_header(shuffled, lambda doc: doc.update(chunks=12))
    with pytest.raises(SnapshotError, match="wrong type or shape"):
        open_snapshot(shuffled)
    # A flipped bit in the body keeps the structure valid: only the digest can tell.
    body = bytearray(original)
    body[PAGE + 1000] ^= 0x10
    flipped = variant("flipped", bytes(body))
    open_snapshot(flipped)  # the cheap checks pass
    with pytest.raises(SnapshotError, match="contents are corrupt"):
        open_snapshot(flipped, verify=True)
    with pytest.raises(SnapshotError, match="contents are corrupt"):
        verify_snapshot(flipped)
    # Ids that the header says are sorted but are not would make removals miss rows.
    unsorted = bytearray(original)
    header = read_header(good)
    ids_at = next(s.offset for s in header.sections if s.name == "ids")
    unsorted[ids_at : ids_at + 16] = unsorted[ids_at + 8 : ids_at + 16] + unsorted[ids_at : ids_at + 8]
    forged = variant("unsorted", bytes(unsorted))
    _rewrite_header(forged, lambda doc: None)
    with pytest.raises(SnapshotError, match="ids are not in the order"):
        open_snapshot(forged)


def test_writing_is_atomic_and_an_unsorted_index_is_still_exact(data, tmp_path: Path) -> None:
    words, ids, queries = data
    index = MultiIndexHammingIndex.from_matrix(words[:3000], ids[:3000])
    index.add(words_to_hex(queries[0]), 5)  # a tail row: folded in before writing
    path = tmp_path / "x.tdsnap"
    header = write_snapshot(index, path, checkpoint=3, signal="pdq")
    assert not header.ids_sorted  # shuffled ids: removals fall back to a scan of the ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tdsnap"]  # no temporary left behind
    snapshot = open_snapshot(path)
    assert snapshot.query(words_to_hex(queries[0]))[0] == IndexMatch(0, 5)
    snapshot.apply([IndexChange(4, 5, None)])
    assert all(m.id != 5 for m in snapshot.query(words_to_hex(queries[0])))


# ---- stores ------------------------------------------------------------------------------------


def test_local_store_publishes_points_prunes_and_guards_its_directory(data, tmp_path: Path) -> None:
    words, ids, _queries = data
    store = LocalSnapshotStore(tmp_path / "snapshots")
    assert stat.S_IMODE((tmp_path / "snapshots").stat().st_mode) == 0o700
    assert store.latest("pdq") is None and store.open_latest("pdq") is None
    refs = []
    for checkpoint in (10, 20, 30):
        staging = store.staging_path("pdq")
        build_snapshot(staging, values=words[: 1000 * checkpoint], ids=ids[: 1000 * checkpoint], checkpoint=checkpoint)
        refs.append(store.publish(staging))
    assert store.latest("pdq") == refs[-1]
    latest = store.open_latest("pdq")
    assert latest is not None and latest.checkpoint == 30 and len(latest) == 30_000
    assert store.prune("pdq", keep=2) == [refs[0].name]
    assert sorted(p.name for p in store.directory.glob("pdq-*")) == [refs[1].name, refs[2].name]
    # A pruned file that a process still maps keeps answering (POSIX keeps the pages).
    assert latest.query(words_to_hex(words[5]))[0].distance == 0
    store.prune("pdq", keep=0)
    assert latest.query(words_to_hex(words[5]))[0].distance == 0
    assert store.latest("pdq") == refs[-1]  # the latest is never pruned
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    with pytest.raises(SnapshotError, match="open to other users"):
        LocalSnapshotStore(loose)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 64 * 3, 1000])
def test_segmented_encryption_round_trips_and_detects_tampering(size: int) -> None:
    key = os.urandom(32)
    plain = os.urandom(size)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), sealed, key, segment=64)
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), out, key)
    assert out.getvalue() == plain
    data = sealed.getvalue()
    header = 19
    attacks = {
        "wrong key": (data, os.urandom(32)),
        "flipped": (data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], key),
    }
    if size > 64:
        # Dropping the last segment (at a segment boundary) or swapping two segments must fail.
        attacks["truncated"] = (data[: header + 80], key)
        attacks["reordered"] = (data[:header] + data[header + 80 : header + 160] + data[header : header + 80], key)
    for name, (blob, k) in attacks.items():
        if name == "reordered" and size < 128:
            continue
        with pytest.raises(SnapshotError):
            decrypt_stream(io.BytesIO(blob), io.BytesIO(), k)


@pytest.fixture
def s3() -> Iterator[tuple[object, str]]:
    """A real S3-compatible HTTP server on 127.0.0.1 (moto's), and a client of it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="takedown-snapshots")
    try:
        yield client, "takedown-snapshots"
    finally:
        server.stop()


def test_object_storage_carries_encrypted_snapshots_between_machines(data, tmp_path: Path, s3) -> None:
    client, bucket = s3
    words, ids, queries = data
    key = os.urandom(32)
    builder = S3SnapshotStore(client, bucket, key=key, cache_dir=tmp_path / "builder", prefix="bank/")
    worker = S3SnapshotStore(client, bucket, key=key, cache_dir=tmp_path / "worker", prefix="bank/")
    assert worker.latest("pdq") is None
    staging = builder.staging_path("pdq")
    build_snapshot(staging, values=words, ids=ids, checkpoint=77)
    ref = builder.publish(staging)
    plain = (tmp_path / "builder" / ref.name).read_bytes()
    stored = client.get_object(Bucket=bucket, Key=f"bank/{ref.name}.enc")["Body"].read()
    assert plain[PAGE : PAGE + 4096] not in stored and len(stored) > len(plain)  # not in the clear
    manifest = client.get_object(Bucket=bucket, Key="bank/pdq.latest.json")["Body"].read()
    assert SnapshotRef.from_json(manifest) == ref == worker.latest("pdq")

    opened = worker.open_latest("pdq")
    assert opened is not None and opened.checkpoint == 77
    copy = tmp_path / "worker" / ref.name
    assert copy.read_bytes() == plain and stat.S_IMODE(copy.stat().st_mode) == 0o600
    texts = [words_to_hex(q) for q in queries]
    assert opened.query_many(texts) == open_snapshot(tmp_path / "builder" / ref.name).query_many(texts)
    assert worker.fetch(ref) == copy  # cached: no second download

    # Another key, or an object altered in the bucket, is refused and nothing is put in place.
    stranger = S3SnapshotStore(client, bucket, key=os.urandom(32), cache_dir=tmp_path / "stranger", prefix="bank/")
    with pytest.raises(SnapshotError, match="another key"):
        stranger.open_latest("pdq")
    tampered = bytearray(stored)
    tampered[len(tampered) // 2] ^= 1
    client.put_object(Bucket=bucket, Key=f"bank/{ref.name}.enc", Body=bytes(tampered))
    fresh = S3SnapshotStore(client, bucket, key=key, cache_dir=tmp_path / "fresh", prefix="bank/")
    with pytest.raises(SnapshotError, match="corrupt"):
        fresh.open_latest("pdq")
    assert not list((tmp_path / "fresh").glob("pdq-*")) and not list((tmp_path / "stranger").glob("pdq-*"))

    staging = builder.staging_path("pdq")
    opened.apply([IndexChange(78, int(ids[0]), None)])
    opened.rebase(staging)
    second = builder.publish(staging)
    assert worker.latest("pdq") == second and second.checkpoint == 78
    assert builder.prune("pdq", keep=1) == [f"bank/{ref.name}.enc", ref.name]
    listed = client.list_objects_v2(Bucket=bucket, Prefix="bank/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted([f"bank/{second.name}.enc", "bank/pdq.latest.json"])
