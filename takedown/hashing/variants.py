"""Variants: the registering side hashes chosen edits of the original; the checking side undoes
borders and tries flips and rotations of a found copy.

PDQ (like every global perceptual hash) survives recompression, resizing and blur but not
crops, pads or small rotations. The survivor still holds the original, so the registering side
hashes a handful of edited versions of it; the service, which only sees the found copy, removes
uniform borders (pads, letterboxing, screenshot frames) and tries the eight dihedral
transformations. The set of registered variants was chosen by measurement (bench/robustness.py,
docs/hashing.md "Variant set").

All registering-side transforms work on the reduced RGB uint8 array with integer arithmetic so the
JavaScript port reproduces them bit-exactly: crops and flips are slicing, rotation is a
fixed-point bilinear resampler whose constants and rounding are written in docs/hashing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from takedown.hashing.hashes import ORIGINAL, Hash
from takedown.hashing.image import RGBArray, hash_rgb, pdq_rgb

#: Fixed-point cos/sin (x 65536, rounded to nearest) of the angles a variant may use. Written
#: out instead of computed so JavaScript and Python cannot differ by one ulp of Math.cos.
ROTATION_CONSTANTS: Final[dict[int, tuple[int, int]]] = {
    2: (65496, 2287),
    3: (65446, 3430),
    4: (65376, 4572),
    5: (65287, 5712),
    6: (65177, 6850),
    8: (64898, 9121),
    10: (64540, 11380),
}
#: Colour outside the source picture after a rotation (black, what most editors show).
ROTATION_FILL: Final = (0, 0, 0)


def crop_percent(rgb: RGBArray, top: int, bottom: int, left: int, right: int) -> RGBArray:
    """Remove whole percents from each side: floor(H * top / 100) rows from the top, etc."""
    height, width = rgb.shape[:2]
    t, b = height * top // 100, height * bottom // 100
    lft, rgt = width * left // 100, width * right // 100
    return np.ascontiguousarray(rgb[t : height - b, lft : width - rgt])


def pad_percent(rgb: RGBArray, percent: int, colour: tuple[int, int, int]) -> RGBArray:
    """Add floor(H * p / 100) rows above and below and floor(W * p / 100) columns each side."""
    height, width = rgb.shape[:2]
    dy, dx = height * percent // 100, width * percent // 100
    out = np.empty((height + 2 * dy, width + 2 * dx, 3), dtype=np.uint8)
    out[:] = np.asarray(colour, dtype=np.uint8)
    out[dy : dy + height, dx : dx + width] = rgb
    return out


def flip_horizontal(rgb: RGBArray) -> RGBArray:
    """Mirror left-right (a selfie camera or a re-upload with "mirror" on)."""
    return np.ascontiguousarray(rgb[:, ::-1])


def rotate(rgb: RGBArray, degrees: int, fill: tuple[int, int, int] = ROTATION_FILL) -> RGBArray:
    """Rotate counter-clockwise by a whole number of degrees about the centre, same canvas size.

    Inverse mapping in fixed point: for output pixel (x, y), with dx2 = 2x - (W - 1) and
    dy2 = 2y - (H - 1), the source position in units of 1/131072 pixel is
    U = C*dx2 - S*dy2 + (W - 1)*65536 and V = S*dx2 + C*dy2 + (H - 1)*65536 (C, S from
    ROTATION_CONSTANTS, S negated for clockwise). x0 = U >> 17, fx = (U & 131071) >> 9 (0..255),
    likewise y0, fy. Samples outside the picture take ``fill``. Per channel:
    top = p00*(256-fx) + p10*fx; bottom = p01*(256-fx) + p11*fx;
    out = (top*(256-fy) + bottom*fy + 32768) >> 16.
    """
    sign = 1 if degrees >= 0 else -1
    try:
        c, s = ROTATION_CONSTANTS[abs(degrees)]
    except KeyError:
        raise ValueError(f"no rotation constants for {degrees} degrees") from None
    s *= sign
    height, width = rgb.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.int64)
    dx2 = 2 * xs - (width - 1)
    dy2 = 2 * ys - (height - 1)
    u = c * dx2 - s * dy2 + (width - 1) * 65536
    v = s * dx2 + c * dy2 + (height - 1) * 65536
    x0, y0 = u >> 17, v >> 17
    fx = ((u & 131071) >> 9)[:, :, np.newaxis]
    fy = ((v & 131071) >> 9)[:, :, np.newaxis]
    padded = np.empty((height + 2, width + 2, 3), dtype=np.int64)
    padded[:] = np.asarray(fill, dtype=np.int64)
    padded[1:-1, 1:-1] = rgb
    # Padded index = source index + 1; anything further out is clipped onto the fill border.
    xa, xb = np.clip(x0 + 1, 0, width + 1), np.clip(x0 + 2, 0, width + 1)
    ya, yb = np.clip(y0 + 1, 0, height + 1), np.clip(y0 + 2, 0, height + 1)
    top = padded[ya, xa] * (256 - fx) + padded[ya, xb] * fx
    bottom = padded[yb, xa] * (256 - fx) + padded[yb, xb] * fx
    out: RGBArray = ((top * (256 - fy) + bottom * fy + 32768) >> 16).astype(np.uint8)
    return out


# ---------------------------------------------------------------- checking side: borders

#: A border line is a row/column where at least BORDER_COVERAGE of the pixels lie within
#: BORDER_TOLERANCE (max over channels) of the reference colour. The tolerance absorbs JPEG
#: noise in a flat pad; the coverage lets a few ringing pixels through.
BORDER_TOLERANCE: Final = 16
BORDER_COVERAGE: Final = 0.98
#: Never trim an axis below this share of its length: a mostly flat picture stays whole.
BORDER_MIN_KEEP: Final = 0.25


def _close_share(lines: npt.NDArray[np.uint8], ref: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Per line (axis 0), the share of pixels within BORDER_TOLERANCE of ``ref``."""
    diff = np.abs(lines.astype(np.int16) - ref).max(axis=-1)
    share: npt.NDArray[np.float64] = (diff <= BORDER_TOLERANCE).mean(axis=-1)
    return share


