"""Pipeline benchmark: from a reported URL to a recorded verdict, on loopback.

Measures (DESIGN section 9, issue "Checking reported URLs"):
  1. latency: the median time from reporting a URL (service call, tasks in process) to the
     verdict being recorded, for a page carrying a ~2 MB JPEG served from 127.0.0.1;
  2. throughput: the sustained rate with two real Celery workers (Redis broker, PostgreSQL).

It creates its own PostgreSQL database (`takedown_bench`, dropped and re-created) and uses Redis
database 12. Reproduce with:

    .venv/bin/python bench/pipeline.py            # full: 30 latency samples, 60 reports for throughput
    .venv/bin/python bench/pipeline.py --smoke    # quick check

and the table is written to docs/benchmarks/pipeline.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))
PHOTO = ROOT.parent / "shared" / "data" / "photos" / "kodak" / "kodim05.png"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/12")
DB_NAME = "takedown_bench"


def two_mb_jpeg() -> bytes:
    """A JPEG of about 2 MB: a shared photo upscaled until the file reaches 1.9 MB at quality 95."""
    from PIL import Image

    source = Image.open(PHOTO).convert("RGB")
    width = 2400
    while True:
        im = source.resize((width, width * 2 // 3), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=95)
        if out.tell() >= 1_900_000 or width > 6000:
            return out.getvalue()
        width += 400


def serve(routes: dict[str, tuple[str, bytes]]) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            content_type, body = routes.get(self.path.split("?")[0], ("text/plain", b"no"))
            self.send_response(200 if self.path.split("?")[0] in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def env(broker: bool) -> dict[str, str]:
    out = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "takedown.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "FETCH_ALLOW_LOOPBACK": "true",
        "CHECK_ON_REPORT": "true",
        "INTAKE_ORGANIZATION_SLUG": "",
        "LOG_LEVEL": "WARNING",
    }
    out.pop("CELERY_BROKER_URL", None)
    if broker:
        out["CELERY_BROKER_URL"] = BROKER
    return out


def setup_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(False), check=True)


def phase(name: str, base: str, count: int) -> dict[str, Any]:
    """Run inside a subprocess with Django configured by `env`."""
    import django

    django.setup()
    from takedown.cases import services
    from takedown.cases.models import ReportedItem
    from takedown.core.access import Actor
    from takedown.hashing.bundle import build_bundle, make_item
    from takedown.hashing.media import hash_file
    from takedown.matching.models import CheckState, ItemCheck

    media = hash_file(PHOTO)
    bundle = build_bundle([make_item("image", media.hashes)])
    case = services.case_open(actor=Actor.system(), signature_name="bench", bundle=bundle).case
    if name == "latency":
        samples = []
        for i in range(count):
            started = time.perf_counter()
            services.case_add_urls(actor=Actor.system(), case=case, urls=[f"{base}/page?n={i}"])
            item = ReportedItem.objects.filter(case=case).latest("id")
            check = item.checks.get()
            assert check.state == CheckState.DONE and check.verdict == "match", (check.verdict, check.verdict_text)
            samples.append(time.perf_counter() - started)
        return {"samples": samples}
    started = time.perf_counter()
    for i in range(count):
        services.case_add_urls(actor=Actor.system(), case=case, urls=[f"{base}/page?t={i}"])
    deadline = time.time() + 600
    while ItemCheck.objects.filter(case=case, state=CheckState.DONE).count() < count:
        if time.time() > deadline:
            raise SystemExit("throughput phase timed out")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    verdicts = list(ItemCheck.objects.filter(case=case).values_list("verdict", flat=True))
    return {"elapsed": elapsed, "count": count, "matches": verdicts.count("match")}


def run_phase(name: str, base: str, count: int, broker: bool) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--base", base, "--count", str(count)],
        cwd=ROOT,
        env=env(broker),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--base")
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.base, args.count)))
        return

    command = "bench/pipeline.py" + (" --smoke" if args.smoke else "")
    print(f"reproduce: .venv/bin/python {command}", flush=True)
    latency_n, throughput_n = (5, 10) if args.smoke else (30, 60)
    jpeg = two_mb_jpeg()
    page = b'<!doctype html><meta property="og:image" content="/photo.jpg"><title>p</title>'
    base = serve({"/page": ("text/html", page), "/photo.jpg": ("image/jpeg", jpeg)})
    setup_database()

    latency = run_phase("latency", base, latency_n, broker=False)["samples"]
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    worker_env = env(True)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "takedown",
                "worker",
                "-Q",
                "fetch,match,default",
                "-c",
                "1",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"bench{i}@%h",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    try:
        time.sleep(4)  # let both workers connect
        throughput = run_phase("throughput", base, throughput_n, broker=True)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    median = statistics.median(latency)
    rate = throughput["count"] / throughput["elapsed"]
    table = [
        "# Pipeline benchmark",
        "",
        f"Reproduce: `.venv/bin/python {command}` (writes this file). Machine: {os.cpu_count()} cores.",
        "",
        f"A page on 127.0.0.1 carrying one {len(jpeg) / 1e6:.2f} MB JPEG (a Kodak photo upscaled, quality 95);",
        "the case registered the original's hashes in the browser-compatible bundle format.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| reported URL to recorded verdict, tasks in process, median of {len(latency)} | "
        f"{median * 1000:.0f} ms (p90 {sorted(latency)[int(len(latency) * 0.9) - 1] * 1000:.0f} ms) | under 1 s |",
        f"| sustained rate, 2 Celery workers (Redis, PostgreSQL), {throughput['count']} reports | "
        f"{rate:.1f} checks/s ({throughput['matches']} of {throughput['count']} matched) | reported |",
        "",
        "Each check fetches the page and the image through the SSRF-safe fetcher (loopback allowed for",
        "the benchmark only), hashes the image with the checking-side views, matches it against the",
        "case's registered hashes, seals the evidence record and updates the item.",
    ]
    out = ROOT / "docs" / "benchmarks" / "pipeline.md"
    if not args.smoke:
        out.write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
