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

from takedown.hashing.crop_search import CROP_GROUPS, REGION_CANDIDATES, REGION_WINDOWS
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


def _channel_distance(pixels: npt.NDArray[np.uint8], ref: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """max over R, G, B of |pixel - ref| (written per channel: numpy reduces a trailing axis of
    length 3 slowly, and this runs over whole pictures on the checking side)."""
    values = pixels.astype(np.int16)
    diff = np.abs(values - ref)
    out: npt.NDArray[np.int16] = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
    return out


def _close_share(lines: npt.NDArray[np.uint8], ref: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Per line (axis 0), the share of pixels within BORDER_TOLERANCE of ``ref``."""
    share: npt.NDArray[np.float64] = (_channel_distance(lines, ref) <= BORDER_TOLERANCE).mean(axis=-1)
    return share


#: Lines examined at a time by :func:`_leading_border`: borders are usually thin, so most
#: pictures are decided by the first block.
_BORDER_BLOCK: Final = 16


def _leading_border(lines: npt.NDArray[np.uint8]) -> int:
    """How many leading lines are uniform in the colour of the first line."""
    ref = np.median(lines[0], axis=0).astype(np.int16)
    start = 0
    while start < len(lines):
        ok = _close_share(lines[start : start + _BORDER_BLOCK], ref) >= BORDER_COVERAGE
        if not ok.all():
            return start + int(np.argmin(ok))
        start += _BORDER_BLOCK
    return len(lines)


def trim_box(rgb: RGBArray) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` of the picture inside uniform borders (see
    :func:`trim_borders`), or None when nothing is trimmed."""
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
        return None
    return top, bottom, left, right


def trim_borders(rgb: RGBArray) -> RGBArray:
    """Remove uniform borders (pads, letterbox bars) from the four sides.

    Each side's reference colour is the median of its outermost line, so a black letterbox above
    a blue sky stops at the sky. Returns the input unchanged if nothing is trimmed or if trimming
    would leave less than BORDER_MIN_KEEP of an axis.
    """
    box = trim_box(rgb)
    if box is None:
        return rgb
    top, bottom, left, right = box
    return np.ascontiguousarray(rgb[top:bottom, left:right])


#: Content block (screenshots): a line is background when nearly all its pixels (BORDER_COVERAGE)
#: lie within BLOCK_TOLERANCE of its median colour, or when it is a smooth gradient (no step
#: between neighbours above BLOCK_SMOOTH_STEP: wallpapers, shaded bars). Tighter than the border
#: tolerance, so the dark or pale edge of a photo is not taken for a page's background.
BLOCK_TOLERANCE: Final = 8
BLOCK_SMOOTH_STEP: Final = 2
#: A block must keep this share of each axis and of the area, or the copy is left whole.
BLOCK_MIN_SIDE: Final = 0.10
BLOCK_MIN_AREA: Final = 0.04
BLOCK_ROUNDS: Final = 4


def _background_lines(lines: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Lines (axis 0) of one colour or of a smooth gradient: a page, a bar, a wallpaper."""
    lines = np.ascontiguousarray(lines)  # columns arrive as a transposed view: 10x slower strided
    # The median of every 4th pixel: when 98% of a line is one colour, so is that median.
    ref = np.median(lines[:, ::4], axis=1).astype(np.int16)[:, np.newaxis, :]
    flat = (_channel_distance(lines, ref) <= BLOCK_TOLERANCE).mean(axis=1) >= BORDER_COVERAGE
    values = lines.astype(np.int16)
    steps = np.abs(values[:, 1:] - values[:, :-1])
    step = np.maximum(np.maximum(steps[..., 0], steps[..., 1]), steps[..., 2])
    smooth = (step <= BLOCK_SMOOTH_STEP).mean(axis=1) >= BORDER_COVERAGE
    result: npt.NDArray[np.bool_] = flat | smooth
    return result


def _longest_content_run(flat: npt.NDArray[np.bool_], min_gap: int | None = None) -> tuple[int, int]:
    """The longest run of non-flat lines, bridging flat gaps shorter than ``min_gap`` lines
    (default 1% of the length, at least 2; 1 splits at every flat line)."""
    n = len(flat)
    if min_gap is None:
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


def content_boxes(rgb: RGBArray) -> tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]:
    """:func:`content_box` bridging short gaps, and splitting at every gap, sharing the work.

    The bridging search runs on the copy reduced 2 x 2 (a quarter of the work; the box is then at
    most a pixel off, which the crop windows searched inside the block absorb). Only when it finds
    a block (the copy looks like a screenshot) does the splitting search run, at full resolution
    (a chat bubble's margin is two or three pixels) and inside that block.
    """
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return None, None
    small = rgb[: height // 2 * 2, : width // 2 * 2].reshape(height // 2, 2, width // 2, 2, 3)
    half: RGBArray = ((small.sum(axis=(1, 3), dtype=np.uint16) + 2) // 4).astype(np.uint8)
    found = _content_box(half, None)
    if found is None:
        return None, None
    top, bottom, left, right = (2 * v for v in found)
    bridged = (top, min(bottom, height), left, min(right, width))
    top, left = max(0, top - 2), max(0, left - 2)
    bottom, right = min(height, bottom + 2), min(width, right + 2)
    inner = _content_box(rgb[top:bottom, left:right], 1, min_size=(height, width))
    if inner is None:
        return bridged, None
    return bridged, (top + inner[0], top + inner[1], left + inner[2], left + inner[3])


def content_box(rgb: RGBArray, *, split_every_gap: bool = False) -> tuple[int, int, int, int] | None:
    """The largest block of non-background rows and columns, ``(top, bottom, left, right)``:
    the picture inside a screenshot; None when it is the whole copy or would be tiny.

    Rows, then columns within them, then rows within those columns again, and so on until the
    block stops changing (at most BLOCK_ROUNDS times): a sidebar beside the picture or a caption
    below it is cut off once the other axis has been narrowed to the picture. Background gaps
    shorter than 1% of a side are bridged (a flat band inside the photo does not split it);
    ``split_every_gap`` splits at every background line instead (a chat bubble's thin margin
    before its timestamp).
    """
    bridged, split = content_boxes(rgb)
    return split if split_every_gap else bridged


def _content_box(
    rgb: RGBArray, min_gap: int | None, min_size: tuple[int, int] | None = None
) -> tuple[int, int, int, int] | None:
    """The block search of :func:`content_box` (``min_size``: the copy the block must not be
    tiny against, when ``rgb`` is already a part of it)."""
    height, width = rgb.shape[:2]
    top, bottom, left, right = 0, height, 0, width
    for _ in range(BLOCK_ROUNDS):
        t0, b0 = _longest_content_run(_background_lines(rgb[top:bottom, left:right]), min_gap)
        new_top, new_bottom = top + t0, top + b0
        columns = rgb[new_top:new_bottom, left:right].transpose(1, 0, 2)
        l0, r0 = _longest_content_run(_background_lines(columns), min_gap)
        new_left, new_right = left + l0, left + r0
        if (new_top, new_bottom, new_left, new_right) == (top, bottom, left, right):
            break
        top, bottom, left, right = new_top, new_bottom, new_left, new_right
    full_h, full_w = min_size or (height, width)
    block_h, block_w = bottom - top, right - left
    if (
        block_h < BLOCK_MIN_SIDE * full_h
        or block_w < BLOCK_MIN_SIDE * full_w
        or block_h * block_w < BLOCK_MIN_AREA * full_h * full_w
        or (top, bottom, left, right) == (0, height, 0, width)
    ):
        return None
    return top, bottom, left, right


def content_block(rgb: RGBArray, *, split_every_gap: bool = False) -> RGBArray:
    """The picture inside a screenshot (:func:`content_box`), or the input when there is none."""
    box = content_box(rgb, split_every_gap=split_every_gap)
    if box is None:
        return rgb
    top, bottom, left, right = box
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
    # Issue 17: central crops for straightened copies, off-centre crop groups for heavy crops
    # (crop_search.CROP_GROUPS), parts of the picture for overlays (crop_search.REGION_WINDOWS).
    _crop("crop-c40", 20, 20, 20, 20),
    _crop("crop-c50", 25, 25, 25, 25),
    _crop("crop-c60", 30, 30, 30, 30),
    *(
        _crop(label, *box)
        for group in CROP_GROUPS
        if len(group.start_percents) > 1
        for label, box in group.registered()
    ),
    *(_crop(region.registered, *region.removed_percents) for region in REGION_CANDIDATES),
)

_BY_LABEL: Final = {spec.label: spec for spec in CANDIDATE_VARIANTS}

#: The registered set (docs/hashing.md "Variant set", chosen on the tune half of the photos with
#: bench/robustness.py --select): the central crops the crop and rotation searches look for, every
#: crop of the off-centre groups (two starts per axis are what cover every position of a heavy
#: crop), and the parts of the picture the overlay windows look for. The rotated variants of
#: earlier versions are gone: the checking side's rotation search undoes a turn instead.
REGISTERED_LABELS: Final[tuple[str, ...]] = (
    "crop-c10",
    "crop-c20",
    "crop-c40",
    "crop-c50",
    "crop-c60",
    *(label for group in CROP_GROUPS if len(group.start_percents) > 1 for label, _box in group.registered()),
    *(region.registered for region in REGION_WINDOWS),
)
REGISTERED_VARIANTS: Final[tuple[VariantSpec, ...]] = tuple(_BY_LABEL[label] for label in REGISTERED_LABELS)


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
