"""Batch lookup API throughput: hashes per second through gunicorn at N consented PDQ hashes.

What the number covers: `wrk` on loopback POSTs `/api/v1/lookup/` batches (default 1,000 PDQ
hashes, 1% of them planted within distance 8 of a registered hash, the rest random) with a real
API key to gunicorn serving the project's WSGI app on this machine (2 workers = 2 cores, which
`wrk` shares). Each request goes through the whole stack: middleware, key authentication
(PostgreSQL), the Redis rate limit, JSON parsing, the lookup service (the in-process bank's
`query_many`, the case-token HMACs, one query for the matched hash ids), the audit row written
per call, and the JSON answer. Hashes/s = requests/s x batch size; only 200 answers are counted.

What is stored: N rows of `platforms_feedentry` (the table lookups read; the feed's copy of each
consented registered hash) with values encrypted by the project's field encryption (Fernet),
written with COPY in a database of its own (`takedown_bench_api`, dropped at the end unless
--keep-db). No `cases_registeredhash` rows are written: the lookup never reads them, and
1 million of them would only slow the set-up. Each worker loads the bank (decrypting every
value) in `post_worker_init`, before it takes requests; that load time is reported separately.

The index is the bank's `LOOKUP_INDEX_CLASS` (numpy brute force, `HammingIndex`) or, with
`--index scaled`, `takedown.hashing.scaled_index.MultiIndexHammingIndex` swapped in by the
one-line choice (see the gunicorn hook in bench/api_gunicorn.py); with `--index snapshot` the
service runs as deployed with snapshots (`BANK_SNAPSHOT_STORE=local`): the snapshot is built once
beforehand from the values (the first build's decryption is not timed) and every worker's
`lookup_bank` maps it. `--repeat` runs wrk several times (the median is reported), `--profile`
adds a run under cProfile that says where a worker's time goes.

    .venv/bin/python bench/api.py            # 1M hashes; brute force (50-hash batches), then scaled (1,000)
    .venv/bin/python bench/api.py --quick    # 100k hashes, 10 s per index

Needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL as for the tests) and Debian's `wrk`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from the repository
# A database of its own (BENCH_API_DB picks another name, e.g. for two runs side by side).
BENCH_DB = os.environ.get("BENCH_API_DB", "takedown_bench_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _base_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "takedown.settings",
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "bench-api",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PLATFORM_API_RATE_LIMIT_PER_MINUTE": "100000000",
        "CHECK_ON_REPORT": "false",
    }


def _recreate_database(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return admin_url.rsplit("/", 1)[0] + "/" + BENCH_DB


def _drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def _encrypt_block(values: list[str]) -> list[str]:
    import django

    django.setup()
    from takedown.core.crypto import encrypt_text

    return [encrypt_text(v) for v in values]


def _random_pdq(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def _flip(value: str, bits: int, rng: np.random.Generator) -> str:
    number = int(value, 16)
    for bit in rng.choice(256, size=bits, replace=False):
        number ^= 1 << int(bit)
    return f"{number:064x}"


def populate(n: int, env: dict[str, str]) -> tuple[list[str], float]:
    """N random PDQ feed entries, encrypted in 2 processes and written with COPY. Returns the values."""
    started = time.perf_counter()
    values = _random_pdq(n, seed=20261126)
    blocks = [values[i : i + 50_000] for i in range(0, n, 50_000)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        encrypted = [token for block in pool.map(_encrypt_block, blocks) for token in block]
    import psycopg

    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    with psycopg.connect(env["DATABASE_URL"]) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY platforms_feedentry (change_id, public_id, signal, status, case_id, value, value_digest, updated_at)"
            " FROM STDIN"
        ) as copy:
            for i, token in enumerate(encrypted):
                copy.write_row((i + 1, f"h_{i:032x}", "pdq", "active", i // 10 + 1, token, "", now))
        cur.execute("INSERT INTO platforms_feedcounter (id, last_change_id) VALUES (1, %s)", (n,))
        cur.execute("SELECT min(id), max(id), count(*) FROM platforms_feedentry")
        assert cur.fetchone() == (1, n, n), "feed entry ids are not 1..n: the snapshot's ids would be wrong"
        conn.commit()
    return values, time.perf_counter() - started


def make_key(env: dict[str, str]) -> str:
    script = (
        "import django; django.setup()\n"
        "from takedown.core.access import Actor\n"
        "from takedown.registry.models import Platform\n"
        "from takedown.platforms import services\n"
        "p = Platform.objects.create(slug='bench', name='Bench')\n"
        "a = services.platform_account_create(actor=Actor.system(), platform=p, is_vetted=True)\n"
        "print(services.api_key_create(actor=Actor.system(), account=a, scopes=['lookup']).secret)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return out.strip().splitlines()[-1]


def request_body(values: list[str], batch: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    planted = max(1, batch // 100)
    hashes = [_flip(values[int(rng.integers(len(values)))], 8, rng) for _ in range(planted)]
    hashes += _random_pdq(batch - planted, seed=seed + 1)
    return json.dumps({"hashes": [{"signal": "pdq", "value": h} for h in hashes]}).encode()


WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
local f = io.open("%(body)s", "rb"); wrk.body = f:read("*a"); f:close()
"""


