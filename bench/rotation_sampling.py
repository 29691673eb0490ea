"""Rotation windows resampled by OpenCV against Pillow's affine transform: same words, time per photo.

``takedown.hashing.window_pdq.rotated_windows`` resamples ~320 rotated rectangles per found photo
to 64 x 64. It used Pillow's ``Image.transform`` (a new image and a copy per window); it now uses
OpenCV's ``warpAffine`` into one array. This script runs both on the rotation windows of shared
photos, interleaved in one process on the same blurred pictures (so the ratio holds on a noisy
machine), and counts the bits in which their PDQ words differ. The Pillow implementation is kept
in tests/hashing/pillow_reference.py, where tests/hashing/test_crop_search.py holds the shipped one
to it.

    .venv/bin/python bench/rotation_sampling.py --photos 40 --write
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from takedown.hashing import rotation_search
from takedown.hashing.bits import WordArray
from takedown.hashing.image import load_rgb
from takedown.hashing.matcher import best_matches, hash_found
from takedown.hashing.media import hash_file
from takedown.hashing.rotation_search import rotation_windows
from takedown.hashing.window_pdq import BlurredLuma, FloatArray, blur_size, luma, rotated_windows
from tests.hashing.pillow_reference import RotatedWindow, pillow_rotated_windows

PHOTOS: Final = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "rotation-sampling.md"


def groups(path: Path) -> list[tuple[FloatArray, list[RotatedWindow]]]:
    """The blurred pictures and rotation windows of one photo, as the checking side groups them."""
    rgb = load_rgb(path.read_bytes())
    windows = rotation_windows(*rgb.shape[:2])
    blurs = BlurredLuma(luma(rgb))
    out = []
    for size in sorted({blur_size(w.height, w.width) for w in windows}):
        members = [w for w in windows if blur_size(w.height, w.width) == size]
        blurred = blurs.for_window(members[0].height, members[0].width)
        out.append((blurred, [(w.centre_x, w.centre_y, w.width, w.height, w.degrees) for w in members]))
    return out


def end_to_end(paths: list[Path], count: int, repeat: int) -> dict[str, list[float]]:
    """The whole checking side per 12 MP JPEG (``hash_found`` + ``best_matches`` against 20
    registered items, as ``bench/robustness.py --timing`` measures it), CPU ms of this process,
    with each resampling in turn (the module's function swapped), interleaved, best of ``repeat``."""
    chosen = paths[:: max(1, len(paths) // count)][:count]
    registered = [[h for h in hash_file(p).hashes if h.signal not in {"sha256", "md5"}] for p in chosen[:20]]
    out: dict[str, list[float]] = {"opencv": [], "pillow": []}
    for path in chosen:
        with Image.open(path) as opened:
            big = ImageOps.exif_transpose(opened).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        big.save(buffer, "JPEG", quality=90)
        data = buffer.getvalue()
        best = {"opencv": math.inf, "pillow": math.inf}
        for _repeat in range(repeat):
            for name, run in (("opencv", rotated_windows), ("pillow", pillow_rotated_windows)):
                # rotation_search imported the function by name: swap it there, put it back after.
                rotation_search.rotated_windows = run  # type: ignore[attr-defined]
                try:
                    started = time.process_time()
                    best_matches(registered, hash_found(data).hashes)
                    best[name] = min(best[name], time.process_time() - started)
                finally:
                    rotation_search.rotated_windows = rotated_windows  # type: ignore[attr-defined]
        for name, seconds in best.items():
            out[name].append(1000 * seconds)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40, help="photos spread over the shared set")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per photo and implementation")
    parser.add_argument("--end-to-end", type=int, default=20, help="12 MP JPEGs timed through the checking side")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.name} in docs/benchmarks/")
    args = parser.parse_args()
    command = f".venv/bin/python bench/rotation_sampling.py --photos {args.photos} --end-to-end {args.end_to_end}"
    command += " --write" if args.write else ""
    print(f"reproduce: {command}", file=sys.stderr)
    paths = sorted(p for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    chosen = paths[:: max(1, len(paths) // args.photos)][: args.photos]
    timings: dict[str, list[float]] = {"opencv": [], "pillow": []}
    differing: list[int] = []
    windows = 0
    for path in chosen:
        work = groups(path)
        windows += sum(len(boxes) for _blurred, boxes in work)
        best = {"opencv": math.inf, "pillow": math.inf}
        words: dict[str, list[WordArray]] = {}
        for _repeat in range(args.repeat):  # the two alternate, so a slow moment hits both
            for name, run in (("opencv", rotated_windows), ("pillow", pillow_rotated_windows)):
                started = time.perf_counter()
                words[name] = [run(blurred, boxes) for blurred, boxes in work]
                best[name] = min(best[name], time.perf_counter() - started)
        differing += [
            int(bits)
            for new, old in zip(words["opencv"], words["pillow"], strict=True)
            for bits in np.bitwise_count(new ^ old).sum(axis=1)
        ]
        for name, seconds in best.items():
            timings[name].append(1000 * seconds)
    ratio = statistics.median(p / o for p, o in zip(timings["pillow"], timings["opencv"], strict=True))
    whole = end_to_end(paths, args.end_to_end, args.repeat) if args.end_to_end else {"opencv": [], "pillow": []}
    lines = [
        "# Rotation windows: OpenCV against Pillow resampling",
        "",
        f"Generated by `bench/rotation_sampling.py`; reproduce with `{command}`.",
        "",
        f"{len(chosen)} shared photos (reduced as the checking side reduces them), {windows // len(chosen)} rotation "
        f"windows per photo, best of {args.repeat} interleaved rounds per photo, one thread.",
        "",
        "| resampling | ms per photo (median) | p95 |",
        "| --- | --- | --- |",
        *(
            f"| {name} | {statistics.median(v):.1f} | {float(np.percentile(v, 95)):.1f} |"
            for name, v in (
                ("OpenCV warpAffine (shipped)", timings["opencv"]),
                ("Pillow transform (before)", timings["pillow"]),
            )
        ),
        "",
        f"Pillow takes {ratio:.1f} times as long (median of the per-photo ratios). Words that differ: "
        f"{sum(1 for d in differing if d)} of {len(differing)} "
        f"(the largest difference {max(differing, default=0)} bits).",
    ]
    if whole["opencv"]:
        saved = statistics.median(p - o for p, o in zip(whole["pillow"], whole["opencv"], strict=True))
        lines += [
            "",
            f"## The whole checking side, {len(whole['opencv'])} photos enlarged to 12 MP (4000 x 3000, JPEG q90)",
            "",
            "`hash_found` + `best_matches` against 20 registered items (as `bench/robustness.py --timing`), CPU ms",
            f"of this process, the two resamplings interleaved per photo, best of {args.repeat}.",
            "",
            "| rotation windows resampled by | median ms | p95 ms |",
            "| --- | --- | --- |",
            *(
                f"| {name} | {statistics.median(v):.1f} | {float(np.percentile(v, 95)):.1f} |"
                for name, v in (("OpenCV (shipped)", whole["opencv"]), ("Pillow (before)", whole["pillow"]))
            ),
            "",
            f"Saved per photo: median {saved:.1f} ms.",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
