"""Recall and false matches of the checking-side crop search (takedown/hashing/crop_search.py).

For every photo in ../shared/data/photos the registering side stores its usual hashes
(``registered_hashes``: original, rot±3/±5/±8, crop-c10, crop-c20, trim). The photo is cropped
by 5%, 10% and 20% of each dimension at a uniformly random position and saved as JPEG (exactly
bench/robustness.py's ``crop`` edits, same seeds), and the checking side hashes the copy: the
usual views in 8 orientations (``found_image_hashes`` without windows = "before") plus every
search window (= "after"). Recall = share of photos whose copy matches one of its own
registered hashes. False matches are counted over ALL ordered pairs of distinct photos
(copy of B, registered hashes of A != B) with the same search, for the three crops and for the
unedited photo as found; windows are compared only with the registered variant they stand
for, as ``best_match`` does (a column shows what comparing them with every registered hash would
cost).

    .venv/bin/python bench/crop_search.py                 # all photos, writes the table
    .venv/bin/python bench/crop_search.py --limit 300 --step 0.015 --no-write

Nothing is downloaded; the photos are read in place.
"""

from __future__ import annotations

import os

# One BLAS thread per worker: the usual PDQ/rotation work must not spread over both cores while two
# workers already run (the search itself uses numpy.einsum, not BLAS; see crop_search.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from robustness import EDITS, PHOTOS, SEED

from takedown.hashing import crop_search
from takedown.hashing.bits import WordArray, hexes_to_matrix
from takedown.hashing.image import load_rgb
from takedown.hashing.matcher import found_image_hashes
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES
from takedown.hashing.variants import registered_hashes

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "crop-search.md"
PDQ_T = SIGNAL_TYPES["pdq"].default_threshold
CROPS = ("crop 5%", "crop 10%", "crop 20%")
AS_FOUND = "unedited"
FOUND = (*CROPS, AS_FOUND)


@dataclass
class Found:
    """Checking-side PDQ of one found copy: the usual hashes and the search windows."""

    base: WordArray  # trusted usual PDQ hashes (views x orientations)
    windows: dict[str, WordArray]  # registered target label -> window words
    seconds: float  # time of the window search alone


@dataclass
class Photo:
    name: str
    reg: dict[str, np.ndarray] = field(default_factory=dict)  # label -> (4,) words, trusted only
    found: dict[str, Found] = field(default_factory=dict)
    error: str = ""


def _found(rgb: np.ndarray, step: float) -> Found:
    usual = [h for h in found_image_hashes(rgb) if h.signal == "pdq"]
    base = [h.value for h in usual if (h.quality or 0) >= PDQ_MIN_QUALITY]
    quality = max([h.quality or 0 for h in usual if h.variant == "found"], default=0)
    started = time.perf_counter()
    crop_search.window_hashes(rgb, quality)  # what the matcher adds (search + hex + Hash objects)
    seconds = time.perf_counter() - started
    searched = crop_search.search_windows(rgb, step=step)
    windows = {w.family.registered: w.words for w in searched} if quality >= PDQ_MIN_QUALITY else {}
    return Found(hexes_to_matrix(base, 64), windows, seconds)


def process(job: tuple[int, str, float]) -> Photo:
    index, path, step = job
    res = Photo(os.path.relpath(path, PHOTOS))
    try:
        data = Path(path).read_bytes()
        rgb = load_rgb(data)
        for h in registered_hashes(rgb):
            if h.signal == "pdq" and (h.quality or 0) >= PDQ_MIN_QUALITY:
                res.reg[h.variant] = hexes_to_matrix([h.value], 64)[0]
        with Image.open(io.BytesIO(data)) as opened:
            full = ImageOps.exif_transpose(opened).convert("RGB")
        names = list(EDITS)
        for edit in CROPS:
            rng = np.random.default_rng([SEED, index, names.index(edit)])
            res.found[edit] = _found(load_rgb(EDITS[edit](full, rng)), step)
        res.found[AS_FOUND] = _found(rgb, step)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and carries on
        res.error = f"{type(exc).__name__}: {exc}"
    return res