def _leading_border(lines: npt.NDArray[np.uint8]) -> int:
    """How many leading lines are uniform in the colour of the first line."""
    ref = np.median(lines[0], axis=0).astype(np.int16)
    ok = _close_share(lines, ref) >= BORDER_COVERAGE
    return len(ok) if ok.all() else int(np.argmin(ok))


def trim_borders(rgb: RGBArray) -> RGBArray:
    """Remove uniform borders (pads, letterbox bars) from the four sides.

    Each side's reference colour is the median of its outermost line, so a black letterbox above
    a blue sky stops at the sky. Returns the input unchanged if nothing is trimmed or if trimming
    would leave less than BORDER_MIN_KEEP of an axis.
    """
    height, width = rgb.shape[:2]
    top = _leading_border(rgb)
    bottom = height - _leading_border(rgb[::-1])
    left = _leading_border(rgb.transpose(1, 0, 2))
    right = width - _leading_border(rgb[:, ::-1].transpose(1, 0, 2))
    if bottom - top < BORDER_MIN_KEEP * height:
        top, bottom = 0, height
    if right - left < BORDER_MIN_KEEP * width:
        left, right = 0, width
    if (top, bottom, left, right) == (0, height, 0, width):
        return rgb
    return np.ascontiguousarray(rgb[top:bottom, left:right])


