"""Face templates made in Chromium (static/faces/, face-api's port of dlib's ResNet on the WASM
backend) against the server's templates of the same photos (takedown.detectors.faces).

Every photo of shared/data/face-pairs is described twice: by the server, and by the browser module
in headless Chromium (Playwright, /usr/bin/chromium, the flags of tests/browser/fixtures.py) on its
test page, served from 127.0.0.1 under the strict Content Security Policy plus 'wasm-unsafe-eval'
(tests/detectors/face_page.py). People are split as bench/faces.py splits them (same seed):

* on the choosing half, the offset that moves face-api's five landmarks onto dlib's is fitted and
  compared with the one static/faces/chip.js ships (DLIB_FIVE_OFFSET);
* on the reporting half: the distance between browser and server templates of the same photo,
  and the true-match and false-match rates of *browser templates against server pictures* (what
  the service does with templates a survivor made on their phone) next to server templates
  against the same server pictures, at the shipped threshold, with 95 % intervals;
* with --raw, the same without the landmark offset (face-api's own points), to show its effect.

    .venv/bin/python bench/faces_browser.py            # prints; --write adds the section to the docs
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import doc_sections
from faces import BOTH, CONGRESS, DOC, PAIRS, faces_set_ids, pair_people, rate_ci, split, wilson_upper

from takedown.detectors.faces import FACE_MATCH_THRESHOLD, find_faces
from tests.browser.fixtures import CHROMIUM_ARGS, chromium_path
from tests.detectors.face_page import serve_face_page

CHIP_JS: Final = Path(__file__).resolve().parent.parent / "static" / "faces" / "chip.js"
FIVE_OF_68: Final = [45, 42, 36, 39, 33]
CHUNK: Final = 40

Vector = npt.NDArray[np.float64]


def server_side(paths: list[Path]) -> dict[Path, dict[str, Any]]:
    """The server's template (largest face) and five landmarks of each photo."""
    out = {}
    for path in paths:
        with Image.open(path) as im:
            found = find_faces(im.convert("RGB"))
        if found:
            out[path] = {"vector": found[0].vector, "points": np.asarray(found[0].points)}
    return out


def browser_side(
    paths: list[Path], raw: bool, log: Callable[[str], None]
) -> tuple[dict[Path, dict[str, Any]], float, str]:
    """Run the module on every photo in Chromium: {path: {vector, points, landmarks, ms}}, load ms, backend."""
    # Playwright is a development dependency; only this benchmark and the browser tests use it.
    from playwright.sync_api import sync_playwright

    out: dict[Path, dict[str, Any]] = {}
    load_ms, backend = math.nan, ""
    with serve_face_page() as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(served.url + ("?raw" if raw else ""))
        for start in range(0, len(paths), CHUNK):
            chunk = paths[start : start + CHUNK]
            page.evaluate("document.body.dataset.done = ''")
            page.set_input_files("#files", [str(p) for p in chunk])
            page.wait_for_selector('body[data-done="1"]', state="attached", timeout=1_800_000)
            result = json.loads(page.locator("#result").text_content() or "{}")
            if start == 0:
                load_ms, backend = float(result["loadMs"]), str(result["backend"])
            for path, row in zip(chunk, result["results"], strict=True):
                if row.get("faces"):
                    face = row["faces"][0]
                    out[path] = {
                        "vector": np.asarray(face["vector"]),
                        "points": np.asarray(face["points"]),
                        "landmarks": np.asarray(face["landmarks"]),
                        "ms": float(row["ms"]),
                    }
            log(f"browser{' (raw landmarks)' if raw else ''}: {min(start + CHUNK, len(paths))}/{len(paths)}")
        browser.close()
    assert not [r for r in served.requests if r.method != "GET" or r.body], "the page sent something"
    return out, load_ms, backend