#: glibc malloc thresholds fixed for the workers (every index alike). Without them, glibc hands
#: each lookup's temporary arrays (a few MB) back to the kernel when they are freed, and the next
#: lookup faults them in again: ~12,500 minor faults and ~1.8x the CPU per 1,000-hash batch in a
#: worker that mapped a snapshot (measured). A worker that built its index in-process happened to
#: avoid it: the build's large allocations had already raised glibc's adaptive thresholds.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def build_snapshot_dir(values: list[str], directory: Path) -> float:
    """The build task's work, once: the feed's PDQ values (ids 1..n, as COPY assigned them) as a snapshot."""
    from takedown.hashing.snapshot import build_snapshot
    from takedown.hashing.snapshot_store import LocalSnapshotStore

    started = time.perf_counter()
    store = LocalSnapshotStore(directory)
    staging = store.staging_path("pdq")
    build_snapshot(staging, values=values, ids=np.arange(1, len(values) + 1), checkpoint=len(values))
    store.publish(staging)
    return time.perf_counter() - started


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, index: str, ready_dir: Path, profile_dir: Path | None = None
) -> subprocess.Popen[bytes]:
    worker_env = {**env, "BENCH_LOOKUP_INDEX": index, "BENCH_READY_DIR": str(ready_dir), **MALLOC_ENV}
    # The service as deployed: the bank maps the published snapshot (BANK_SNAPSHOT_STORE=local);
    # the other indexes are each worker's own bank built from PostgreSQL.
    worker_env["BANK_SNAPSHOT_STORE"] = "local" if index == "snapshot" else "none"
    worker_env["BANK_SNAPSHOT_DIR"] = str(ready_dir.parent / "snapshots")
    if profile_dir is not None:
        worker_env["BENCH_PROFILE_DIR"] = str(profile_dir)
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "takedown.wsgi:application",
            "--config",
            str(ROOT / "bench" / "api_gunicorn.py"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "900",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_wrk(url: str, key: str, body: bytes, seconds: int, connections: int, tmp: Path) -> dict[str, float]:
    body_path = tmp / "body.json"
    body_path.write_bytes(body)
    lua = tmp / "post.lua"
    lua.write_text(WRK_LUA % {"key": key, "body": body_path})
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "600s", "--latency", "-s", str(lua), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    requests_total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    latency = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    median_ms = float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan")
    return {"requests": requests_total, "elapsed": elapsed, "errors": errors, "median_ms": median_ms}


def _wait_ready(server: subprocess.Popen[bytes], ready: Path, workers: int) -> None:
    while len(list(ready.iterdir())) < workers:
        if server.poll() is not None:
            raise SystemExit(server.stderr.read().decode() if server.stderr else "gunicorn died")
        time.sleep(0.5)


def _stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=120)


