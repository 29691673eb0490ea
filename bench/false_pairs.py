"""Can the matched window of a false pair be told from a true heavy crop by aligning it better?

``bench/robustness.py`` lists the false pairs of its all-photos runs: copies of one photo that
matched another file's registered hashes. Some are the same photograph (``bench/same_photo.py``);
three were *different shots* of the same scene (a dandelion, a sunflower field), each matched
through one crop window at 20-30 bits. An idea for removing them without losing true heavy crops:
a crop window sits on a 1% grid, so a true crop should come much closer once the window is moved
and scaled to the exact place (the same pixels, resampled), while a different shot should not
(other pixels). Likewise the registered *central* crops should be found, aligned, where the matched
window predicts them.

For each false pair and for a sample of true heavy-crop copies (crop 20%, crop 30%, 10-30% per
axis, the *check* draw, seeded exactly as ``bench/robustness.py`` makes them), this script takes
the window the matcher chose, refines it by coordinate descent on exact PDQ (``pdqhash.compute`` of
the box: moves and scalings of 2% down to 0.25% of the window), and does the same for the
registered central crops (``crop-c60``, ``crop-c50``, ``crop-c40``) at the place the window
predicts. It prints a markdown table and, with ``--write``, puts it in
``docs/benchmarks/false-pairs.md``:

    .venv/bin/python bench/false_pairs.py --every 19 --write
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import re
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pdqhash
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edits import FAMILY_EDITS
from same_photo import align

from takedown.hashing.bits import bits_to_hex, hamming_hex
from takedown.hashing.hashes import Hash
from takedown.hashing.image import RGBArray, load_rgb
from takedown.hashing.matcher import best_matches, found_image_hashes
from takedown.hashing.media import hash_file
from takedown.hashing.pairing import SKEWED_MARK, WINDOW_PREFIX

PHOTOS: Final = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "false-pairs.md"
#: bench/robustness.py's seed: the copies here are the very copies its runs scored.
SEED: Final = 20240611
EDITS: Final = ("crop 20% (off-centre)", "crop 30% (off-centre)", "crop 10-30% per axis")
#: The different-shot false pairs of the latest all-photos run (copy of, edit, matched file).
KNOWN_PAIRS: Final = (
    ("tf_flowers/dandelion__8980266062_8387f6cc89.jpg", EDITS[0], "tf_flowers/dandelion__8979087213_28f572174c.jpg"),
    ("tf_flowers/dandelion__8980266062_8387f6cc89.jpg", EDITS[1], "tf_flowers/dandelion__8979087213_28f572174c.jpg"),
    ("tf_flowers/sunflowers__6606743797_c90c669757.jpg", EDITS[0], "tf_flowers/sunflowers__6606741847_f0198d83ff.jpg"),
)
#: Registered central crops: share of each side kept, start (shares of the original).
CENTRAL: Final = {"c10": (0.9, 0.05), "c20": (0.8, 0.1), "c40": (0.6, 0.2), "c50": (0.5, 0.25), "c60": (0.4, 0.3)}
#: Moves tried per step: top, left, height, width (signs), and both sides scaled together.
MOVES: Final = (
    (1, 0, 0, 0),
    (-1, 0, 0, 0),
    (0, 1, 0, 0),
    (0, -1, 0, 0),
    (0, 0, 1, 0),
    (0, 0, -1, 0),
    (0, 0, 0, 1),
    (0, 0, 0, -1),
    (0, 0, 1, 1),
    (0, 0, -1, -1),
)

Box = tuple[float, float, float, float]  # top, left, height, width in pixels of the reduced copy


@dataclass(frozen=True, slots=True)
class Row:
    """One copy: the window the matcher chose and what aligning it (and the central crops) gave."""

    kind: Literal["false", "true"]
    copy_of: str
    edit: str
    registered: str
    window: str
    distance: int
    aligned: int
    central: int | None  # best aligned central crop, None when none lies inside the copy


def copy_of(paths: list[str], index: int, edit: str) -> RGBArray:
    """The copy bench/robustness.py scores for this photo and edit (check draw)."""
    data = Path(paths[index]).read_bytes()
    with Image.open(io.BytesIO(data)) as opened:
        full = ImageOps.exif_transpose(opened).convert("RGB")
    name = f"{edit} [check]"
    rng = np.random.default_rng([SEED, index, zlib.crc32(name.encode())])
    return load_rgb(FAMILY_EDITS[edit][1](full, rng, "check"))


def _pdq(rgb: RGBArray, box: Box) -> str | None:
    top, left, height, width = (round(v) for v in box)
    if top < 0 or left < 0 or height < 16 or width < 16 or top + height > rgb.shape[0] or left + width > rgb.shape[1]:
        return None
    vector, _quality = pdqhash.compute(np.ascontiguousarray(rgb[top : top + height, left : left + width]))
    return bits_to_hex(vector)


def refine(rgb: RGBArray, box: Box, target: str) -> int:
    """The smallest distance to ``target`` reached by moving and scaling the box (coordinate descent)."""
    first = _pdq(rgb, box)
    best = hamming_hex(first, target) if first else 256
    step = 0.02
    while step >= 0.0025:
        improved = False
        for dt, dl, dh, dw in MOVES:
            top, left, height, width = box
            moved = (
                top + dt * step * height,
                left + dl * step * width,
                height * (1 + dh * step),
                width * (1 + dw * step),
            )
            value = _pdq(rgb, moved)
            if value is not None and (d := hamming_hex(value, target)) < best:
                best, box, improved = d, moved, True
        if not improved:
            step /= 2
    return best


def geometry(registered_variant: str) -> tuple[float, float, float, float] | None:
    """Share kept and start of each axis (rows, then columns) of a registered crop."""
    if m := re.fullmatch(r"crop-k(\d+)t(\d+)l(\d+)", registered_variant):
        keep = int(m[1]) / 100
        return keep, int(m[2]) / 100, keep, int(m[3]) / 100
    if m := re.fullmatch(r"crop-(c\d+)", registered_variant):
        keep, start = CENTRAL[m[1]]
        return keep, start, keep, start
    return None


def best_central(rgb: RGBArray, box: Box, registered_variant: str, registered: dict[str, str]) -> int | None:
    """Where the matched window says the registered central crops lie in the copy, aligned."""
    shape = geometry(registered_variant)
    if shape is None:
        return None
    keep_y, start_y, keep_x, start_x = shape
    top, left, height, width = box
    found: list[int] = []
    for code in ("c60", "c50", "c40"):
        keep, start = CENTRAL[code]
        predicted = (
            top + (start - start_y) / keep_y * height,
            left + (start - start_x) / keep_x * width,
            keep / keep_y * height,
            keep / keep_x * width,
        )
        # The part of the predicted box inside the copy; only crops (almost) wholly inside count:
        # elsewhere the copy cut part of the crop away. Up to 2% of a side may lie outside (the
        # window's grid and the crop's rounding).
        top_in, left_in = max(0.0, predicted[0]), max(0.0, predicted[1])
        clipped = (
            top_in,
            left_in,
            min(predicted[0] + predicted[2], rgb.shape[0]) - top_in,
            min(predicted[1] + predicted[3], rgb.shape[1]) - left_in,
        )
        if clipped[2] < 0.98 * predicted[2] or clipped[3] < 0.98 * predicted[3] or f"crop-{code}" not in registered:
            continue
        found.append(refine(rgb, clipped, registered[f"crop-{code}"]))
    return min(found, default=None)


def window_box(found_variant: str) -> Box | None:
    """The box of a box window label (``win-k55@~12,30,400,533``), None for other views."""
    if not found_variant.startswith(WINDOW_PREFIX) or "@" not in found_variant:
        return None
    where = found_variant.split("@", 1)[1].removeprefix(SKEWED_MARK)
    parts = where.split(",")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None  # a rotation window
    top, left, height, width = (float(p) for p in parts)
    return top, left, height, width


def measure(
    paths: list[str], kind: Literal["false", "true"], index: int, edit: str, registered_index: int
) -> Row | None:
    """Match one copy against one file's registered hashes; when a box window made the match, align
    it and the central crops it predicts. None when nothing matched or no box window did."""
    rgb = copy_of(paths, index, edit)
    hashes: list[Hash] = list(hash_file(Path(paths[registered_index]).read_bytes()).hashes)
    match = best_matches([hashes], found_image_hashes(rgb))[0]
    if match is None or not match.matched:
        return None
    box = window_box(match.found_variant)
    if box is None:
        return None  # matched by a view of the whole copy or a rotation window: nothing to align here
    pdq = {h.variant: h.value for h in hashes if h.signal == "pdq"}
    return Row(
        kind,
        os.path.relpath(paths[index], PHOTOS),
        edit,
        os.path.relpath(paths[registered_index], PHOTOS),
        f"{match.found_variant} ~ {match.registered_variant}",
        match.distance,
        refine(rgb, box, pdq[match.registered_variant]),
        best_central(rgb, box, match.registered_variant, pdq),
    )


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(ordered):g} / {p90} / {ordered[-1]}"


def render(rows: list[Row], command: str, seconds: float, correlation: Callable[[Row], str]) -> str:
    false_rows = [r for r in rows if r.kind == "false"]
    true_rows = [r for r in rows if r.kind == "true"]
    lines = [
        "# False pairs: does aligning the matched window tell a re-shot from a crop?",
        "",
        f"Generated by `bench/false_pairs.py` ({seconds:.0f} s); reproduce from the repository root with:",
        "",
        "```",
        command,
        "```",
        "",
        "Distances are PDQ bits to the registered hash the matcher paired the window with: as the",
        "matcher found it (grid window), after moving and scaling the window to its best place, and the",
        "best of the registered central crops (c60, c50, c40) that the window predicts inside the copy,",
        "each aligned the same way. Pixels: normalised correlation of the two originals after the best",
        "scale and position (`bench/same_photo.py`; the same photograph scores at least 0.9).",
        "",
        "## The false pairs",
        "",
        "| copy of | edit | matched file | pixels | window | as found | aligned | central, aligned |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in false_rows:
        central = "-" if r.central is None else str(r.central)
        lines.append(
            f"| `{r.copy_of}` | {r.edit} | `{r.registered}` | {correlation(r)} | `{r.window}` | {r.distance} | "
            f"{r.aligned} | {central} |"
        )
    centrals = [r.central for r in true_rows if r.central is not None]
    lines += [
        "",
        f"## True heavy crops matched through a box window ({len(true_rows)} copies)",
        "",
        "| | median / p90 / max |",
        "| --- | --- |",
        f"| as found | {_spread([r.distance for r in true_rows])} |",
        f"| aligned | {_spread([r.aligned for r in true_rows])} |",
        f"| central, aligned ({len(centrals)} with one inside the copy) | {_spread(centrals)} |",
        "",
    ]
    picks: tuple[tuple[str, Callable[[Row], int | None]], ...] = (
        ("aligned", lambda r: r.aligned),
        ("central, aligned", lambda r: r.central),
    )
    for label, pick in picks:
        worst_false = min((v for r in false_rows if (v := pick(r)) is not None), default=None)
        if worst_false is None:
            continue
        kept = [v for r in true_rows if (v := pick(r)) is not None]
        below = sum(1 for v in kept if v < worst_false)
        lines.append(
            f"- {label}: a rule rejecting every false pair (at most {worst_false - 1} bits) keeps {below} of "
            f"{len(kept)} true crops ({100 * below / max(1, len(kept)):.0f}%)."
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=19, help="true copies of every Nth photo (default %(default)s)")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(DOC.parents[2])}")
    args = parser.parse_args()
    command = f".venv/bin/python bench/false_pairs.py --every {args.every}" + (" --write" if args.write else "")
    print(f"reproduce: {command}", file=sys.stderr)
    paths = sorted(str(p) for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    position = {os.path.relpath(p, PHOTOS): i for i, p in enumerate(paths)}
    started = time.time()
    rows: list[Row] = []
    for copied, edit, registered in KNOWN_PAIRS:
        row = measure(paths, "false", position[copied], edit, position[registered])
        if row is None:
            print(f"{copied} ({edit}) no longer matches {registered} through a box window", file=sys.stderr)
        else:
            rows.append(row)
    for index in range(0, len(paths), args.every):
        for edit in EDITS:
            row = measure(paths, "true", index, edit, index)
            if row is not None:
                rows.append(row)
        print(f"\r{index + 1}/{len(paths)} photos, {time.time() - started:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    alignments = {
        (r.copy_of, r.registered): align(PHOTOS / r.copy_of, PHOTOS / r.registered) for r in rows if r.kind == "false"
    }
    text = render(
        rows,
        command,
        time.time() - started,
        lambda r: f"{alignments[(r.copy_of, r.registered)].correlation:.3f}",
    )
    print(text)
    if args.write:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