def face_frame(points68: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float, float, float]:
    """chip.js faceFrame: origin at the landmarks' mean, x along the eyes, unit the eye distance."""
    centre = points68.mean(axis=0)
    left, right = points68[36:42].mean(axis=0), points68[42:48].mean(axis=0)
    scale = float(np.linalg.norm(right - left))
    cos, sin = (right - left) / scale
    return centre, scale, float(cos), float(sin)


def in_frame(
    points: npt.NDArray[np.float64], frame: tuple[npt.NDArray[np.float64], float, float, float]
) -> npt.NDArray[np.float64]:
    centre, scale, cos, sin = frame
    d = points - centre
    return np.stack([(d[:, 0] * cos + d[:, 1] * sin) / scale, (-d[:, 0] * sin + d[:, 1] * cos) / scale], axis=1)


def fit_offset(
    server: dict[Path, dict[str, Any]], browser: dict[Path, dict[str, Any]], paths: list[Path]
) -> npt.NDArray[np.float64]:
    """Mean offset (in each face's frame) from face-api's five points to dlib's; outliers (another face
    found, or landmarks more than 0.2 eye distances apart) left out."""
    offsets = []
    for path in paths:
        if path in server and path in browser:
            frame = face_frame(browser[path]["landmarks"])
            offset = in_frame(server[path]["points"], frame) - in_frame(browser[path]["landmarks"][FIVE_OF_68], frame)
            if np.abs(offset).max() < 0.2:
                offsets.append(offset.ravel())
    return np.asarray(np.asarray(offsets).mean(axis=0), dtype=np.float64)


def shipped_offset() -> list[float]:
    found = re.search(r"DLIB_FIVE_OFFSET = Object\.freeze\(\[([^\]]*)\]\)", CHIP_JS.read_text())
    return [float(x) for x in found.group(1).split(",")] if found else []


