"""Streamed video and rendered pages: time from reported URL to result, and bytes fetched.

Measures (issue 20, "Checking the pages where this content really lives"):
  1. a tube page whose player streams a 10-minute video over HLS (two renditions, 6-second
     MPEG-TS segments, built here by PyAV from the shared videos, concatenated and looped): the time
     from the reported URL to the result (fetch the page, follow the playlist, sample segments,
     decode at 1 fps, hash on the checking side, best match against the bundle) and the bytes
     fetched, against the baseline of downloading and hashing the whole video as one MP4 file;
  2. a gallery a script builds from JSON (six photos, one registered): the same with the Chromium
     renderer, cold (browser start included) and warm (browser kept, fresh context), against the
     static read of the same page (which finds nothing).

Everything runs on 127.0.0.1 through the production fetch policy (loopback allowed for the bench
only; politeness, caps and the 12-segment sample at their defaults). The check is the one the CLI
makes (``takedown.cli.fetching.check_urls``); the Django tasks around it are measured by
bench/pipeline.py. Reproduce with:

    .venv/bin/python bench/pipeline_media.py              # 5 runs each; writes the section below
    .venv/bin/python bench/pipeline_media.py --quick      # 1-minute stream, 1 run, nothing written

and the table is written to a section of docs/benchmarks/pipeline.md (between its markers; the
other sections of that file are left as they are).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))

from takedown.cli.fetching import check_urls  # noqa: E402 - after the path set-up above
from takedown.fetching import ChromiumRenderer, FetchPolicy  # noqa: E402
from takedown.hashing.bundle import build_bundle, make_item  # noqa: E402
from takedown.hashing.media import hash_file  # noqa: E402
from tests.fetching.archetypes.media import VIDEOS, encode_hls, encode_mp4, jpeg, photos  # noqa: E402
from tests.fetching.servers import LocalServer, MapResolver, respond  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "pipeline.md"
START, END = "<!-- pipeline_media:start -->", "<!-- pipeline_media:end -->"
SOURCES = [
    VIDEOS / "bsd_threatexchange_tmk" / "chair-orig-22-sd-bar.mp4",
    VIDEOS / "cc0_mdn" / "flower.mp4",
    VIDEOS / "bsd_threatexchange_tmk" / "pattern-hd-no-bar.mp4",
    VIDEOS / "cc0_mdn" / "friday.mp4",
    VIDEOS / "bsd_threatexchange_tmk" / "doorknob-hd-no-bar.mp4",
    VIDEOS / "cc0_mdn" / "stream-of-water.mp4",
]
RENDITIONS = [(426, 240), (854, 480)]
FPS = 12
SEGMENT = 6
HTML = {"Content-Type": "text/html; charset=utf-8"}
MIB = 1024 * 1024


def build(directory: Path, seconds: float) -> dict[str, Any]:
    started = time.monotonic()
    encode_hls(SOURCES, directory / "hls", RENDITIONS, fps=FPS, segment=SEGMENT, seconds=seconds)
    mp4 = encode_mp4(SOURCES, directory / "video.mp4", RENDITIONS[-1], fps=FPS, seconds=seconds)
    sizes = {
        f"{w}x{h}": sum(p.stat().st_size for p in (directory / "hls" / f"{w}x{h}").glob("*.ts")) for w, h in RENDITIONS
    }
    segments = len(list((directory / "hls" / f"{RENDITIONS[0][0]}x{RENDITIONS[0][1]}").glob("*.ts")))
    return {
        "mp4": mp4,
        "mp4_bytes": mp4.stat().st_size,
        "rendition_bytes": sizes,
        "segments": segments,
        "build_s": time.monotonic() - started,
    }


def serve(directory: Path, gallery: list[bytes]) -> LocalServer:
    server = LocalServer()
    for path in sorted((directory / "hls").rglob("*")):
        if path.is_file():
            server.routes[f"/hls/{path.relative_to(directory / 'hls').as_posix()}"] = respond(200, path.read_bytes())
    server.routes["/video.mp4"] = respond(200, (directory / "video.mp4").read_bytes(), {"Content-Type": "video/mp4"})
    player = f"http:\\/\\/cdn.tube.test:{server.port}\\/hls\\/master.m3u8"
    server.routes["/watch/1"] = respond(
        200,
        f"""<!doctype html><html><head><title>A 10-minute video</title>