def index_only_rate(directory: Path, body: bytes, rounds: int = 5) -> float:
    """Baseline in the same run: the batch through the mapped snapshot's `query_many` alone, one core."""
    from takedown.hashing.snapshot_store import LocalSnapshotStore

    index = LocalSnapshotStore(directory).open_latest("pdq")
    assert index is not None
    values = [h["value"] for h in json.loads(body)["hashes"]]
    index.query_many(values[:50])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        index.query_many(values)
        times.append(time.perf_counter() - started)
    return len(values) / float(np.median(times))


#: Where a worker's time goes: the functions whose cumulative time is reported, as a share of the
#: time spent handling requests (gunicorn's sync worker's `handle_request`). They nest: the lookup
#: service includes the index search and the hit confirmation.
PROFILE_PARTS = (
    ("handling requests (everything below)", "gunicorn/workers/sync.py", "handle_request"),
    ("the lookup service (`hashes_lookup`)", "platforms/services.py", "hashes_lookup"),
    ("index search on the mapped snapshot (`SnapshotIndex.query_many`)", "hashing/snapshot.py", "query_many"),
    ("confirming hits against the feed (`_resolve`, one query)", "matching/bank.py", "_resolve"),
    ("the bank's sync (reading changes)", "hashing/snapshot_bank.py", "sync"),
    ("checking each hash's text (`_parse_lookup`)", "platforms/services.py", "_parse_lookup"),
    ("case tokens (HMAC)", "platforms/keys.py", "case_token"),
    ("JSON parse of the request", "rest_framework/parsers.py", "parse"),
    ("JSON render of the answer", "rest_framework/renderers.py", "render"),
    ("key authentication", "platforms/access.py", "caller_for_key"),
    ("rate limit", "platforms/access.py", "rate_limit_count"),
    ("audit row per call", "platforms/services.py", "api_call_record"),
)


def profile_summary(directory: Path) -> list[tuple[str, float, float]]:
    """(part, cumulative seconds, share of request handling) over every worker's profile."""
    import pstats

    files = [str(p) for p in directory.glob("*.prof")]
    if not files:
        return []
    stats = pstats.Stats(*files).stats  # type: ignore[attr-defined]
    rows = []
    for label, filename, function in PROFILE_PARTS:
        cumulative = sum(
            entry[3] for (name, _line, func), entry in stats.items() if name.endswith(filename) and func == function
        )
        rows.append((label, cumulative))
    whole = rows[0][1] or 1.0
    return [(label, seconds, seconds / whole) for label, seconds in rows]