def rates(
    templates: dict[Path, Vector],
    probes: dict[Path, Vector],
    strangers: list[Vector],
    threshold: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """True-match (template of one photo vs the person's other photo) and false-match (every template
    vs every picture of someone else, face pairs and Congress portraits) rates at a threshold."""
    genuine: list[tuple[str, float]] = []
    impostor_hits, impostor_n = 0, 0
    owners = {p: p.parent.name for p in probes}
    probe_matrix = np.asarray(list(probes.values()) + strangers)
    probe_owner = [owners[p] for p in probes] + ["stranger"] * len(strangers)
    for path, template in templates.items():
        person = path.parent.name
        mate = path.parent / f"{'bioguide' if path.stem == 'gpo2015' else 'gpo2015'}.jpg"
        if mate in probes:
            genuine.append((person, float(np.linalg.norm(probes[mate] - template))))
        gaps = np.linalg.norm(probe_matrix - template, axis=1)
        others = np.asarray([o != person for o in probe_owner])
        impostor_hits += int(np.sum(gaps[others] <= threshold))
        impostor_n += int(np.sum(others))
    return {
        "tmr": rate_ci(genuine, threshold, rng),
        "fmr": impostor_hits / max(1, impostor_n),
        "fmr_upper": wilson_upper(impostor_hits, impostor_n),
        "fmr_hits": impostor_hits,
        "pairs": impostor_n,
        "genuine": len(genuine),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="takedown-faces-1", help="the split of bench/faces.py")
    parser.add_argument("--people", type=int, default=0, help="only the first N people (a quick look)")
    parser.add_argument("--raw", action="store_true", help="also measure without the landmark offset")
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks/detectors.md")
    args = parser.parse_args()
    command = f"python bench/faces_browser.py --seed {args.seed}" + (" --raw" if args.raw else "")
    command += f" --people {args.people}" if args.people else ""

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    people = pair_people()[: args.people or None]
    paths = [PAIRS / p / f"{photo}.jpg" for p in people for photo in BOTH]
    excluded = faces_set_ids()
    congress = [p for p in sorted(CONGRESS.glob("*.jpg")) if p.stem not in excluded and split(p.stem, args.seed) == 1]
    t = time.perf_counter()
    server = server_side(paths)
    strangers = [v["vector"] for v in server_side(congress).values()]
    server_seconds = time.perf_counter() - t
    browser, load_ms, backend = browser_side(paths, raw=False, log=log)
    raw = browser_side(paths, raw=True, log=log)[0] if args.raw else {}

    choosing = [p for p in paths if split(p.parent.name, args.seed) == 0]
    reporting = [p for p in paths if split(p.parent.name, args.seed) == 1]
    fitted = fit_offset(server, raw or browser, choosing) if raw else None
    shipped = shipped_offset()
    rng = np.random.default_rng(7)
    server_probes = {p: server[p]["vector"] for p in reporting if p in server}

    def same_photo(side: dict[Path, dict[str, Any]]) -> list[float]:
        return [
            float(np.linalg.norm(side[p]["vector"] - server[p]["vector"]))
            for p in reporting
            if p in side and p in server
        ]

    rows: list[tuple[str, dict[Path, Vector], list[float]]] = [
        ("server templates", {p: server[p]["vector"] for p in reporting if p in server}, [])
    ]
    rows.append(
        ("browser templates", {p: browser[p]["vector"] for p in reporting if p in browser}, same_photo(browser))
    )
    if raw:
        rows.append(
            ("browser, face-api's own landmarks", {p: raw[p]["vector"] for p in reporting if p in raw}, same_photo(raw))
        )
    lines = [
        f"Generated by `bench/faces_browser.py`; reproduce with `.venv/bin/{command} --write`. Chromium "
        f"(headless, {backend} backend), face-api 1.7.15; {len(paths)} face-pairs photos, split as bench/faces.py "
        f"(seed `{args.seed}`): {len(choosing)} photos choose, {len(reporting)} report; different-person pairs also "
        f"against {len(strangers)} Congress portraits of the reporting half (server pictures). Threshold "
        f"{FACE_MATCH_THRESHOLD} (the shipped one). Templates against *server* pictures, as the service uses them.",
        "",
        "| templates | same photo: distance to the server's template (median, p90, p99) | true-match [95% CI] "
        "| false-match (pairs matched; 95% upper bound) |",
        "| --- | --- | --- | --- |",
    ]
    for name, templates, gaps in rows:
        r = rates(templates, server_probes, strangers, FACE_MATCH_THRESHOLD, rng)
        tmr, low, high = r["tmr"]
        same = (
            f"{statistics.median(gaps):.3f}, {np.percentile(gaps, 90):.3f}, {np.percentile(gaps, 99):.3f}"
            if gaps
            else "0 (itself)"
        )
        lines.append(
            f"| {name} | {same} | {100 * tmr:.1f}% [{100 * low:.1f}, {100 * high:.1f}] ({r['genuine']} pairs) | "
            f"{100 * r['fmr']:.3f}% ({r['fmr_hits']} of {r['pairs']:,}; {100 * r['fmr_upper']:.3f}%) |"
        )
    times = [v["ms"] for v in browser.values()]
    lines += [
        "",
        f"Time in the browser: models and WASM loaded in {load_ms / 1000:.1f} s (once per page); per photo (decode, "
        "detect, 68 landmarks, four descriptors: the chip, its mirror and both with the inner-face oval) "
        f"median {statistics.median(times):.0f} ms, "
        f"p95 {np.percentile(times, 95):.0f} ms, in headless Chromium on this shared 2-core machine. The server made "
        f"the same {len(paths) + len(congress)} templates in {server_seconds:.0f} s.",
    ]
    if fitted is not None:
        lines += [
            "",
            "Landmark offset fitted on the choosing half (x, y of dlib's five points, in eye distances): "
            f"`{', '.join(f'{x:.4f}' for x in fitted)}`; shipped in static/faces/chip.js: "
            f"`{', '.join(f'{x:.4f}' for x in shipped)}`.",
        ]
    text = "\n".join(lines)
    print(text)
    if args.write:  # with --people the section says how many photos it stands on (and the command)
        doc_sections.replace(DOC, "browser", text)
        print(f"wrote the browser section of {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