<meta property="og:type" content="video.other"></head><body><div id="player" class="video-js"></div>
<script>var flashvars = {{"video_id": 1, "hls": "{player}"}};</script></body></html>""".encode(),
        HTML,
    )
    for index, body in enumerate(gallery):
        server.routes[f"/media/{index}.jpg"] = respond(200, body, {"Content-Type": "image/jpeg"})
    items = ", ".join(f'{{"src": "/media/{index}.jpg"}}' for index in range(len(gallery)))
    server.routes["/api/album.json"] = respond(
        200, f'{{"photos": [{items}]}}'.encode(), {"Content-Type": "application/json"}
    )
    server.routes["/album/7"] = respond(
        200,
        b"""<!doctype html><html><head><title>Album</title></head><body><div id="grid"></div><script>
fetch("/api/album.json").then(function (r) { return r.json(); }).then(function (album) {
  album.photos.forEach(function (photo) {
    var img = document.createElement("img"); img.src = photo.src; document.getElementById("grid").appendChild(img);
  });
});
</script></body></html>""",
        HTML,
    )
    return server


def timed(urls: list[str], bundle: Any, policy: FetchPolicy, **options: Any) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    [report] = check_urls(urls, bundle, policy, **options)
    return time.monotonic() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a 1-minute stream and one run; nothing written")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing the docs")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    seconds = 60.0 if args.quick else 600.0
    command = "bench/pipeline_media.py" + (" --quick" if args.quick else f" --runs {runs}")
    print(f"reproduce: .venv/bin/python {command}", flush=True)

    with tempfile.TemporaryDirectory(prefix="takedown-bench-media-") as tmp:
        directory = Path(tmp)
        print(f"building a {seconds / 60:g}-minute HLS stream and MP4 with PyAV ...", flush=True)
        built = build(directory, seconds)
        chosen_photos = photos(6, seed=7)
        gallery = [jpeg(path, width=800, quality=85) for path in chosen_photos]
        registered = [
            make_item("video", hash_file(built["mp4"]).hashes),
            make_item("image", hash_file(chosen_photos[3]).hashes),
        ]
        bundle = build_bundle(registered, "takedown-cli", "bench")
        server = serve(directory, gallery)
        hosts = ("tube.test", "cdn.tube.test", "gallery.test")
        policy = FetchPolicy(
            allow_loopback=True, allowed_ports=None, resolver=MapResolver({host: ["127.0.0.1"] for host in hosts})
        )
        watch = server.url("/watch/1", host="tube.test")
        direct = server.url("/video.mp4", host="cdn.tube.test")
        album = server.url("/album/7", host="gallery.test")
        try:
            stream_runs = [timed([watch], bundle, policy) for _ in range(runs)]
            # The baseline decodes and hashes the whole video each time: three runs are enough.
            whole_runs = [timed([direct], bundle, policy) for _ in range(min(runs, 3))]
            static_runs = [timed([album], bundle, policy) for _ in range(runs)]
            with ChromiumRenderer() as renderer:
                render_runs = [
                    timed([album], bundle, policy, renderer=renderer, render="auto") for _ in range(runs + 1)
                ]
        finally:
            server.close()

    stream_report = stream_runs[-1][1]
    [stream] = [m for m in stream_report["media"] if m["how"] == "playlist"]
    assert stream["match"]["matched"], stream
    assert all(r[1]["matched"] for r in whole_runs), "the whole video must match"
    rendered = render_runs[-1][1]
    assert rendered["matched"] and not static_runs[-1][1]["media"], "the render must find what static HTML cannot"

    def median(values: list[float]) -> float:
        return statistics.median(values)

    stream_s = median([t for t, _ in stream_runs])
    whole_s = median([t for t, _ in whole_runs])
    cold_s = render_runs[0][0]
    warm_s = median([t for t, _ in render_runs[1:]]) if len(render_runs) > 1 else cold_s
    static_s = median([t for t, _ in static_runs])
    chosen = stream["playlist"]["rendition"].split(",")[0]
    whole_rendition = built["rendition_bytes"][chosen]
    whole_mp4 = built["mp4_bytes"]
    fetch_s = median([r["fetch_elapsed"] for _, r in stream_runs])
    stream_bytes = stream_report["bytes_fetched"]
    load = os.getloadavg()[0]
    rows = [
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| {seconds / 60:g}-minute HLS video page, URL to result, median of {runs} | "
        f"{stream_s:.2f} s, of which fetching {fetch_s:.2f} s (whole-file baseline {whole_s:.2f} s, median of "
        f"{len(whole_runs)}, "
        f"{stream_s / whole_s:.2f}x) | under 20 s |",
        f"| bytes fetched for it | {stream_bytes / MIB:.1f} MiB: {len(stream['playlist']['segments'])} of "
        f"{stream['playlist']['segments_total']} segments at {chosen}, "
        f"{100 * stream_bytes / whole_rendition:.0f}% of that rendition ({whole_rendition / MIB:.1f} MiB); "
        f"the whole video as MP4 is {whole_mp4 / MIB:.1f} MiB | not the whole video |",
        f"| its verdict | matched, {stream['frames']} distinct frames; {stream['match']['detail']} | match |",
        f"| script-built gallery, URL to result with rendering, warm browser, median of {max(runs, 1)} | "
        f"{warm_s:.2f} s (static read {static_s * 1000:.0f} ms, finds nothing) | under 5 s |",
        f"| the same, cold (Chromium started for it) | {cold_s:.2f} s | reported |",
        f"| bytes fetched for it | {rendered['bytes_fetched'] / 1024:.0f} KiB in {rendered['requests']} requests, "
        f"{len(rendered['media'])} photos hashed, the registered one matched | reported |",
    ]
    today = datetime.now(UTC).date().isoformat()
    section = "\n".join(
        [
            START,
            "## Streamed video and rendered pages",
            "",
            f"Reproduce: `.venv/bin/python {command}` (writes this section). Machine: 2 cores, "
            f"load average {load:.1f} at the end of the run, {today}.",
            "",
            *rows,
            "",
            f"The stream: the shared videos concatenated and looped to {seconds / 60:g} minutes, encoded by PyAV at "
            f"{FPS} fps into two renditions ({', '.join(f'{w}x{h}' for w, h in RENDITIONS)}) of "
            f"{SEGMENT}-second MPEG-TS segments ({built['segments']} per rendition), named by the page's player "
            "configuration. The check fetches the page, the master and media playlists, twelve segments spread "
            "over the whole duration (requests to one host 0.1 s apart), decodes them at 1 fps, hashes the "
            "frames on the checking side and compares them with the registered MP4's frames (vPDQ). The "
            "baseline downloads the same video as one MP4 file (480p) and hashes all of it. The gallery is "
            "built by a script from JSON; the renderer fetches every request through the fetcher, and the "
            "photos it fetched are hashed without fetching them again. The warm figure is what a worker "
            "keeping its browser sees; the cold one includes starting Playwright's driver and Chromium.",
            END,
        ]
    )
    print(section)
    if args.quick or args.no_write:
        return
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else "# Pipeline benchmark\n"
    if START in text and END in text:
        before, _, rest = text.partition(START)
        _, _, after = rest.partition(END)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
