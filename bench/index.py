"""PDQ index at scale: our multi-index against python-threatexchange, FAISS and brute force.

Indexes compared (each built and queried in its own subprocess, one at a time):

* ``multi-index``  - takedown.hashing.scaled_index.MultiIndexHammingIndex (16 sorted 16-bit
  chunks, radius-1 probes, numpy popcount verification), built from hex strings.
* ``pytx``         - python-threatexchange's ``PDQIndex``: what ``PdqSignal.get_index_cls()``
  returns in threatexchange 1.2.17 and what HMA builds with ``get_index_cls().build(...)``
  (a FAISS ``IndexBinaryMultiHash`` of 16 x 16 bits, nflip 1, behind ``IndexBinaryIDMap2``).
* ``faiss-mih``    - the same FAISS ``IndexBinaryMultiHash(256, 16, 16)`` with nflip=1, called
  directly (no Python wrapper), to separate the structure's cost from the wrapper's.
* ``faiss-flat``   - FAISS ``IndexBinaryFlat``: exact SIMD brute force.
* ``numpy``        - takedown.hashing.index.HammingIndex: numpy brute force.

Datasets, for each N:

* ``random``    - N uniformly random 256-bit hashes. 1,000 queries each have one planted copy in
  the index at distance ``i % 32`` (0..31, half with the flipped bits spread over all 16-bit
  chunks: the worst case for chunk probes); 96 more have a planted copy at 32..39 that must NOT
  come back; 200 unplanted random queries measure the no-match latency.
* ``clustered`` - real PDQ hashes of the shared photos (original, JPEG q50, half size, 5% crop,
  2 degree rotation of each), plus synthetic relatives of those (each a real hash with 4..64
  random bits flipped) making up 10% of N, the rest random. Queries are the PDQ hashes of other
  edited copies (JPEG q70, blur, watermark); the truth is every clustered row within 31 of a
  query, found by brute force here in the parent.

Recall = truth pairs returned / truth pairs. Every returned hit is re-checked against the
stored hash (``bad`` = returned beyond 31 or wrong distance). The brute-force methods answer
fewer queries at 10M (a subset spread over all distances), said in the table.

Memory: each child first loads the hashes and makes the hex-string list every index is built
from (its input, like rows read from PostgreSQL), resets the kernel's peak-RSS counter
(``/proc/self/clear_refs`` = 5) and reads VmRSS as the baseline; ``peak`` is
``getrusage(RUSAGE_SELF).ru_maxrss`` after the build and all queries, minus that baseline;
``resident`` is VmRSS after the build minus the baseline.

    .venv/bin/python bench/index.py                    # 1M and 10M, writes docs/benchmarks/index.md
    .venv/bin/python bench/index.py --quick            # 100k hashes, 60 photos, seconds, no doc

Snapshots (issue 18, ``--snapshot``): on the random dataset, pytx, the in-memory multi-index and
the ``snapshot`` method (takedown.hashing.snapshot: the same index written to a file and
memory-mapped) side by side; then what a web worker sees: a build child (build + write, the
build task's work), one server process started on a cold page cache (the file's pages evicted
with ``posix_fadvise``), one on a warm one, and four at once. Each server opens the file,
answers one planted query (timed from its spawn), maps every page (``SnapshotIndex.warm``, the
worst case for memory) and waits while the parent reads its ``/proc/<pid>/smaps_rollup``: the
proportional set size (PSS) charges each shared page 1/k to each of the k processes mapping it,
so the sum over four processes is what four workers really cost.

    .venv/bin/python bench/index.py --snapshot                           # 1M and 10M, own doc section
    .venv/bin/python bench/index.py --snapshot --quick                   # 100k, no doc

Photo hashes are cached in var/bench/ (gitignored); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from takedown.hashing.bits import WordArray, hamming_many  # noqa: E402
from takedown.hashing.scaled_index import (  # noqa: E402
    MultiIndexHammingIndex,
    choose_chunks,
    chunk_layout,
    offsets_size,
)

DOC = ROOT / "docs" / "benchmarks" / "index.md"
CACHE = ROOT / "var" / "bench"
THRESHOLD = 31
SEED = 20261126
METHODS = ("multi-index", "snapshot", "pytx", "faiss-mih", "faiss-flat", "numpy")
SNAPSHOT_FILE = "index.tdsnap"
#: Brute-force methods answer this many planted and random queries at most (linear per query).
SLOW = {"faiss-flat": (256, 64), "numpy": (128, 32)}
INDEX_EDITS = ("jpeg q50", "resize 0.5x", "crop 5%", "rotate 2°")
QUERY_EDITS = ("jpeg q70", "blur", "watermark")

# ------------------------------------------------------------------ datasets (parent)


def _random_words(rng: np.random.Generator, n: int) -> WordArray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def _flip(rows: WordArray, counts: npt.NDArray[np.int64], rng: np.random.Generator, spread: bool = False) -> WordArray:
    """Copy each row with ``counts[i]`` bits flipped (``spread``: one per chunk, round-robin)."""
    bits = np.unpackbits(rows.astype(">u8").view(np.uint8).reshape(rows.shape[0], 32), axis=1)
    for i, d in enumerate(counts.tolist()):
        if spread:
            order = rng.permutation(16)
            pos = np.asarray([order[k % 16] * 16 + k // 16 for k in range(d)], dtype=np.int64)
        else:
            pos = rng.choice(256, size=d, replace=False)
        bits[i, pos] ^= 1
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).reshape(rows.shape[0], 4)


def photo_hashes(limit: int | None) -> tuple[WordArray, WordArray]:
    """PDQ of every photo and its index-side edits, and of its query-side edits (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"index-photos-{limit or 'all'}.npz"
    if cache.exists():
        data = np.load(cache)
        return data["indexed"], data["queries"]
    from PIL import Image
    from robustness import EDITS, PHOTOS

    from takedown.hashing.image import load_rgb, pdq_rgb
    from takedown.hashing.scaled_index import hexes_to_words

    files = sorted(p for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:limit]
    indexed: list[str] = []
    queries: list[str] = []
    started = time.perf_counter()
    for n, path in enumerate(files):
        rng = np.random.default_rng(SEED + n)
        data = path.read_bytes()
        indexed.append(pdq_rgb(load_rgb(data))[0])
        with Image.open(io.BytesIO(data)) as im:
            small = im.convert("RGB")
        small.thumbnail((512, 512))  # edits of a web-size copy: what platforms mostly hold
        for edit in INDEX_EDITS:
            indexed.append(pdq_rgb(load_rgb(EDITS[edit](small, rng)))[0])
        for edit in QUERY_EDITS:
            queries.append(pdq_rgb(load_rgb(EDITS[edit](small, rng)))[0])
    print(f"hashed {len(files)} photos in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    result = hexes_to_words(indexed), hexes_to_words(queries)
    np.savez(cache, indexed=result[0], queries=result[1])
    return result


def make_dataset(kind: str, n: int, photo_limit: int | None) -> dict[str, Any]:
    """Rows, queries (planted / beyond / random) and the truth as (query, row) pairs."""
    rng = np.random.default_rng(SEED + n + (1 if kind == "clustered" else 0))
    words = _random_words(rng, n)
    random_queries = _random_words(rng, 200)
    if kind == "random":
        planted = _random_words(rng, 1000)
        dist = np.arange(1000, dtype=np.int64) % 32
        rows = rng.choice(n, size=1096, replace=False)
        words[rows[:500]] = _flip(planted[:500], dist[:500], rng)
        words[rows[500:1000]] = _flip(planted[500:], dist[500:], rng, spread=True)
        beyond = _random_words(rng, 96)
        words[rows[1000:]] = _flip(beyond, 32 + np.arange(96, dtype=np.int64) % 8, rng)
        truth = [(i, int(rows[i])) for i in range(1000)]
        return {"words": words, "planted": planted, "beyond": beyond, "random": random_queries, "truth": truth}
    real, edited = photo_hashes(photo_limit)
    n_cluster = max(real.shape[0], n // 10)
    parents = real[rng.integers(0, real.shape[0], size=n_cluster - real.shape[0])]
    relatives = _flip(parents, rng.integers(4, 65, size=parents.shape[0]), rng)
    cluster_rows = rng.choice(n, size=n_cluster, replace=False)
    words[cluster_rows] = np.concatenate([real, relatives])
    queries = edited[rng.permutation(edited.shape[0])[:1000]]
    truth = []
    cluster_words = words[cluster_rows]
    for qi in range(queries.shape[0]):
        hits = np.flatnonzero(hamming_many(cluster_words, queries[qi]) <= THRESHOLD)
        truth.extend((qi, int(cluster_rows[h])) for h in hits)
    empty = np.zeros((0, 4), dtype=np.uint64)
    return {"words": words, "planted": queries, "beyond": empty, "random": random_queries, "truth": truth}


# ------------------------------------------------------------------ one method (child)


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # pragma: no cover


def _hexes(words: WordArray) -> list[str]:
    """Hex strings in blocks, so the conversion's temporaries stay small next to the list."""
    out: list[str] = []
    for start in range(0, words.shape[0], 1 << 20):
        text = words[start : start + (1 << 20)].astype(">u8").tobytes().hex()
        out.extend(text[i : i + 64] for i in range(0, len(text), 64))
    return out


Query = Callable[[str], list[tuple[int, int]]]


def _build(method: str, hexes: list[str], words: WordArray, data_dir: Path) -> Query:
    """Build ``method``'s index from the hex list; return a single-query function -> (id, dist)."""
    if method == "multi-index":
        from takedown.hashing.scaled_index import MultiIndexHammingIndex

        mih = MultiIndexHammingIndex.from_hexes(hexes, np.arange(len(hexes)), threshold=THRESHOLD)
        return lambda q: [(m.id, m.distance) for m in mih.query(q)]
    if method == "snapshot":
        from takedown.hashing.snapshot import open_snapshot

        snap = open_snapshot(data_dir / SNAPSHOT_FILE)
        return lambda q: [(m.id, m.distance) for m in snap.query(q)]
    if method == "numpy":
        from takedown.hashing.index import HammingIndex

        brute = HammingIndex.build(zip(hexes, range(len(hexes)), strict=True), 256, THRESHOLD)
        return lambda q: [(m.id, m.distance) for m in brute.query(q)]
    if method == "pytx":
        from threatexchange.signal_type.pdq.signal import PdqSignal

        pytx = PdqSignal.get_index_cls().build(zip(hexes, range(len(hexes)), strict=True))
        return lambda q: [(int(m.metadata), int(m.similarity_info.distance)) for m in pytx.query(q)]
    import faiss

    codes = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(len(hexes), 32)
    index: Any
    if method == "faiss-flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = THRESHOLD // 16
    index.add(codes)
    del codes

    def search(q: str) -> list[tuple[int, int]]:
        lims, dist, ids = index.range_search(
            np.frombuffer(bytes.fromhex(q), dtype=np.uint8)[np.newaxis, :], THRESHOLD + 1
        )
        return list(zip(ids[lims[0] : lims[1]].tolist(), dist[lims[0] : lims[1]].tolist(), strict=True))

    return search


def child(method: str, data_dir: Path, out: Path) -> None:
    words = np.load(data_dir / "words.npy")
    queries = {name: np.load(data_dir / f"{name}.npy") for name in ("planted", "beyond", "random")}
    cap_planted, cap_random = SLOW.get(method, (10**9, 10**9))
    if words.shape[0] <= 200_000:
        cap_planted = cap_random = 10**9
    hexes = _hexes(words) if method != "snapshot" else []  # a mapped snapshot needs no input list
    texts = {name: _hexes(q) for name, q in queries.items()}
    texts["planted"] = texts["planted"][:cap_planted]
    texts["random"] = texts["random"][:cap_random]
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
        reset = True
    except OSError:
        reset = False
    base = _rss_kib()
    started = time.perf_counter()
    query = _build(method, hexes, words, data_dir)
    build_s = time.perf_counter() - started
    resident = _rss_kib() - base
    result: dict[str, Any] = {"method": method, "build_s": build_s, "resident_kib": resident, "peak_reset": reset}
    for name, items in texts.items():
        times: list[float] = []
        hits: list[tuple[int, int, int]] = []
        for qi, text in enumerate(items):
            t0 = time.perf_counter()
            found = query(text)
            times.append(time.perf_counter() - t0)
            hits.extend((qi, i, d) for i, d in found)
        result[name] = {"times": times, "hits": hits}
    result["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    if method in ("multi-index", "snapshot"):
        # After the peak is read: batch queries (the API's use) and, in memory, the build from a matrix.
        from takedown.hashing.scaled_index import MultiIndexHammingIndex
        from takedown.hashing.snapshot import open_snapshot

        del query
        index: Any
        if method == "multi-index":
            started = time.perf_counter()
            index = MultiIndexHammingIndex.from_matrix(words, np.arange(words.shape[0]))
            result["build_matrix_s"] = time.perf_counter() - started
            result["chunks"] = len(index.layout)
        else:
            index = open_snapshot(data_dir / SNAPSHOT_FILE)
        batches = {
            "batch_per_s": np.load(data_dir / "planted.npy"),
            "batch_random_per_s": np.random.default_rng(SEED).integers(0, 2**64, size=(1000, 4), dtype=np.uint64),
        }
        for key, matrix in batches.items():
            best = float("inf")
            for _ in range(3):  # best of three: the machine is shared
                started = time.perf_counter()
                index.query_many(matrix)
                best = min(best, time.perf_counter() - started)
            result[key] = matrix.shape[0] / best
    out.write_text(json.dumps(result))


# ------------------------------------------------------------------ scoring (parent)


def _pct(times: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(times) * 1e3, q)) if times else float("nan")


def score(data: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    words = data["words"]
    n_planted = len(res["planted"]["times"])
    truth = {(q, r) for q, r in data["truth"] if q < n_planted}
    bad = extra = 0
    got: set[tuple[int, int]] = set()
    for name in ("planted", "beyond", "random"):
        qwords = data[name]
        for qi, row, dist in res[name]["hits"]:
            real = int(hamming_many(words[row : row + 1], qwords[qi])[0])
            if real != dist or real > THRESHOLD:
                bad += 1
            if name == "planted":
                got.add((qi, row))
                extra += (qi, row) not in truth
            else:
                extra += 1
    found = len(truth & got)
    return {
        "method": res["method"],
        "build_s": res["build_s"],
        "build_matrix_s": res.get("build_matrix_s"),
        "batch_per_s": res.get("batch_per_s"),
        "batch_random_per_s": res.get("batch_random_per_s"),
        "chunks": res.get("chunks"),
        "peak_mib": res["peak_kib"] / 1024,
        "resident_mib": res["resident_kib"] / 1024,
        "rand": [_pct(res["random"]["times"], q) for q in (50, 95, 99)],
        "plant": [_pct(res["planted"]["times"], q) for q in (50, 95, 99)],
        "queries": (n_planted, len(res["random"]["times"])),
        "recall": (found, len(truth)),
        "extra": extra,
        "bad": bad,
        "beyond_returned": len(res["beyond"]["hits"]),
    }


def run(
    sizes: Sequence[int], kinds: Sequence[str], methods: Sequence[str], photo_limit: int | None, threads: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for kind in kinds:
            started = time.perf_counter()
            data = make_dataset(kind, n, photo_limit)
            print(
                f"{kind} N={n:,}: dataset in {time.perf_counter() - started:.0f} s, {len(data['truth'])} truth pairs",
                file=sys.stderr,
            )
            with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
                for name in ("words", "planted", "beyond", "random"):
                    np.save(Path(tmp) / f"{name}.npy", data[name])
                for method in methods:
                    out = Path(tmp) / f"{method}.json"
                    cmd = [sys.executable, __file__, "--child", method, tmp, str(out)]
                    started = time.perf_counter()
                    env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
                    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
                    if proc.returncode:
                        print(f"  {method} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                        continue
                    row = score(data, json.loads(out.read_text())) | {"n": n, "kind": kind}
                    rows.append(row)
                    print(f"  {method:12s} {time.perf_counter() - started:6.0f} s  {_line(row)}", file=sys.stderr)
    return rows


# ------------------------------------------------------------------ snapshots (issue 18)

SNAPSHOT_METHODS = ("multi-index", "snapshot", "pytx")
SERVERS = 4


def _smaps(pid: int | str) -> dict[str, int]:
    """The kernel's memory summary of a process (kB): Rss, Pss, Pss_Anon, Pss_File, ..."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            out[name.strip()] = int(fields[0])
    return out


def snapshot_build_child(data_dir: Path, out: Path) -> None:
    """What the build task does: index a hash matrix (ids ascending) and write the snapshot."""
    from takedown.hashing.scaled_index import MultiIndexHammingIndex
    from takedown.hashing.snapshot import write_snapshot

    words = np.load(data_dir / "words.npy")
    Path("/proc/self/clear_refs").write_text("5")
    base = _rss_kib()
    started = time.perf_counter()
    index = MultiIndexHammingIndex.from_matrix(words, np.arange(words.shape[0]))
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    header = write_snapshot(index, data_dir / SNAPSHOT_FILE, checkpoint=words.shape[0], signal="pdq")
    write_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    result = {"build_s": build_s, "write_s": write_s, "size": header.size, "chunks": header.chunks, "peak_kib": peak}
    out.write_text(json.dumps(result))


def serve_child(data_dir: Path, spawned_at: float, out: Path) -> None:
    """A new worker: open the snapshot, answer one query, map every page, then wait to be measured."""
    started = time.time()
    from takedown.hashing.bits import words_to_hex
    from takedown.hashing.snapshot import open_snapshot

    imported = time.time()
    snapshot = open_snapshot(data_dir / SNAPSHOT_FILE)
    opened = time.time()
    first = snapshot.query(words_to_hex(np.load(data_dir / "planted.npy")[1]))
    answered = time.time()
    snapshot.warm()
    warmed = time.time()
    result = {
        "interpreter_s": started - spawned_at,
        "import_s": imported - started,
        "open_s": opened - imported,
        "first_query_s": answered - opened,
        "spawn_to_answer_s": answered - spawned_at,
        "warm_s": warmed - answered,
        "first_distance": first[0].distance if first else None,
    }
    out.write_text(json.dumps(result))
    sys.stdin.read()  # stay mapped until the parent has read every server's memory


def batch_compare_child(data_dir: Path, out: Path, rounds: int = 5) -> None:
    """Batch lookups of the in-memory index and the mapped snapshot, interleaved in one process.

    The machine is shared: rates measured minutes apart in different processes differ by 2x for
    the same code, so the two are compared round by round, and the median of the rounds reported.
    """
    from takedown.hashing.snapshot import open_snapshot

    words = np.load(data_dir / "words.npy")
    memory = MultiIndexHammingIndex.from_matrix(words, np.arange(words.shape[0]))
    mapped = open_snapshot(data_dir / SNAPSHOT_FILE)
    batches = {
        "planted": np.load(data_dir / "planted.npy"),
        "random": np.random.default_rng(SEED + 1).integers(0, 2**64, size=(1000, 4), dtype=np.uint64),
    }
    rates: dict[str, list[float]] = {}
    for _ in range(rounds):
        for label, index in (("memory", memory), ("mapped", mapped)):
            for name, batch in batches.items():
                started = time.perf_counter()
                index.query_many(batch)
                rates.setdefault(f"{label}-{name}", []).append(batch.shape[0] / (time.perf_counter() - started))
    out.write_text(json.dumps({key: sorted(values) for key, values in rates.items()}))


def _evict(path: Path) -> None:
    """Drop this one file's pages from the page cache (a cold start), leaving everything else."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _serve(data_dir: Path, count: int) -> dict[str, Any]:
    """Start ``count`` servers at once; when all have answered and warmed, read their memory."""
    procs = []
    outs = [data_dir / f"serve-{count}-{i}.json" for i in range(count)]
    for out in outs:
        out.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--serve", str(data_dir), repr(time.time()), str(out)]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE))
    deadline = time.monotonic() + 600
    while not all(o.exists() and o.stat().st_size for o in outs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError("a snapshot server failed")
        time.sleep(0.05)
    memory = [_smaps(p.pid) for p in procs]
    for p in procs:
        assert p.stdin is not None
        p.stdin.close()
        p.wait(timeout=60)
    runs = [json.loads(o.read_text()) for o in outs]
    return {
        "count": count,
        "spawn_to_answer_s": max(r["spawn_to_answer_s"] for r in runs),
        "open_s": max(r["open_s"] for r in runs),
        "first_query_s": max(r["first_query_s"] for r in runs),
        "import_s": max(r["import_s"] for r in runs),
        "warm_s": max(r["warm_s"] for r in runs),
        "first_distance": runs[0]["first_distance"],
        "pss_mib": sum(m["Pss"] for m in memory) / 1024,
        "rss_mib": sum(m["Rss"] for m in memory) / 1024,
        "pss_anon_mib": sum(m.get("Pss_Anon", 0) for m in memory) / 1024,
        "pss_file_mib": sum(m.get("Pss_File", 0) for m in memory) / 1024,
    }


def snapshot_run(sizes: Sequence[int], threads: int) -> list[dict[str, Any]]:
    """Per N: pytx, the in-memory multi-index and the snapshot side by side, then start-up and memory."""
    rows: list[dict[str, Any]] = []
    for n in sizes:
        started = time.perf_counter()
        data = make_dataset("random", n, None)
        print(f"random N={n:,}: dataset in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
            directory = Path(tmp)
            for name in ("words", "planted", "beyond", "random"):
                np.save(directory / f"{name}.npy", data[name])
            built = directory / "build.json"
            subprocess.run([sys.executable, __file__, "--snapshot-build", tmp, str(built)], check=True)
            build = json.loads(built.read_text())
            print(f"  snapshot built in {build['build_s']:.1f} s, written in {build['write_s']:.1f} s", file=sys.stderr)
            row: dict[str, Any] = {"n": n, "build": build, "methods": {}}
            for method in SNAPSHOT_METHODS:
                out = directory / f"{method}.json"
                env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
                cmd = [sys.executable, __file__, "--child", method, tmp, str(out)]
                proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
                if proc.returncode:
                    print(f"  {method} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                scored = score(data, json.loads(out.read_text())) | {"n": n, "kind": "random"}
                row["methods"][method] = scored
                print(f"  {method:12s} {_line(scored)}", file=sys.stderr)
            batch = directory / "batch.json"
            subprocess.run([sys.executable, __file__, "--batch-compare", tmp, str(batch)], check=True)
            row["batch"] = json.loads(batch.read_text())
            _evict(directory / SNAPSHOT_FILE)
            row["cold"] = _serve(directory, 1)
            row["one"] = _serve(directory, 1)
            row["many"] = _serve(directory, SERVERS)
            for key in ("cold", "one", "many"):
                r = row[key]
                print(
                    f"  serve x{r['count']} ({key}): first answer {r['spawn_to_answer_s']:.2f} s after spawn, "
                    f"PSS {r['pss_mib']:,.0f} MiB",
                    file=sys.stderr,
                )
            rows.append(row)
    return rows


def render_snapshots(rows: list[dict[str, Any]], command: str, threads: int) -> str:
    load = rows[-1].get("load", os.getloadavg()[0])
    out = [
        "## Snapshots: measured results",
        "",
        f"Generated by `{rows[-1].get('command', command)}` ({platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}; OpenMP threads for pytx: {threads or 'one per core'}; "
        f"load average at the end {load:.1f}).",
        "",
        "### Side by side (random hashes)",
        "",
        "| hashes | index | build s | peak MiB | random p50 / p95 ms | planted p50 / p95 ms "
        "| recall (≤ 31) | extra | wrong |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for method in SNAPSHOT_METHODS:
            r = row["methods"].get(method)
            if r is None:
                continue
            if method == "snapshot":
                build = f"{row['build']['build_s']:.1f} + write {row['build']['write_s']:.1f}; open {r['build_s']:.2f}"
                peak = f"{r['peak_mib']:,.0f} (RSS: mapped file pages)"
                label = "snapshot (mapped)"
            else:
                build, peak, label = f"{r['build_s']:.1f}", f"{r['peak_mib']:,.0f}", method
                if method == "multi-index":
                    label = f"multi-index ({r['chunks']} chunks, in memory)"
            found, total = r["recall"]
            out.append(
                f"| {row['n']:,} | {label} | {build} | {peak} | {r['rand'][0]:.2f} / {r['rand'][1]:.2f} "
                f"| {r['plant'][0]:.2f} / {r['plant'][1]:.2f} | {found}/{total} | {r['extra']} | {r['bad']} |"
            )
    out += [
        "",
        "### Batch lookups in one process (1,000 hashes per call; the two indexes interleaved, 5 rounds)",
        "",
        "| hashes | index | planted batch: median (min - max) hashes/s | random batch: median (min - max) hashes/s |",
        "|---:|---|---:|---:|",
    ]
    for row in rows:
        for label in ("memory", "mapped"):
            cells = []
            for name in ("planted", "random"):
                values = row["batch"][f"{label}-{name}"]
                cells.append(f"{float(np.median(values)):,.0f} ({values[0]:,.0f} - {values[-1]:,.0f})")
            kind = "multi-index in memory" if label == "memory" else "snapshot (mapped)"
            out.append(f"| {row['n']:,} | {kind} | {cells[0]} | {cells[1]} |")
    out += [
        "",
        "### Start-up and memory of processes that map one snapshot",
        "",
        "| hashes | chunks | snapshot MiB | cold start: spawn to first answer s | warm: spawn to first answer s "
        "(open s, first query s) | 4 at once: slowest first answer s | PSS 1 process MiB (file + private) "
        "| PSS 4 processes MiB, sum (file + private) | 4 / 1 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        one, many, cold = row["one"], row["many"], row["cold"]
        out.append(
            f"| {row['n']:,} | {row['build']['chunks']} | {row['build']['size'] / 2**20:,.0f} "
            f"| {cold['spawn_to_answer_s']:.2f} | {one['spawn_to_answer_s']:.2f} ({one['open_s']:.3f}, "
            f"{one['first_query_s']:.3f}) | {many['spawn_to_answer_s']:.2f} | {one['pss_mib']:,.0f} ({_split(one)}) "
            f"| {many['pss_mib']:,.0f} ({_split(many)}) | {many['pss_mib'] / one['pss_mib']:.2f} |"
        )
    n = max(r["n"] for r in rows)
    top = next(r for r in rows if r["n"] == n)
    mih, snap, ref = (top["methods"].get(m) for m in SNAPSHOT_METHODS)
    out += [
        "",
        f"### Targets at {n:,} hashes",
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
    ]
    first = top["cold"]["spawn_to_answer_s"]
    out.append(f"| a new process answers within 5 s (cold page cache) | {first:.2f} s | {_meets(first <= 5)} |")
    ratio = top["many"]["pss_mib"] / top["one"]["pss_mib"]
    out.append(f"| 4 processes use ≤ 1.5x the memory of one (PSS) | {ratio:.2f}x | {_meets(ratio <= 1.5)} |")
    if snap:
        found, total = snap["recall"]
        ok = found == total and snap["bad"] == 0 and snap["beyond_returned"] == 0
        out.append(
            f"| every planted match ≤ 31 found (snapshot) | {found}/{total}, {snap['bad']} wrong | {_meets(ok)} |"
        )
    if ref:
        for label, ours in (("multi-index", mih), ("snapshot", snap)):
            if not ours:
                continue
            checks = [
                ("random-query p50 ms", ref["rand"][0], ours["rand"][0]),
                ("planted-query p50 ms", ref["plant"][0], ours["plant"][0]),
                ("peak MiB", ref["peak_mib"], ours["peak_mib"]),
            ]
            if label == "multi-index":
                checks.append(("build s", ref["build_s"], ours["build_s"]))
            else:
                checks.append(("build + write s", ref["build_s"], top["build"]["build_s"] + top["build"]["write_s"]))
            for what, theirs, mine in checks:
                out.append(
                    f"| {label} {what} ≤ pytx ({theirs:,.2f}) | {mine:,.2f} ({mine / theirs:.2f}x) "
                    f"| {_meets(mine <= theirs)} |"
                )
    return "\n".join(out) + "\n"


def _split(serve: dict[str, Any]) -> str:
    return f"{serve['pss_file_mib']:,.0f} + {serve['pss_anon_mib']:,.0f}"


def _meets(ok: bool) -> str:
    return "meets" if ok else "misses"


SNAP_BEGIN = "<!-- bench/index.py --snapshot: generated tables begin -->"
SNAP_END = "<!-- bench/index.py --snapshot: generated tables end -->"


def _splice_snapshots(generated: str) -> str:
    text = DOC.read_text() if DOC.exists() else ""
    head, sep, rest = text.partition(SNAP_BEGIN)
    _, sep2, tail = rest.partition(SNAP_END)
    if not sep or not sep2:
        return f"{text.rstrip()}\n\n{SNAP_BEGIN}\n{generated}{SNAP_END}\n"
    return f"{head}{SNAP_BEGIN}\n{generated}{SNAP_END}{tail}"


# ------------------------------------------------------------------ sharding, by simulation (docs/scaling.md)

SCALING_DOC = ROOT / "docs" / "scaling.md"
SHARD_COUNTS = (1, 2, 4, 8)


def _work(layout: Sequence[tuple[int, int]], radius: int, rows: int) -> tuple[float, float]:
    """Expected probes and candidates of one random query (the model in scaled_index.choose_chunks)."""
    probes = sum(sum(comb(length, r) for r in range(radius + 1)) for _, length in layout)
    candidates = sum(sum(comb(length, r) for r in range(radius + 1)) * rows / 2**length for _, length in layout)
    return float(probes), candidates


def scaling_run(total: int, queries: int = 2000) -> dict[str, Any]:
    """One index of ``total`` random hashes cut into S shards by id (scatter-gather): CPU and memory.

    Every query goes to every shard (a near match can differ in any bit, so no hash prefix can
    route it), so the CPU of one lookup is the sum over the shards; this measures that sum, one
    shard after another in this process, with the same queries.
    """
    rng = np.random.default_rng(SEED)
    words = _random_words(rng, total)
    ids = np.arange(total, dtype=np.int64)
    batch = _random_words(rng, queries)
    batch[: queries // 100] = words[rng.choice(total, size=queries // 100, replace=False)]  # 1% found
    rows = []
    for shards in SHARD_COUNTS:
        cpu = 0.0
        memory = 0
        probes = candidates = 0.0
        found = 0
        chunks = set()
        for k in range(shards):
            part = ids % shards == k
            index = MultiIndexHammingIndex.from_matrix(words[part], ids[part])
            layout = index.layout
            chunks.add(len(layout))
            p, c = _work(layout, THRESHOLD // len(layout), int(part.sum()))
            probes, candidates = probes + p, candidates + c
            memory += int(part.sum()) * (32 + 8 + 4 * len(layout)) + 4 * offsets_size(layout)
            index.query_many(batch[:50])  # warm-up
            best = float("inf")
            for _ in range(2):
                started = time.process_time()
                answers = index.query_many(batch)
                best = min(best, time.process_time() - started)
            cpu += best
            found += sum(1 for a in answers if a)
            del index
        rows.append(
            {
                "shards": shards,
                "chunks": sorted(chunks),
                "cpu_us_per_query": cpu / queries * 1e6,
                "probes": probes,
                "candidates": candidates,
                "memory_mib": memory / 2**20,
                "found": found,
            }
        )
        print(f"  {shards} shard(s): {cpu / queries * 1e6:,.0f} us CPU per query, found {found}", file=sys.stderr)
    return {"total": total, "queries": queries, "rows": rows, "load": os.getloadavg()[0]}


def _fit(rows: Sequence[dict[str, Any]]) -> tuple[float, float, float]:
    """Non-negative least squares: CPU per query = a * probes + b * candidates + c * shards.

    Non-negative because a cost cannot be: an unconstrained fit of four noisy runs gave a
    negative per-shard term.
    """
    # Imported here: scipy is heavy, and every server child this script spawns must start lean.
    from scipy.optimize import nnls

    design = np.asarray([[r["probes"], r["candidates"], r["shards"]] for r in rows], dtype=float)
    target = np.asarray([r["cpu_us_per_query"] for r in rows], dtype=float)
    (a, b, c), _residual = nnls(design, target)
    return float(a), float(b), float(c)


def render_scaling(result: dict[str, Any], command: str) -> str:
    a, b, c = _fit(result["rows"])
    out = [
        f"Generated by `{result.get('command', command)}` ({os.cpu_count()} cores, numpy {np.__version__}; load "
        f"average at the end {result.get('load', os.getloadavg()[0]):.1f}). {result['total']:,} random PDQ "
        "hashes cut into S shards by id; "
        f"{result['queries']:,} queries (1% with a copy in the bank) sent to every shard; CPU time summed over "
        "the shards (best of two runs).",
        "",
        "| shards | chunks per shard | index memory, all shards MiB | expected probes + candidates per query "
        "| CPU per query, all shards µs | queries with a match found |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        out.append(
            f"| {r['shards']} | {', '.join(map(str, r['chunks']))} | {r['memory_mib']:,.0f} "
            f"| {r['probes']:,.0f} + {r['candidates']:,.0f} | {r['cpu_us_per_query']:,.0f} "
            f"| {r['found']} / {result['queries'] // 100} |"
        )
    out += [
        "",
        f"Fitted cost (non-negative least squares over these runs): {a:.4f} µs per probe + {b:.4f} µs per candidate + "
        f"{c:.1f} µs per shard. Extrapolated with it:",
        "",
        "| hashes | shards | rows per shard | chunks | index memory, all shards GiB | CPU per lookup µs "
        "| cores for 10,000 lookups/s (index only) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for total, shards in ((10_000_000, 1), (100_000_000, 1), (100_000_000, 4), (100_000_000, 10)):
        per = total // shards
        m = choose_chunks(256, THRESHOLD, per)
        layout = chunk_layout(256, m)
        probes, candidates = _work(layout, THRESHOLD // m, per)
        cpu = shards * (a * probes + b * candidates + c)
        memory = shards * (per * (32 + 8 + 4 * m) + 4 * offsets_size(layout)) / 2**30
        out.append(f"| {total:,} | {shards} | {per:,} | {m} | {memory:,.1f} | {cpu:,.0f} | {cpu * 10_000 / 1e6:,.1f} |")
    return "\n".join(out) + "\n"


SCALE_BEGIN = "<!-- bench/index.py --scaling: generated begin -->"
SCALE_END = "<!-- bench/index.py --scaling: generated end -->"


def _splice_scaling(generated: str) -> str:
    text = SCALING_DOC.read_text() if SCALING_DOC.exists() else ""
    head, sep, rest = text.partition(SCALE_BEGIN)
    _, sep2, tail = rest.partition(SCALE_END)
    if not sep or not sep2:
        return f"{text.rstrip()}\n\n{SCALE_BEGIN}\n{generated}{SCALE_END}\n"
    return f"{head}{SCALE_BEGIN}\n{generated}{SCALE_END}{tail}"


# ------------------------------------------------------------------ crossover and rendering


def crossover() -> list[tuple[int, float, float]]:
    """Median single-query time of the multi-index and the scan for small N (in-process)."""
    from takedown.hashing.bits import words_to_hex
    from takedown.hashing.index import HammingIndex
    from takedown.hashing.scaled_index import MultiIndexHammingIndex

    rng = np.random.default_rng(SEED)
    out = []
    for n in (1_000, 2_000, 4_000, 8_000, 16_000, 100_000):
        words = _random_words(rng, n)
        texts = [words_to_hex(w) for w in words]
        mih = MultiIndexHammingIndex.from_hexes(texts, np.arange(n))
        brute = HammingIndex.build(zip(texts, range(n), strict=True))
        queries = [words_to_hex(w) for w in _random_words(rng, 300)]
        medians = []
        for index in (mih, brute):
            times = []
            for q in queries:
                t0 = time.perf_counter()
                index.query(q)
                times.append(time.perf_counter() - t0)
            medians.append(float(np.median(times)) * 1e6)
        out.append((n, medians[0], medians[1]))
    return out


def _line(row: dict[str, Any]) -> str:
    return (
        f"build {row['build_s']:.1f} s, peak {row['peak_mib']:.0f} MiB, p50 rand {row['rand'][0]:.2f} ms, "
        f"p50 planted {row['plant'][0]:.2f} ms, recall {row['recall'][0]}/{row['recall'][1]}, bad {row['bad']}"
    )


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| index | build s | peak MiB | resident MiB | random p50 / p95 / p99 ms | planted p50 / p95 / p99 ms "
        "| queries (planted, random) | recall (≤ 31) | extra hits | wrong hits | beyond-31 plants returned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        found, total = r["recall"]
        recall = f"{found}/{total} ({100 * found / total:.1f}%)" if total else "-"
        lines.append(
            f"| {r['method']} | {r['build_s']:.1f} | {r['peak_mib']:,.0f} | {r['resident_mib']:,.0f} "
            f"| {' / '.join(f'{v:.2f}' for v in r['rand'])} | {' / '.join(f'{v:.2f}' for v in r['plant'])} "
            f"| {r['queries'][0]}, {r['queries'][1]} | {recall} | {r['extra']} | {r['bad']} | {r['beyond_returned']} |"
        )
    return lines


def _verdict(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's targets at the largest N, against python-threatexchange in the same run."""
    n = max(r["n"] for r in rows)
    out = [
        f"### Targets at {n:,} hashes (multi-index against pytx `PDQIndex`, same run)",
        "",
        "| dataset | target | pytx | multi-index | ratio | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    for kind in ("random", "clustered"):
        pair = {r["method"]: r for r in rows if r["n"] == n and r["kind"] == kind}
        mih, ref = pair.get("multi-index"), pair.get("pytx")
        if not mih or not ref:
            continue
        checks = [
            ("random-query p50 ms ≤ pytx", ref["rand"][0], mih["rand"][0], 1.0),
            ("planted-query p50 ms ≤ pytx", ref["plant"][0], mih["plant"][0], 1.0),
            ("planted-query p99 ms ≤ pytx", ref["plant"][2], mih["plant"][2], 1.0),
            ("peak MiB ≤ 1/3 of pytx", ref["peak_mib"], mih["peak_mib"], 1 / 3),
            ("build s ≤ 1/2 of pytx", ref["build_s"], mih["build_s"], 1 / 2),
        ]
        for label, theirs, ours, limit in checks:
            ratio = ours / theirs if theirs else float("inf")
            verdict = "meets" if ratio <= limit else f"misses by {ratio / limit:.2f}x"
            out.append(f"| {kind} | {label} | {theirs:,.2f} | {ours:,.2f} | {ratio:.3f} | {verdict} |")
        found, total = mih["recall"]
        ok = found == total and mih["bad"] == 0 and mih["beyond_returned"] == 0
        out.append(
            f"| {kind} | every planted match ≤ 31 found, nothing beyond | {ref['recall'][0]}/{ref['recall'][1]} "
            f"| {found}/{total}, {mih['bad']} wrong | | {'meets' if ok else 'misses'} |"
        )
    return [*out, ""]


def render(rows: list[dict[str, Any]], cross: list[tuple[int, float, float]], command: str, threads: int) -> str:
    out = [
        "## Measured results",
        "",
        f"Generated by `{command}` ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}; OpenMP threads for FAISS and pytx: "
        f"{threads or 'one per core'}).",
        "",
    ]
    for n in sorted({r["n"] for r in rows}):
        for kind in ("random", "clustered"):
            group = [r for r in rows if r["n"] == n and r["kind"] == kind]
            if group:
                out += [f"### {n:,} hashes, {kind}", "", *_table(group), ""]
                mih = next((r for r in group if r["method"] == "multi-index"), None)
                if mih and mih.get("build_matrix_s") is not None:
                    out += [
                        f"multi-index built from a uint64 matrix: {mih['build_matrix_s']:.1f} s; batch query of "
                        f"the planted hashes in one `query_many` call: {mih['batch_per_s']:,.0f} hashes/s.",
                        "",
                    ]
    out += _verdict(rows)
    out += [
        "### Crossover: multi-index against the numpy scan, one query, median µs",
        "",
        "| hashes | multi-index | numpy scan |",
        "|---:|---:|---:|",
    ]
    out += [f"| {n:,} | {a:.0f} | {b:.0f} |" for n, a, b in cross]
    return "\n".join(out) + "\n"


BEGIN, END = "<!-- bench/index.py: generated tables begin -->", "<!-- bench/index.py: generated tables end -->"


def _splice(generated: str) -> str:
    """Replace only the generated part of the doc, keeping the hand-written analysis around it."""
    if not DOC.exists():
        return f"{BEGIN}\n{generated}{END}\n"
    text = DOC.read_text()
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        return f"{text.rstrip()}\n\n{BEGIN}\n{generated}{END}\n"
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "DATA_DIR", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--snapshot-build", nargs=2, metavar=("DATA_DIR", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, metavar=("DATA_DIR", "SPAWNED_AT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--batch-compare", nargs=2, metavar=("DATA_DIR", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--scaling",
        type=int,
        metavar="N",
        default=None,
        help="sharding simulation on N random hashes (1, 2, 4, 8 shards by id); writes docs/scaling.md's table",
    )
    parser.add_argument("--scaling-from", type=Path, default=None, help="re-render a saved --scaling --out JSON")
    parser.add_argument("--snapshot-from", type=Path, default=None, help="re-render a saved --snapshot --out JSON")
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="snapshots instead: pytx, the in-memory multi-index and a mapped snapshot on random hashes, "
        "start-up time and the memory of 4 processes (writes its own section of the doc)",
    )
    parser.add_argument("--quick", action="store_true", help="100k hashes and 60 photos; does not write the doc")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--datasets", nargs="+", default=["random", "clustered"], choices=["random", "clustered"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--photos", type=int, default=None, help="hash only the first N photos")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OpenMP threads for FAISS and pytx (default 1: the machine is shared and our index is "
        "single-threaded; 0 = FAISS's default of one per core)",
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="also save the raw rows as JSON")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    if args.snapshot_build:
        snapshot_build_child(Path(args.snapshot_build[0]), Path(args.snapshot_build[1]))
        return 0
    if args.batch_compare:
        batch_compare_child(Path(args.batch_compare[0]), Path(args.batch_compare[1]))
        return 0
    if args.serve:
        serve_child(Path(args.serve[0]), float(args.serve[1]), Path(args.serve[2]))
        return 0
    if args.quick:
        args.sizes, args.photos, args.no_write = [100_000], args.photos or 60, True
    command = " ".join([".venv/bin/python bench/index.py", *sys.argv[1:]])
    if args.scaling or args.scaling_from:
        result = json.loads(args.scaling_from.read_text()) if args.scaling_from else scaling_run(args.scaling)
        result.setdefault("command", command)
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
        text = render_scaling(result, command)
        print(text)
        if not args.no_write:
            SCALING_DOC.write_text(_splice_scaling(text))
            print(f"wrote {SCALING_DOC}", file=sys.stderr)
        print(f"reproduce: {command}", file=sys.stderr)
        return 0
    if args.snapshot or args.snapshot_from:
        if args.snapshot_from:
            snapshot_rows = json.loads(args.snapshot_from.read_text())
        else:
            snapshot_rows = snapshot_run(args.sizes, args.threads)
            snapshot_rows[-1].update(command=command, load=os.getloadavg()[0])
        if args.out:
            args.out.write_text(json.dumps(snapshot_rows, indent=1))
        text = render_snapshots(snapshot_rows, command, args.threads)
        print(text)
        if not args.no_write:
            DOC.write_text(_splice_snapshots(text))
            print(f"wrote {DOC}", file=sys.stderr)
        print(f"reproduce: {command}", file=sys.stderr)
        return 0
    rows = run(args.sizes, args.datasets, args.methods, args.photos, args.threads)
    cross = crossover()
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "crossover": cross}, indent=1))
    text = render(rows, cross, command, args.threads)
    print(text)
    if not args.no_write:
        DOC.write_text(_splice(text))
        print(f"wrote {DOC}", file=sys.stderr)
    print(f"reproduce: {command}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
