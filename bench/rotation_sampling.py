"""Rotation windows resampled by OpenCV against Pillow's affine transform: same words, time per photo.

``takedown.hashing.window_pdq.rotated_windows`` resamples ~320 rotated rectangles per found photo
to 64 x 64. It used Pillow's ``Image.transform`` (a new image and a copy per window); it now uses
OpenCV's ``warpAffine`` into one array. This script runs both on the rotation windows of shared
photos, interleaved in one process on the same blurred pictures (so the ratio holds on a noisy
machine), and counts the bits in which their PDQ words differ. :func:`pillow_rotated_windows` is
the reference implementation; tests/hashing/test_crop_search.py checks the shipped one against it.

    .venv/bin/python bench/rotation_sampling.py --photos 40 --write
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from takedown.hashing.bits import WordArray
from takedown.hashing.image import load_rgb
from takedown.hashing.rotation_search import rotation_windows
from takedown.hashing.window_pdq import DCT16, BlurredLuma, blur_size, coefficients_to_words, luma, rotated_windows

PHOTOS: Final = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "rotation-sampling.md"
Box = tuple[float, float, float, float, float]


def pillow_rotated_windows(blurred: np.ndarray, windows: Sequence[Box]) -> WordArray:
    """The first implementation: Pillow's bilinear affine transform, one new image per window."""
    image = Image.fromarray(np.ascontiguousarray(blurred, dtype=np.float32), mode="F")
    samples = np.empty((len(windows), 64, 64), dtype=np.float32)
    for i, (cx, cy, w, h, degrees) in enumerate(windows):
        c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        matrix = (c * w / 64, s * h / 64, cx - (c * w + s * h) / 2, -s * w / 64, c * h / 64, cy + (s * w - c * h) / 2)
        samples[i] = np.asarray(
            image.transform((64, 64), Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR)
        )
    return coefficients_to_words(np.matmul(np.matmul(DCT16, samples), DCT16.T)).reshape(-1, 4)


def groups(path: Path) -> list[tuple[np.ndarray, list[Box]]]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40, help="photos spread over the shared set")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per photo and implementation")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.name} in docs/benchmarks/")
    args = parser.parse_args()
    command = f".venv/bin/python bench/rotation_sampling.py --photos {args.photos}" + (" --write" if args.write else "")
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
        for _round in range(args.repeat):
            for name, run in (("opencv", rotated_windows), ("pillow", pillow_rotated_windows)):
                started = time.perf_counter()
                words = [run(blurred, boxes) for blurred, boxes in work]
                best[name] = min(best[name], time.perf_counter() - started)
                if name == "opencv":
                    ours = words
                elif _round == 0:  # the words are the same every round: count them once
                    differing += [
                        int(b)
                        for new, old in zip(ours, words, strict=True)
                        for b in np.bitwise_count(new ^ old).sum(axis=1)
                    ]
        for name, seconds in best.items():
            timings[name].append(1000 * seconds)
    ratio = statistics.median(p / o for p, o in zip(timings["pillow"], timings["opencv"], strict=True))
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
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
