"""Pipeline benchmark: from a reported URL to a recorded verdict, through the service, on loopback.

Two parts, each writing its own section of docs/benchmarks/pipeline.md (between its markers; every
other section of the file, such as bench/pipeline_media.py's, is kept as it is):

``image`` (DESIGN section 9, issue "Checking reported URLs"):
  1. latency: the median time from reporting a URL (service call, tasks in process) to the verdict
     being recorded, for a page carrying a ~2 MB JPEG served from 127.0.0.1;
  2. throughput: the sustained rate with two real Celery workers (Redis broker, PostgreSQL).

``media`` (issue 20, "Checking the pages where this content really lives"):
  3. a tube page streaming a 10-minute video over HLS (the survivor registered the video as an MP4)
     and a gallery a script builds (one registered photo among six): the time from reporting the
     URL to the verdict and the bytes fetched, through the whole service: tasks in process (the
     embedded default; the gallery rendered in this process), and through real workers on Redis
     (one on fetch/match/default, one on the render queue with its own Chromium). The baseline,
     measured in the same run, is the same check by the library alone (`takedown.cli.fetching`,
     no database, no detectors, no evidence).

It creates its own PostgreSQL database (`takedown_bench`, dropped and re-created) and uses Redis
database 12. Reproduce with:

    .venv/bin/python bench/pipeline.py                      # both parts; writes both sections
    .venv/bin/python bench/pipeline.py --part media         # the media part only (its section only)
    .venv/bin/python bench/pipeline.py --smoke              # quick check (1-minute stream), nothing written
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
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
OUT = ROOT / "docs" / "benchmarks" / "pipeline.md"
TITLE = "# Pipeline benchmark"
MIB = 1024 * 1024
#: The archetype hosts resolve to 127.0.0.1 in the service processes (the policy still checks them).
RESOLVER = "tests.matching.archetype_hosts.resolve"


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


def env(broker: bool, **extra: str) -> dict[str, str]:
    out = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "takedown.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "FETCH_ALLOW_LOOPBACK": "true",
        "CHECK_ON_REPORT": "true",
        "INTAKE_ORGANIZATION_SLUG": "",
        "LOG_LEVEL": "WARNING",
        **extra,
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


# --- phases (each runs in a subprocess with Django configured by `env`) ---------------------------


def phase(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    if name in {"media", "media-workers"}:
        return media_phase(args, workers=name == "media-workers")
    from takedown.cases import services
    from takedown.cases.models import ReportedItem
    from takedown.core.access import Actor
    from takedown.hashing.bundle import build_bundle, make_item
    from takedown.hashing.media import hash_file
    from takedown.matching.models import CheckState, ItemCheck

    base, count = args.base, args.count
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


def media_phase(args: argparse.Namespace, *, workers: bool) -> dict[str, Any]:
    """Report each URL of `args.urls` (JSON: label -> list of URLs, one per run) in turn and time
    it to its verdict: at once in process, or by polling while real workers check it."""
    from takedown.cases import services
    from takedown.cases.models import ReportedItem
    from takedown.core.access import Actor
    from takedown.matching.models import CheckState, ItemCheck

    bundle = services.parse_bundle(Path(args.bundle).read_text(encoding="utf-8"))
    case = services.case_open(
        actor=Actor.system(), signature_name="bench", bundle=bundle, content_kind=args.content_kind
    ).case
    results: dict[str, list[dict[str, Any]]] = {}
    for label, urls in json.loads(args.urls).items():
        runs = results.setdefault(label, [])
        for url in urls:
            started = time.perf_counter()
            services.case_add_urls(actor=Actor.system(), case=case, urls=[url])
            item = ReportedItem.objects.filter(case=case).latest("id")
            deadline = time.monotonic() + 300
            while True:
                check = ItemCheck.objects.filter(item=item, state=CheckState.DONE).first()
                if check is not None:
                    break
                if not workers or time.monotonic() > deadline:
                    raise SystemExit(f"{label}: no verdict for {url}")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            matched = [m for m in check.media.all() if m.matched]
            runs.append(
                {
                    "elapsed": elapsed,
                    "verdict": check.verdict,
                    "verdict_text": check.verdict_text,
                    "bytes": check.bytes_fetched,
                    "requests": check.requests_made,
                    "rendered": check.rendered,
                    "media": check.media.count(),
                    "matched": [m.how for m in matched],
                    "frames": [m.frames for m in check.media.all() if m.how == "playlist"],
                    "segments": [len((m.stream or {}).get("segments", [])) for m in matched if m.stream],
                }
            )
    return results


def run_phase(name: str, broker: bool, extra_env: dict[str, str] | None = None, **options: Any) -> Any:
    argv = [sys.executable, __file__, "--phase", name]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    result = subprocess.run(
        argv, cwd=ROOT, env=env(broker, **(extra_env or {})), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_workers(queues: list[str], extra_env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    worker_env = env(True, **extra_env)
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "takedown",
                "worker",
                "-Q",
                queue,
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
        for i, queue in enumerate(queues)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


# --- the image part -------------------------------------------------------------------------------


def image_part(smoke: bool, command: str) -> str:
    latency_n, throughput_n = (5, 10) if smoke else (30, 60)
    jpeg = two_mb_jpeg()
    page = b'<!doctype html><meta property="og:image" content="/photo.jpg"><title>p</title>'
    base = serve({"/page": ("text/html", page), "/photo.jpg": ("image/jpeg", jpeg)})
    latency = run_phase("latency", broker=False, base=base, count=latency_n)["samples"]
    workers = start_workers(["fetch,match,default", "fetch,match,default"], {})
    try:
        time.sleep(4)  # let both workers connect
        throughput = run_phase("throughput", broker=True, base=base, count=throughput_n)
    finally:
        stop_workers(workers)
    median = statistics.median(latency)
    rate = throughput["count"] / throughput["elapsed"]
    return "\n".join(
        [
            f"Reproduce: `.venv/bin/python {command}` (writes this section). Machine: {os.cpu_count()} cores.",
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
    )


# --- the media part -------------------------------------------------------------------------------


def media_part(smoke: bool, runs: int, command: str) -> str:
    # The stream, the gallery and their pages are bench/pipeline_media.py's (one definition). bench/
    # is a folder of scripts, not a package: run as a script, this one has it on sys.path.
    from pipeline_media import build
    from pipeline_media import serve as serve_media

    from takedown.cli.fetching import check_urls
    from takedown.fetching import ChromiumRenderer, FetchPolicy
    from takedown.hashing.bundle import build_bundle, dump_bundle, make_item
    from takedown.hashing.media import hash_file
    from tests.fetching.archetypes.media import jpeg, photos
    from tests.matching.archetype_hosts import resolve

    seconds = 60.0 if smoke else 600.0
    with tempfile.TemporaryDirectory(prefix="takedown-bench-pipeline-") as tmp:
        directory = Path(tmp)
        print(f"building a {seconds / 60:g}-minute HLS stream and MP4 with PyAV ...", flush=True)
        built = build(directory, seconds)
        chosen = photos(6, seed=7)
        gallery = [jpeg(path, width=800, quality=85) for path in chosen]
        bundle = build_bundle(
            [make_item("video", hash_file(built["mp4"]).hashes), make_item("image", hash_file(chosen[3]).hashes)],
            "takedown-cli",
            "bench",
        )
        bundle_path = directory / "bundle.json"
        bundle_path.write_text(dump_bundle(bundle), encoding="utf-8")
        server = serve_media(directory, gallery)
        # One page per run (a case holds a URL once): the same routes under numbered paths.
        for n in range(runs + 2):
            server.routes[f"/watch/{100 + n}"] = server.routes["/watch/1"]
            server.routes[f"/album/{100 + n}"] = server.routes["/album/7"]
        watch = [server.url(f"/watch/{100 + n}", host="tube.test") for n in range(runs + 2)]
        album = [server.url(f"/album/{100 + n}", host="gallery.test") for n in range(runs + 2)]
        policy = FetchPolicy(allow_loopback=True, allowed_ports=None, resolver=resolve)
        service_env = {"FETCH_RESOLVER": RESOLVER, "RENDER_PAGES": "true"}
        try:
            # Baseline: the library alone on the same pages (no database, detectors or evidence).
            library_stream = [_timed(check_urls, [url], bundle, policy) for url in watch[:runs]]
            with ChromiumRenderer() as renderer:
                library_render = [
                    _timed(check_urls, [url], bundle, policy, renderer=renderer, render="auto")
                    for url in album[: runs + 1]
                ][1:]
            # The service with tasks in process: the first gallery starts this process's browser.
            # The survivor says the images are real (no face templates): hash matching only, as
            # most cases are; then the same with the detectors on (content of unknown kind).
            pages = json.dumps({"stream": watch[:runs], "render": album[: runs + 1]})
            in_process = run_phase("media", broker=False, extra_env=service_env, bundle=bundle_path, urls=pages)
            detectors = run_phase(
                "media", broker=False, extra_env=service_env, bundle=bundle_path, urls=pages, content_kind="unknown"
            )
            # The service with real workers: fetch/match/default, and render with its own browser.
            workers = start_workers(["fetch,match,default", "render"], service_env)
            try:
                time.sleep(5)  # let both workers connect
                with_workers = run_phase(
                    "media-workers", broker=True, extra_env=service_env, bundle=bundle_path, urls=pages
                )
            finally:
                stop_workers(workers)
        finally:
            server.close()

    for results in (in_process, detectors, with_workers):
        assert all(r["verdict"] == "match" and r["matched"] == ["playlist"] for r in results["stream"]), results
        assert all(
            r["verdict"] == "match" and r["rendered"] and r["matched"] == ["rendered"] for r in results["render"]
        )

    def median(values: list[float]) -> float:
        return statistics.median(values)

    lib_stream_s = median([t for t, _ in library_stream])
    lib_render_s = median([t for t, _ in library_render])
    rows = [
        "| measure | result | target |",
        "| --- | --- | --- |",
    ]
    stream_bytes = in_process["stream"][-1]["bytes"]
    chosen_rendition = f"{built['segments']} segments per rendition"
    modes = (
        ("tasks in process (embedded default)", in_process),
        ("the same with the detectors on", detectors),
        ("real workers on Redis", with_workers),
    )
    for label, results in modes:
        stream_s = median([r["elapsed"] for r in results["stream"]])
        cold = results["render"][0]["elapsed"]
        warm = median([r["elapsed"] for r in results["render"][1:]])
        rows.append(
            f"| {seconds / 60:g}-minute HLS page, reported URL to verdict, {label}, median of "
            f"{len(results['stream'])} | {stream_s:.2f} s ({stream_s / lib_stream_s:.2f}x the library alone, "
            f"{lib_stream_s:.2f} s) | under 20 s |"
        )
        rows.append(
            f"| script-built gallery through the render step, {label}, warm browser, median of "
            f"{len(results['render']) - 1} | {warm:.2f} s ({warm / lib_render_s:.2f}x the library alone, "
            f"{lib_render_s:.2f} s); cold (browser started for it) {cold:.2f} s | under 5 s |"
        )
    render_run = in_process["render"][-1]
    stream_run = in_process["stream"][-1]
    whole = built["rendition_bytes"]
    smallest = min(whole.values())
    rows += [
        f"| bytes fetched for the HLS page | {stream_bytes / MIB:.1f} MiB in {stream_run['requests']} requests "
        f"({stream_run['segments'][0]} segments sampled; {100 * stream_bytes / smallest:.0f}% of the smallest "
        f"rendition, {smallest / MIB:.1f} MiB; the whole video as MP4 is {built['mp4_bytes'] / MIB:.1f} MiB) "
        "| not the whole video |",
        f"| bytes fetched for the gallery | {render_run['bytes'] / 1024:.0f} KiB in {render_run['requests']} "
        f"requests, {render_run['media']} media recorded, the registered photo matched | reported |",
        f"| verdicts | every run matched: the stream by {stream_run['frames'][0]} distinct frames (vPDQ), "
        "the gallery's registered photo found by the renderer | match |",
    ]
    load = os.getloadavg()[0]
    today = datetime.now(UTC).date().isoformat()
    return "\n".join(
        [
            "## Streamed video and rendered pages through the service",
            "",
            f"Reproduce: `.venv/bin/python {command}` (writes this section). Machine: {os.cpu_count()} cores, "
            f"load average {load:.1f} at the end of the run, {today}.",
            "",
            *rows,
            "",
            f"The pages are bench/pipeline_media.py's ({chosen_rendition}), on 127.0.0.1 under the production "
            "fetch policy (loopback allowed for the benchmark only, requests to one host 0.1 s apart), checked "
            f"through the service: the link is added to a case whose bundle registers the {seconds / 60:g}-minute "
            "video (as an MP4) and one photo of the gallery, and the time runs until the verdict is recorded "
            "(fetch, hash, match, evidence sealed, item updated). The survivor says the images are real and gave "
            'no face templates, so the detectors do not run, as in most cases; the row "with the detectors on" '
            "is a case of unknown content kind, where the explicit-content and provenance detectors also look at "
            "the stream's frames (one per sampled segment, up to 8) and at each photo. In process, "
            "the gallery's static read finds nothing, so the render step runs in the same process with its "
            "browser kept between pages; with workers, the fetch worker hands the check to the render queue and "
            "the render worker (its browser started by the first gallery, the cold figure) reads it. The "
            "baseline is the same check by the library alone (`takedown.cli.fetching.check_urls`: fetch, "
            "hash, best match; no database, detectors or evidence), measured in the same run.",
        ]
    )


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


# --- the file ----------------------------------------------------------------------------------------


def replace_section(text: str, name: str, section: str) -> str:
    """`text` with the section between `<!-- name:start -->` and `<!-- name:end -->` replaced (or
    appended), every other line of the file kept as it is."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        return before + block + after
    return text.rstrip("\n") + "\n\n" + block + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "image", "media"], default="all")
    parser.add_argument("--runs", type=int, default=5, help="runs per page in the media part")
    parser.add_argument("--smoke", action="store_true", help="small and quick; nothing written")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--content-kind", default="authentic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args)))
        return

    runs = 2 if args.smoke else args.runs
    options = (" --smoke" if args.smoke else "") + (f" --part {args.part}" if args.part != "all" else "")
    options += f" --runs {args.runs}" if args.part != "image" and args.runs != 5 and not args.smoke else ""
    command = f"bench/pipeline.py{options}"
    print(f"reproduce: .venv/bin/python {command}", flush=True)
    setup_database()
    sections: dict[str, str] = {}
    if args.part in {"all", "image"}:
        sections["pipeline_image"] = image_part(args.smoke, command)
    if args.part in {"all", "media"}:
        sections["pipeline_service"] = media_part(args.smoke, runs, command)
    for section in sections.values():
        print(section, flush=True)
    if args.smoke:
        return
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else TITLE + "\n"
    if "pipeline_image:start" not in text and text.startswith(TITLE) and "pipeline_image" in sections:
        # The first run with sections: the old unmarked text (this script's former output, up to the
        # first other section) is replaced by the marked image section.
        _head, marker, rest = text.partition("<!--")
        text = TITLE + "\n\n<!-- pipeline_image:start -->\n<!-- pipeline_image:end -->\n\n" + marker + rest
    for name, section in sections.items():
        text = replace_section(text, name, section)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