def bench_one(
    env: dict[str, str], values: list[str], key: str, index: str, args: argparse.Namespace
) -> dict[str, object]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ready = tmp / "ready"
        ready.mkdir()
        snapshot_s = build_snapshot_dir(values, tmp / "snapshots") if index == "snapshot" else None
        started = time.perf_counter()
        server = start_gunicorn(env, port, args.workers, index, ready)
        body = request_body(values, args.batch, seed=7)
        url = f"http://127.0.0.1:{port}/api/v1/lookup/"
        try:
            _wait_ready(server, ready, args.workers)
            load_seconds = max(float(p.read_text()) for p in ready.iterdir())
            ready_after = time.perf_counter() - started
            request = urllib.request.Request(
                url, data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=900) as response:  # one warm, checked answer
                answer = json.loads(response.read())["results"]
            planted_found = sum(1 for r in answer[: max(1, args.batch // 100)] if r["matches"])
            runs = [run_wrk(url, key, body, args.seconds, args.connections, tmp) for _ in range(args.repeat)]
        finally:
            _stop(server)
        baseline = index_only_rate(tmp / "snapshots", body) if index == "snapshot" else None
        parts: list[tuple[str, float, float]] = []
        if args.profile:
            profiles = tmp / "profiles"
            profiles.mkdir()
            port = _free_port()
            for p in ready.iterdir():
                p.unlink()
            server = start_gunicorn(env, port, args.workers, index, ready, profiles)
            try:
                _wait_ready(server, ready, args.workers)
                run_wrk(f"http://127.0.0.1:{port}/api/v1/lookup/", key, body, args.seconds, args.connections, tmp)
            finally:
                _stop(server)
            parts = profile_summary(profiles)
    rates = [(r["requests"] - r["errors"]) * args.batch / r["elapsed"] for r in runs]
    return {
        "index": index,
        "batch": args.batch,
        "requests": int(sum(r["requests"] for r in runs)),
        "errors": int(sum(r["errors"] for r in runs)),
        "hashes_per_s": float(np.median(rates)),
        "rates": rates,
        "median_ms": float(np.median([r["median_ms"] for r in runs])),
        "load_s": load_seconds,
        "ready_s": ready_after,
        "planted_found": f"{planted_found}/{max(1, args.batch // 100)}",
        "snapshot_s": snapshot_s,
        "index_only": baseline,
        "profile": parts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--brute-batch", type=int, default=50, help="batch for the brute-force index (1,000 would take minutes)"
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--index",
        default="both",
        help="comma-separated among brute, scaled (each worker loads from PostgreSQL), snapshot (each worker "
        "maps one snapshot built beforehand); both = brute,scaled",
    )
    parser.add_argument("--repeat", type=int, default=1, help="wrk runs per index; the table gives the median")
    parser.add_argument(
        "--profile", action="store_true", help="then one more run under cProfile: where a worker's time goes"
    )
    parser.add_argument("--quick", action="store_true", help="100k hashes, 10 s per index")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.hashes, args.seconds = 100_000, 10
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (Debian package `wrk`).")
    # The server to create the bench database on (its own database name is not used).
    admin_url = (
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0] + "/postgres"
    )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    database_url = _recreate_database(admin_url)
    env = _base_env(database_url, redis_url)
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        values, populate_s = populate(args.hashes, env)
        key = make_key(env)
        indexes = ["brute", "scaled"] if args.index == "both" else args.index.split(",")
        unknown = set(indexes) - {"brute", "scaled", "snapshot"}
        if unknown:
            raise SystemExit(f"unknown index: {', '.join(sorted(unknown))}")
        rows = [
            bench_one(env, values, key, index, argparse.Namespace(**{**vars(args), "batch": args.brute_batch}))
            if index == "brute"
            else bench_one(env, values, key, index, args)
            for index in indexes
        ]
    finally:
        if not args.keep_db:
            _drop_database(admin_url)
    command = "    .venv/bin/python bench/api.py " + " ".join(sys.argv[1:])
    print(
        f"\n{args.hashes:,} consented PDQ hashes (populated in {populate_s:.0f} s); gunicorn {args.workers} workers,"
        f" wrk {args.connections} connections for {args.seconds} s on loopback, {os.cpu_count()} cores\n"
    )
    print(
        f"| index | batch | requests | non-200 | hashes/s (median of {args.repeat}) | median request"
        " | bank load per worker | planted found |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['index']} | {r['batch']:,} | {r['requests']:,} | {r['errors']} | {r['hashes_per_s']:,.0f} |"
            f" {r['median_ms']:,.0f} ms | {r['load_s']:.1f} s | {r['planted_found']} |"
        )
    for r in rows:
        print(f"\n{r['index']}: hashes/s of each run: {', '.join(f'{x:,.0f}' for x in r['rates'])}")  # type: ignore[attr-defined]
        if r["snapshot_s"] is not None:
            print(f"snapshot built and published once in {r['snapshot_s']:.1f} s (not counted in the load column)")
        if r["index_only"] is not None:
            print(
                f"baseline in the same run: the same batch through the mapped snapshot's query_many alone,"
                f" one core, no HTTP: {r['index_only']:,.0f} hashes/s"
            )
        if r["profile"]:
            print(
                "\nWhere the workers' time went (a separate run under cProfile, which slows Python code more"
                " than numpy; cumulative, nested):\n\n| part | seconds | share of request handling |"
                "\n| --- | ---: | ---: |"
            )
            for label, seconds, share in r["profile"]:  # type: ignore[attr-defined]
                print(f"| {label} | {seconds:.1f} | {share:.0%} |")
    print(f"\nReproduce:\n{command}")


if __name__ == "__main__":
    main()
