"""Checking-side crop search: find a registered crop inside a found copy that was cropped.

PDQ is a global hash: a copy cropped by 10% at a random position is ~40-60 bits away from the
original, because moving the picture by 1% of its size already changes PDQ by ~15-30 bits. But
a copy that lost a share of each side still *contains* a crop the survivor registered, only at
an unknown position and scale. So the server, which may spend more time per found image than
the survivor's browser, hashes every window of the copy that could be that registered crop and
compares each window only with the crop(s) it stands for (:mod:`takedown.hashing.pairing`).

Groups (registered side, :data:`CROP_GROUPS`): ``c10`` and ``c20`` are the central 90% and 80%;
``kNN`` are four off-centre crops keeping NN% of each side, starting at two positions per axis
(``crop-k55t15l30`` starts 15% from the top and 30% from the left). A found copy keeping a share
``f`` of each side (at any position) contains one of a group's crops when
``start + keep - f <= position <= start`` on each axis; two starts per axis cover every position
for the shares the group is searched at, with windows at most ``(f - keep) / f`` of the copy
from its corner. Smaller groups for heavier crops: the windows stay large (most of the copy),
which keeps them distinctive and the offset grid short.

Window families (checking side, all windows of the copy as found, identity orientation):

- *same share*: the copy lost the same share of each side (``found_keeps`` of each group, 3%
  apart: PDQ of a window scaled 2% from the registered crop still matched 86% of photos, 3%
  only 50%), window offsets on a grid of :data:`SEARCH_STEP` of the copy on both axes;
- *one axis*: the copy lost a share of one side only (cropped to a square or to 4:5 as feeds
  do): the other axis is whole, so the window's position along it is the registered start;
- *skewed*: the copy lost a different share of each side, up to :data:`MAX_SKEW` apart
  (:func:`skewed_pairs`), on a grid of :data:`SKEW_STEP` search steps. Offsets of every family
  cover only the positions where some registered start fits (:meth:`CropGroup.offset_spans`).

Measured (bench/robustness.py, docs/benchmarks/robustness.md): see the crop rows. Windows carry
the quality of the whole found view. PDQ of all windows is computed together
(:mod:`takedown.hashing.window_pdq`): a few milliseconds per thousand windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from takedown.hashing.hashes import Hash
from takedown.hashing.image import RGBArray
from takedown.hashing.pairing import (
    PART_PREFIX,
    SKEWED_MARK,
    WINDOW_PREFIX,
    may_compare,
    window_code,
    window_target,
)
from takedown.hashing.window_pdq import BlurredLuma, FloatArray, box_windows

__all__ = [
    "CROP_GROUPS",
    "REGION_WINDOWS",
    "SEARCH_STEP",
    "CropGroup",
    "RegionWindow",
    "box_window_hashes",
    "grid",
    "may_compare",
    "window_code",
    "window_hashes",
    "window_target",
]

#: Grid step of window offsets, as a share of the found copy's height / width. Measured: a 1%
#: step kept every crop 5% and crop 10% copy within the PDQ threshold; 1.5% lost 10-20% of them.
SEARCH_STEP: Final = 0.01
#: Windows smaller than this (pixels) are not hashed: PDQ needs some picture to work on.
MIN_WINDOW: Final = 16


@dataclass(frozen=True, slots=True)
class CropGroup:
    """Registered crops keeping ``keep`` of each side at ``starts`` (shares, both axes), and
    the shares ``found_keeps`` of each side a found copy is searched for them at."""

    code: str
    keep_percent: int
    start_percents: tuple[int, ...]
    found_keeps: tuple[float, ...]

    @property
    def keep(self) -> float:
        return self.keep_percent / 100

    @property
    def starts(self) -> tuple[float, ...]:
        return tuple(p / 100 for p in self.start_percents)

    def registered(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        """(label, (top, bottom, left, right) percent removed) of each registered crop."""
        if len(self.start_percents) == 1:
            p = self.start_percents[0]
            return [(f"crop-{self.code}", (p, 100 - p - self.keep_percent, p, 100 - p - self.keep_percent))]
        out = []
        for top in self.start_percents:
            for left in self.start_percents:
                label = f"crop-{self.code}t{top}l{left}"
                out.append((label, (top, 100 - top - self.keep_percent, left, 100 - left - self.keep_percent)))
        return out

    def offset_range(self, found_keep: float) -> tuple[float, float]:
        """Smallest and largest offset (share of the copy) of a registered crop inside a copy
        keeping ``found_keep`` of each side, over every position of that copy.

        A ``found_keep`` above 1 is a copy with a margin around the whole picture (the picture
        is ``1 / found_keep`` of the copy, anywhere in it): the crop starts ``p / found_keep``
        after the picture, and the picture anywhere from 0 to ``1 - 1 / found_keep``."""
        spans = self.offset_spans(found_keep)
        return spans[0][0], spans[-1][1]

    def offset_spans(self, found_keep: float) -> list[tuple[float, float]]:
        """The offsets of :meth:`offset_range` as the union of one interval per registered start.

        A copy keeping ``f`` and starting at ``a`` (``0 <= a <= 1 - f``) holds the crop starting
        at ``p`` at offset ``(p - a) / f`` when the crop fits inside it. For a share well above
        the group's own, the starts' intervals do not meet, and the gap between them holds no
        registered crop: skipping it cut the windows of the larger shares by up to two thirds."""
        f, g = found_keep, self.keep
        if f > 1:
            side = 1 / f
            return [(min(self.starts) * side, max(self.starts) * side + 1 - side)]
        top = 1 - g / f
        spans = sorted(
            (max(0.0, (p - min(1 - f, p)) / f), min(top, (p - max(0.0, p + g - f)) / f)) for p in self.starts
        )
        merged: list[tuple[float, float]] = []
        for low, high in spans:
            if high < low - 1e-9:
                continue
            if merged and low <= merged[-1][1] + SEARCH_STEP:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        return merged  # empty only when the copy keeps less than the crop (f < g): nothing fits


#: The registered crop groups and the shares each is searched at (3% apart, 70%-97%).
CROP_GROUPS: Final[tuple[CropGroup, ...]] = (
    CropGroup("c10", 90, (5,), (0.97, 0.95)),
    CropGroup("c20", 80, (10,), (0.92, 0.90)),
    CropGroup("k73", 73, (9, 18), (0.88, 0.85, 0.82)),
    CropGroup("k64", 64, (12, 24), (0.79, 0.76)),
    CropGroup("k55", 55, (15, 30), (0.73, 0.70)),
)


@dataclass(frozen=True, slots=True)
class RegionWindow:
    """A fixed part of the found copy that stands for the same part of the original, for copies
    whose geometry is unchanged but part of the picture is covered (caption bands, text,
    stickers): ``(top, bottom, left, right)`` shares removed, like the registered crop."""

    code: str
    removed_percents: tuple[int, int, int, int]

    @property
    def registered(self) -> str:
        return f"{PART_PREFIX}{self.code}"

    @property
    def window_code(self) -> str:
        return f"p{self.code}"


def _part(name: str, top: int, bottom: int, left: int, right: int) -> RegionWindow:
    return RegionWindow(name, (top, bottom, left, right))


#: Candidate parts of the picture for overlays (bench/robustness.py --select chose among them).
REGION_CANDIDATES: Final[tuple[RegionWindow, ...]] = (
    _part("b20", 0, 20, 0, 0),
    _part("t20", 20, 0, 0, 0),
    _part("tb15", 15, 15, 0, 0),
    _part("b30", 0, 30, 0, 0),
    _part("t30", 30, 0, 0, 0),
    _part("tb20", 20, 20, 0, 0),
    _part("l25", 0, 0, 25, 0),
    _part("r25", 0, 0, 0, 25),
    _part("lr20", 0, 0, 20, 20),
    _part("b50", 0, 50, 0, 0),
    _part("t50", 50, 0, 0, 0),
    _part("r50", 0, 0, 0, 50),
    _part("l50", 0, 0, 50, 0),
    _part("q1", 0, 50, 0, 50),
    _part("q2", 0, 50, 50, 0),
    _part("q3", 50, 0, 0, 50),
    _part("q4", 50, 0, 50, 0),
    _part("ml", 15, 15, 0, 50),
    _part("mr", 15, 15, 50, 0),
    _part("tl60", 0, 40, 0, 40),
    _part("tr60", 0, 40, 40, 0),
    _part("bl60", 40, 0, 0, 40),
    _part("br60", 40, 0, 40, 0),
    _part("c20", 20, 20, 20, 20),
    _part("b65", 0, 65, 0, 0),
    _part("t65", 65, 0, 0, 0),
    _part("r65", 0, 0, 0, 65),
    _part("l65", 0, 0, 65, 0),
)
#: Parts of the picture registered for overlays (docs/hashing.md "Variant set"): the top 80%,
#: the four quarters, the middle 70% of the rows in the left and in the right half, and the outer
#: 35% band along each edge. A caption band, a text strip or a few stickers leave at least one of
#: them uncovered. The greedy choice on the tune half (bench/robustness.py --select) took b20, ml,
#: mr, q2 and q3; q1 and q4 were added so that a sticker is met the same way in every corner. The
#: bands came later: stickers over the middle of the picture (where a face or a body is) touch every
#: quarter and both middle parts; the four bands recalled 78 of 80 such copies on the tune half
#: where the first seven parts recalled 66. Corners of 40% x 40% would have recalled as many but are
#: not distinctive: two different photos' corners were 6 bits apart (a flat background), while no
#: two of the 1,353 shared photos have bands closer than 48 bits (the first seven: 46).
REGION_CODES: Final = ("b20", "q1", "q2", "q3", "q4", "ml", "mr", "b65", "t65", "r65", "l65")
REGION_WINDOWS: Final[tuple[RegionWindow, ...]] = tuple(r for r in REGION_CANDIDATES if r.code in REGION_CODES)


#: Shares of a side a found copy is searched at, over every group (see :data:`CROP_GROUPS`).
ALL_KEEPS: Final = tuple(sorted({f for g in CROP_GROUPS for f in g.found_keeps if f <= 1}))
#: How much the shares of the two sides of a copy may differ (share of the side). A crop made by
#: hand or to a feed's frame rarely keeps the aspect ratio: with the same share on both axes only,
#: 10-30% off each axis (the second within 10% of the first) was 70% recalled on held-out photos.
#: Two steps of the share grid (0.06) recalled 49 of 50 tune-half copies; one step (0.03) 38 of 40.
MAX_SKEW: Final = 0.06
#: Offset grid of the skewed windows, in steps of :data:`SEARCH_STEP`: 1.5 steps kept 49 of the
#: 50 copies that 1 step recalled and cut the windows per copy from ~17,000 to ~10,000 (2 steps:
#: 46 of 50). Fewer windows keep the checking side near 150 ms per 12 MP copy (median under it on
#: an idle machine, p95 not: docs/benchmarks/robustness.md).
SKEW_STEP: Final = 1.5


def skewed_pairs(group: CropGroup) -> list[tuple[float, tuple[float, ...]]]:
    """(share of the rows, shares of the columns) searched for a group besides the same share on
    both axes: pairs of different shares at most :data:`MAX_SKEW` apart whose smaller share is
    one of the group's own (a group's crops also fit inside a copy that kept more of a side;
    a smaller share belongs to a smaller group)."""
    home = [f for f in group.found_keeps if f <= 1]
    if not home:
        return []
    out = []
    for f_rows in ALL_KEEPS:
        columns = tuple(
            f for f in ALL_KEEPS if f != f_rows and abs(f - f_rows) <= MAX_SKEW + 1e-9 and min(f, f_rows) in home
        )
        if columns:
            out.append((f_rows, columns))
    return out


def grid(length: int, window: int, low: float, high: float, step: float = SEARCH_STEP) -> list[int]:
    """Pixel offsets from ``low`` to ``high`` (shares of ``length``), at most ``step`` apart."""
    count = max(1, math.ceil((high - low) / step - 1e-9) + 1)
    shares = np.linspace(low, high, count)
    pixels = np.clip(np.round(shares * length).astype(np.int64), 0, max(0, length - window))
    return sorted({int(p) for p in pixels})


def span_grid(
    length: int, window: int, spans: Sequence[tuple[float, float]], step: float = SEARCH_STEP
) -> tuple[int, ...]:
    """:func:`grid` over each of several intervals, merged: the offsets where a registered
    crop can sit, without the gaps between the starts' intervals (see
    :meth:`CropGroup.offset_spans`)."""
    return tuple(sorted({p for low, high in spans for p in grid(length, window, low, high, step)}))


@dataclass(frozen=True, slots=True)
class BoxFamily:
    """Windows ``height`` tall at ``tops``; for each ``(width, lefts)`` of ``columns`` every
    (top, left) combination, all standing for one target code."""

    code: str
    height: int
    tops: tuple[int, ...]
    columns: tuple[tuple[int, tuple[int, ...]], ...]
    #: Windows of a different share on each axis (labelled ``win-k55@~...``, see
    #: :data:`takedown.hashing.pairing.SKEWED_MARK`).
    skewed: bool = False


def box_families(
    height: int,
    width: int,
    groups: Sequence[CropGroup] = CROP_GROUPS,
    regions: Sequence[RegionWindow] = REGION_WINDOWS,
    step: float = SEARCH_STEP,
    skew: bool = True,
) -> Iterator[BoxFamily]:
    """Every box family of a found copy of this size: crop groups (same share, one axis) and
    the overlay regions. Families that share their rows share the costly row products."""
    for group in groups:
        whole_h, whole_w = round(group.keep * height), round(group.keep * width)
        start_tops = tuple(round(p * height) for p in group.starts)
        start_lefts = tuple(round(p * width) for p in group.starts)
        for f in group.found_keeps:
            size = group.keep / f
            h, w = round(size * height), round(size * width)
            if h < MIN_WINDOW or w < MIN_WINDOW:
                continue
            spans = group.offset_spans(f)
            tops, lefts = span_grid(height, h, spans, step), span_grid(width, w, spans, step)
            if not tops or not lefts:
                continue
            if f > 1:
                # A margin around the picture: the same share on both sides only.
                yield BoxFamily(group.code, h, tops, ((w, lefts),))
                continue
            # Same share on both sides, and the width whole (the registered crop's own columns).
            yield BoxFamily(group.code, h, tops, ((w, lefts), (whole_w, start_lefts)))
            # The height whole: the registered crop's own rows.
            yield BoxFamily(group.code, whole_h, start_tops, ((w, lefts),))
        # A different share on each axis: a crop made by hand or to a feed's frame rarely keeps
        # the aspect ratio. Rows of each share, columns of every other share it may pair with.
        for f_rows, f_columns in skewed_pairs(group) if skew else ():
            h = round(group.keep / f_rows * height)
            if h < MIN_WINDOW:
                continue
            columns = []
            for f in f_columns:
                w = round(group.keep / f * width)
                lefts = span_grid(width, w, group.offset_spans(f), step * SKEW_STEP) if w >= MIN_WINDOW else ()
                if lefts:
                    columns.append((w, lefts))
            tops = span_grid(height, h, group.offset_spans(f_rows), step * SKEW_STEP)
            if columns and tops:
                yield BoxFamily(group.code, h, tops, tuple(columns), skewed=True)
    for region in regions:
        top, bottom, left, right = region.removed_percents
        t, b = height * top // 100, height - height * bottom // 100
        lft, rgt = width * left // 100, width - width * right // 100
        if b - t >= MIN_WINDOW and rgt - lft >= MIN_WINDOW:
            yield BoxFamily(region.window_code, b - t, (t,), ((rgt - lft, (lft,)),))


def box_window_hashes(
    rgb: RGBArray,
    quality: int,
    y: FloatArray | BlurredLuma | None = None,
    *,
    groups: Sequence[CropGroup] = CROP_GROUPS,
    regions: Sequence[RegionWindow] = REGION_WINDOWS,
    offset: tuple[int, int] = (0, 0),
    skew: bool = True,
) -> list[Hash]:
    """PDQ of every box window of a found image as :class:`Hash` objects for the matcher.

    The variant names the target and the box in pixels of the reduced copy, e.g.
    ``win-k55@12,30,400,533`` (top, left, height, width; ``@~12,...`` for a skewed window), so
    a reviewer can see which part of the copy matched. ``rgb`` may be a part of the copy (the
    picture inside a screenshot) that starts at ``offset`` (top, left): boxes are still given in
    the whole copy's pixels. ``y`` is its luma, or a :class:`BlurredLuma` shared with the
    rotation windows. Identical boxes of different families are hashed once.
    """
    height, width = rgb.shape[:2]
    blurs = BlurredLuma.of(rgb, y)
    seen: set[str] = set()
    out: list[Hash] = []
    for family in box_families(height, width, groups, regions, skew=skew):
        # PDQ blurs by ceil(side / 128): one blurred picture per blur size, not per family.
        widest = max(w for w, _ in family.columns)
        results = box_windows(blurs.for_window(family.height, widest), family.height, family.tops, family.columns)
        mark = SKEWED_MARK if family.skewed else ""
        # Labels built from per-row and per-column pieces: ~10,000 windows per found image, and
        # formatting each label whole was a sixth of the checking side's time.
        rows = [f"{WINDOW_PREFIX}{family.code}@{mark}{top + offset[0]}," for top in family.tops]
        for (w, lefts), words in zip(family.columns, results, strict=True):
            raw = np.asarray(words, dtype=">u8").tobytes().hex()
            columns = [f"{left + offset[1]},{family.height},{w}" for left in lefts]
            values = [raw[i : i + 64] for i in range(0, len(raw), 64)]
            labels = [row + column for row in rows for column in columns]
            for variant, value in zip(labels, values, strict=True):
                if variant not in seen:
                    seen.add(variant)
                    out.append(Hash("pdq", value, quality, variant))
    return out


def window_hashes(rgb: RGBArray, quality: int) -> list[Hash]:
    """Box windows of the copy as found (kept under this name for callers of the crop search)."""
    return box_window_hashes(rgb, quality)