def _dist(a: WordArray, b: WordArray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances."""
    if not len(a) or not len(b):
        return np.full((len(a), len(b)), 256, dtype=np.int32)
    distances: np.ndarray = np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int32)
    return distances


def score(photos: list[Photo]) -> tuple[list[str], dict[str, object]]:
    ok = [p for p in photos if not p.error]
    n = len(ok)
    labels = sorted({lab for p in ok for lab in p.reg})
    # Registered matrix per label (rows = photos, missing/untrusted = all-ones sentinel far away).
    far = np.full(4, np.uint64(0), dtype=np.uint64)
    reg_by_label: dict[str, WordArray] = {}
    present: dict[str, np.ndarray] = {}
    for lab in labels:
        reg_by_label[lab] = np.stack([p.reg.get(lab, far) for p in ok])
        present[lab] = np.asarray([lab in p.reg for p in ok])
    all_reg = np.concatenate([reg_by_label[lab][present[lab]] for lab in labels])
    all_owner = np.concatenate([np.nonzero(present[lab])[0] for lab in labels])
    rows = []
    summary: dict[str, object] = {"photos": n, "errors": [f"{p.name}: {p.error}" for p in photos if p.error]}
    total_false = total_false_any = 0
    min_unrelated_win = min_unrelated_base = min_unrelated_any = 256
    unrelated_minima: list[int] = []
    for edit in FOUND:
        before = after = 0
        false_pairs: set[tuple[int, int]] = set()
        false_any: set[tuple[int, int]] = set()
        for i, p in enumerate(ok):
            f = p.found[edit]
            d_base = _dist(f.base, all_reg)  # (n_base, n_reg_rows)
            own = all_owner == i
            base_own = bool((d_base[:, own] <= PDQ_T).any())
            best_other = np.full(n, 256, dtype=np.int32)
            if d_base.size:
                np.minimum.at(best_other, all_owner, d_base.min(axis=0))
            win_own = False
            win_other = np.full(n, 256, dtype=np.int32)
            any_other = np.full(n, 256, dtype=np.int32)
            for target, words in f.windows.items():
                d = _dist(words, reg_by_label[target]).min(axis=0)  # per photo
                d[~present[target]] = 256
                win_own |= bool(d[i] <= PDQ_T)
                win_other = np.minimum(win_other, d)
                d_all = _dist(words, all_reg).min(axis=0)
                np.minimum.at(any_other, all_owner, d_all)
            before += base_own
            after += base_own or win_own
            for arr in (best_other, win_other, any_other):
                arr[i] = 256
            for j in np.nonzero(np.minimum(best_other, win_other) <= PDQ_T)[0]:
                false_pairs.add((i, int(j)))
            for j in np.nonzero(np.minimum(best_other, any_other) <= PDQ_T)[0]:
                false_any.add((i, int(j)))
            min_unrelated_base = min(min_unrelated_base, int(best_other.min()))
            min_unrelated_win = min(min_unrelated_win, int(win_other.min()))
            min_unrelated_any = min(min_unrelated_any, int(any_other.min()))
            unrelated_minima.append(int(np.minimum(best_other, win_other).min()))
        total_false += len(false_pairs)
        total_false_any += len(false_any)
        times = [p.found[edit].seconds * 1000 for p in ok]
        rows.append(
            f"| {edit} | {100 * before / n:.1f}% | **{100 * after / n:.1f}%** | {len(false_pairs)} | "
            f"{len(false_any)} | {np.median(times):.1f} |"
        )
    windows_per_image = np.median([sum(len(w) for w in p.found["crop 10%"].windows.values()) for p in ok])
    summary.update(
        false=total_false,
        false_any=total_false_any,
        min_win=min_unrelated_win,
        min_base=min_unrelated_base,
        min_any=min_unrelated_any,
        minima=np.percentile(unrelated_minima, [0, 1, 5, 50]).tolist(),
        windows=int(windows_per_image),
        ms=float(np.median([p.found[e].seconds * 1000 for p in ok for e in FOUND])),
        ms95=float(np.percentile([p.found[e].seconds * 1000 for p in ok for e in FOUND], 95)),
    )
    return rows, summary


def render(rows: list[str], s: dict[str, object], command: str, elapsed: float, step: float) -> str:
    families = ", ".join(
        f"`{f.registered}` in a {f.crop_percent}% crop (window {100 * f.size:.1f}%, offsets "
        f"{100 * f.offset_range[0]:.1f}-{100 * f.offset_range[1]:.1f}%)"
        for f in crop_search.CROP_SEARCH
    )
    errors = s["errors"]
    assert isinstance(errors, list)
    return "\n".join(
        [
            "# Checking-side crop search",
            "",
            "Generated by `bench/crop_search.py`; reproduce from the repository root with:",
            "",
            "```",
            f".venv/bin/{command}",
            "```",
            "",
            f"Photos: {s['photos']} from `../shared/data/photos/` (errors: {len(errors)}); run time "
            f"{elapsed / 60:.1f} min with 2 worker processes (beside another benchmark).",
            f"Search: grid step {100 * step:.1f}% of the found image, families {families}; "
            f"{s['windows']} windows per found image. PDQ threshold {PDQ_T}, both qualities >= {PDQ_MIN_QUALITY}.",
            "",
            "*Before* = the usual checking side (views x 8 orientations against every registered PDQ);",
            "*after* = plus the windows, each compared with the registered variant it stands for.",
            "*False pairs* = ordered pairs (copy of photo B, registered photo A != B) that match; the",
            "*any* column compares windows with every registered hash instead (not what the matcher does).",
            "",
            "| found copy | recall before | recall after | false pairs | false pairs (windows vs any) "
            "| median added ms |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"False pairs in total: **{s['false']}** (windows vs any registered hash: {s['false_any']}).",
            f"Smallest distance between unrelated photos: windows vs their target {s['min_win']}, usual "
            f"hashes {s['min_base']}, windows vs any registered hash {s['min_any']}. Per found copy, the "
            "closest unrelated photo is at (min / 1st / 5th percentile / median): "
            + " / ".join(str(int(x)) for x in s["minima"])  # type: ignore[attr-defined]
            + ".",
            "",
            f"Added time per found image (`window_hashes`, wall clock in a worker): median "
            f"{s['ms']:.1f} ms, 95th percentile {s['ms95']:.1f} ms.",
            "",
            *(["## Errors", "", *[f"- {e}" for e in errors], ""] if errors else []),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="use only N photos spread over the folders")
    parser.add_argument("--step", type=float, default=crop_search.SEARCH_STEP, help="grid step (share)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    paths = sorted(str(p) for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    # Seeds use the index in the full sorted list, as in bench/robustness.py.
    jobs = [(i, p, args.step) for i, p in enumerate(paths)]
    if args.limit:
        jobs = jobs[:: max(1, len(jobs) // args.limit)][: args.limit]
    command = (
        "python bench/crop_search.py"
        + (f" --limit {args.limit}" if args.limit else "")
        + (f" --step {args.step}" if args.step != crop_search.SEARCH_STEP else "")
    )
    print(f"reproduce: .venv/bin/{command}", file=sys.stderr)
    started = time.time()
    photos: list[Photo] = []
    with multiprocessing.Pool(args.workers) as pool:
        for done, res in enumerate(pool.imap(process, jobs, chunksize=4), 1):
            photos.append(res)
            if done % 20 == 0 or done == len(jobs):
                print(f"\r{done}/{len(jobs)} photos, {time.time() - started:.0f}s", end="", file=sys.stderr)
    print(file=sys.stderr)
    rows, summary = score(photos)
    text = render(rows, summary, command, time.time() - started, args.step)
    print(text)
    if not args.no_write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