def _flat_lines(lines: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Lines (axis 0) whose pixels nearly all share one colour (their own median)."""
    ref = np.median(lines, axis=1).astype(np.int16)[:, np.newaxis, :]
    diff = np.abs(lines.astype(np.int16) - ref).max(axis=-1)
    result: npt.NDArray[np.bool_] = (diff <= BORDER_TOLERANCE).mean(axis=1) >= BORDER_COVERAGE
    return result


def _longest_content_run(flat: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """The longest run of non-flat lines, bridging flat gaps shorter than 1% of the length."""
    n = len(flat)
    min_gap = max(2, n // 100)
    runs: list[tuple[int, int]] = []
    start: int | None = None
    gap = 0
    for i, is_flat in enumerate(flat):
        if not is_flat:
            if start is None:
                start = i
            gap = 0
        elif start is not None:
            gap += 1
            if gap >= min_gap:
                runs.append((start, i - gap + 1))
                start, gap = None, 0
    if start is not None:
        runs.append((start, n - gap))
    if not runs:
        return 0, n
    return max(runs, key=lambda r: r[1] - r[0])


def content_block(rgb: RGBArray) -> RGBArray:
    """The largest block of non-uniform rows and columns: the picture inside a screenshot.

    Unlike :func:`trim_borders` this also cuts off status bars, captions and navigation bars
    that sit beyond a flat margin. Returns the input unchanged when the block would be tiny.
    """
    height, width = rgb.shape[:2]
    top, bottom = _longest_content_run(_flat_lines(rgb))
    if bottom - top < BORDER_MIN_KEEP * height:
        top, bottom = 0, height
    rows = rgb[top:bottom]
    left, right = _longest_content_run(_flat_lines(rows.transpose(1, 0, 2)))
    if right - left < BORDER_MIN_KEEP * width:
        left, right = 0, width
    if (top, bottom, left, right) == (0, height, 0, width):
        return rgb
    return np.ascontiguousarray(rgb[top:bottom, left:right])


# ---------------------------------------------------------------- variant sets


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """A named, deterministic edit of the reduced original."""

    label: str
    kind: str  # "crop" | "rotate" | "flip" | "trim"
    crop: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right in percent
    degrees: int = 0

    def apply(self, rgb: RGBArray) -> RGBArray:
        if self.kind == "crop":
            return crop_percent(rgb, *self.crop)
        if self.kind == "rotate":
            return rotate(rgb, self.degrees)
        if self.kind == "flip":
            return flip_horizontal(rgb)
        if self.kind == "trim":
            return trim_borders(rgb)
        raise ValueError(f"unknown variant kind {self.kind!r}")


def _crop(label: str, top: int, bottom: int, left: int, right: int) -> VariantSpec:
    return VariantSpec(label, "crop", crop=(top, bottom, left, right))


def _rot(degrees: int) -> VariantSpec:
    return VariantSpec(f"rot{degrees:+d}", "rotate", degrees=degrees)


#: Every variant the benchmark evaluated (bench/robustness.py --select) to choose the set.
CANDIDATE_VARIANTS: Final[tuple[VariantSpec, ...]] = (
    _crop("crop-c10", 5, 5, 5, 5),
    _crop("crop-c20", 10, 10, 10, 10),
    _crop("crop-tl10", 10, 0, 10, 0),
    _crop("crop-tr10", 10, 0, 0, 10),
    _crop("crop-bl10", 0, 10, 10, 0),
    _crop("crop-br10", 0, 10, 0, 10),
    _crop("crop-tl20", 20, 0, 20, 0),
    _crop("crop-tr20", 20, 0, 0, 20),
    _crop("crop-bl20", 0, 20, 20, 0),
    _crop("crop-br20", 0, 20, 0, 20),
    _crop("crop-t10", 10, 0, 0, 0),
    _crop("crop-b10", 0, 10, 0, 0),
    _crop("crop-l10", 0, 0, 10, 0),
    _crop("crop-r10", 0, 0, 0, 10),
    _rot(3),
    _rot(-3),
    _rot(5),
    _rot(-5),
    _rot(8),
    _rot(-8),
    VariantSpec("flip", "flip"),
)

_BY_LABEL: Final = {spec.label: spec for spec in CANDIDATE_VARIANTS}

#: The registered set, chosen by greedy selection on measured recall (docs/hashing.md).
REGISTERED_VARIANTS: Final[tuple[VariantSpec, ...]] = tuple(
    _BY_LABEL[label] for label in ("rot+3", "rot-3", "rot+5", "rot-5", "rot+8", "rot-8", "crop-c10", "crop-c20")
)


def variant_by_label(label: str) -> VariantSpec:
    return _BY_LABEL[label]


def registered_hashes(rgb: RGBArray) -> list[Hash]:
    """All hashes the registering side stores for one image.

    PDQ, pHash and dHash of the original, PDQ of every registered variant, and PDQ of the
    border-trimmed original when trimming changes it (so a found copy whose flat edge was
    trimmed together with an added pad still meets its twin).
    """
    out = hash_rgb(rgb, ORIGINAL)
    for spec in REGISTERED_VARIANTS:
        value, quality = pdq_rgb(spec.apply(rgb))
        out.append(Hash("pdq", value, quality, spec.label))
    trimmed = trim_borders(rgb)
    if trimmed is not rgb:
        value, quality = pdq_rgb(trimmed)
        out.append(Hash("pdq", value, quality, "trim"))
    return out
