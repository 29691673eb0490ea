"""Checking-side rotation search: undo a small rotation of a found copy, whatever its canvas.

Editors and phones rotate a picture in one of three ways, and each leaves the original's
content at a known place *for a known angle*:

- ``G`` canvas grown: the canvas becomes the bounding box of the turned picture, corners filled
  (black, white, any colour, transparency). The whole original is inside, turned by the angle;
- ``A`` straightened: turned, then cropped inward to the largest upright rectangle of the same
  aspect ratio (phone "straighten");
- ``B`` straightened to the largest upright rectangle of any aspect ratio;
- ``S`` same canvas: turned inside the original canvas, corners filled (what ``PIL.rotate``
  does by default).

For an angle ``a`` and a mode, the size of the original in the found copy's pixels follows from
the copy's size alone (formulas in :func:`original_size`), and the registered central crop that
still lies wholly inside the copy is a rotated rectangle about the copy's centre. So the
checking side hashes, for every whole angle from 1 to 15 degrees either way and every mode, the
rotated rectangles that stand for the two largest registered central crops that fit (the
original itself for a grown canvas; down to the central 40% for thin straightened strips): 4
modes x 30 angles x 2, about 240 windows (some angles do not fit some shapes), and the
half-degree angles of ``FINE_ANGLES`` for the straightened modes (up to 80 more). Each window
is compared only with the registered variant it stands for.

Why a 1-degree grid (measured on 200 photos, bench/robustness.py): PDQ of a picture turned by
0.5 degrees more than the registered one stays within a median 12 bits; 1 degree more, 18-28
bits; so a grid step of 1 degree (at most 0.5 off) matched 100% of grown and straightened copies
of 1-15 degrees, a 1.5-degree step 98.5-99.5% and 2 degrees 96-98.5%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from takedown.hashing.hashes import ORIGINAL, Hash
from takedown.hashing.image import RGBArray
from takedown.hashing.pairing import WINDOW_PREFIX
from takedown.hashing.window_pdq import BlurredLuma, FloatArray, blur_size, rotated_windows

#: Whole angles searched, degrees (either sign). Below 1 degree the copy as found still matches.
SEARCH_ANGLES: Final = tuple(range(1, 16))
#: Half-degree angles searched for straightened copies only (modes A and B), from about where a
#: straightened copy no longer holds the registered 80% crop and its window stands for the 60%,
#: 50% or 40% one (5-8 degrees, by aspect ratio). Straightened copies of 10-15 degrees that the
#: whole-degree grid missed were 32-36 bits from their original; with the half degrees, 28-30
#: (100 tune-half photos edited with the bench's *check* draw: 3 misses -> 0). Up to 80 windows
#: more per found copy (two crops per angle, :data:`TARGETS_PER_ANGLE`).
FINE_ANGLES: Final = tuple(a + 0.5 for a in range(5, 15))
FINE_MODES: Final = ("A", "B")
#: Modes (see the module docstring), in label order.
MODES: Final = ("G", "A", "B", "S")
#: Registered central crops a rotation window may stand for, largest first: (label, share of
#: each side kept). The original only for a grown canvas, where the whole picture is inside.
#: ``crop-c60`` (the central 40%) is for wide pictures straightened 12-15 degrees to the largest
#: upright rectangle of any shape: the copy is a thin strip (500 x 281 turned 13 degrees leaves
#: 472 x 180) in which even the 50% crop does not fit, so no window stood for anything and the
#: closest was 40-98 bits away. With it, 21 of the 45 straightened copies that missed among all
#: 1,353 shared photos (bench's check draw, seen while choosing) match, at 6-30 bits.
ROTATION_TARGETS: Final = (
    ("original", 1.0),
    ("crop-c20", 0.8),
    ("crop-c40", 0.6),
    ("crop-c50", 0.5),
    ("crop-c60", 0.4),
)
#: Registered central crops searched per angle and mode: the largest that fits and the next.
#: The largest touches the copy's edges, so a copy cut a little more than the largest rectangle
#: (some apps zoom in 1-2%), or the blur running over the window's edge, costs it 5-15 bits; the
#: next one lies well inside. Measured on all 1,353 photos, the bench's check draw of straightened
#: copies (seen while choosing): 24 misses -> 7 (98.2% -> 99.5%), each of the 17 now met through
#: a smaller crop's window than its closest miss before, most of them small portraits
#: straightened 10-15 degrees.
TARGETS_PER_ANGLE: Final = 2
#: A window may poke this many pixels out of the copy (rounding of the editor's crop).
FIT_SLACK_PIXELS: Final = 1.0


@dataclass(frozen=True, slots=True)
class RotationWindow:
    """One rotated rectangle of a found copy that stands for one registered central crop."""

    mode: str
    degrees: float
    target: str
    centre_x: float
    centre_y: float
    width: float
    height: float

    @property
    def code(self) -> str:
        """Label detail, e.g. ``A+12`` or ``B-7.5`` (mode and signed angle)."""
        return f"{self.mode}{self.degrees:+g}"


def original_size(mode: str, width: float, height: float, degrees: float) -> tuple[float, float] | None:
    """The original picture's size, in pixels of a found copy of ``width`` x ``height`` made by
    turning it ``degrees`` in ``mode``; None when no picture gives this copy in this mode."""
    t = math.radians(abs(degrees))
    c, s = math.cos(t), math.sin(t)
    if mode == "S":
        return width, height
    if mode == "A":
        scale = min(1 / (c + (width / height) * s), 1 / (c + (height / width) * s))
        return width / scale, height / scale
    if mode == "B":
        # The largest upright rectangle touches all four sides of the turned original, so the
        # original is the bounding box of the copy turned back (long-thin pictures excepted).
        return c * width + s * height, s * width + c * height
    if mode == "G":
        cos2 = c * c - s * s
        w, h = (c * width - s * height) / cos2, (c * height - s * width) / cos2
        return (w, h) if w > 0 and h > 0 else None
    raise ValueError(f"unknown rotation mode {mode!r}")


def _fits(width: float, height: float, degrees: float, box_w: float, box_h: float) -> bool:
    t = math.radians(abs(degrees))
    c, s = math.cos(t), math.sin(t)
    half_w = (width * c + height * s) / 2
    half_h = (width * s + height * c) / 2
    return half_w <= box_w / 2 + FIT_SLACK_PIXELS and half_h <= box_h / 2 + FIT_SLACK_PIXELS


def rotation_windows(height: int, width: int) -> list[RotationWindow]:
    """Every rotation window of a found copy of this size (see the module docstring)."""
    out: list[RotationWindow] = []
    angles = [(float(a), MODES) for a in SEARCH_ANGLES] + [(a, FINE_MODES) for a in FINE_ANGLES]
    for magnitude, modes in angles:
        for degrees in (magnitude, -magnitude):
            for mode in modes:
                size = original_size(mode, width, height, degrees)
                if size is None:
                    continue
                orig_w, orig_h = size
                fitted = 0
                for target, keep in ROTATION_TARGETS:
                    if target == "original" and mode != "G":
                        continue
                    w, h = orig_w * keep, orig_h * keep
                    if w < 16 or h < 16:
                        break
                    if _fits(w, h, degrees, width, height):
                        out.append(RotationWindow(mode, degrees, target, width / 2, height / 2, w, h))
                        fitted += 1
                        if fitted == TARGETS_PER_ANGLE:
                            break
    return out


def rotation_window_hashes(rgb: RGBArray, quality: int, y: FloatArray | BlurredLuma | None = None) -> list[Hash]:
    """PDQ of every rotation window of a found image, labelled ``win-<target>@<mode><angle>``
    (``win-c40@A+12``: the registered ``crop-c40`` if this copy was straightened 12 degrees
    counter-clockwise keeping its aspect ratio). Windows carry the quality of the copy. ``y`` is
    its luma, or a :class:`BlurredLuma` shared with the box windows."""
    height, width = rgb.shape[:2]
    if height < 2 or width < 2:
        return []
    blurs = BlurredLuma.of(rgb, y)
    windows = rotation_windows(height, width)
    by_blur: dict[tuple[int, int], list[RotationWindow]] = {}
    for window in windows:
        by_blur.setdefault(blur_size(window.height, window.width), []).append(window)
    out: list[Hash] = []
    for group in by_blur.values():
        blurred = blurs.for_window(group[0].height, group[0].width)
        words = rotated_windows(blurred, [(w.centre_x, w.centre_y, w.width, w.height, w.degrees) for w in group])
        raw = np.asarray(words, dtype=">u8").tobytes().hex()
        for i, window in enumerate(group):
            code = "orig" if window.target == ORIGINAL else window.target.removeprefix("crop-")
            variant = f"{WINDOW_PREFIX}{code}@{window.code}"
            out.append(Hash("pdq", raw[64 * i : 64 * (i + 1)], quality, variant))
    return out
