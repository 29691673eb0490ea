"""Checking side: find the picture inside a screenshot by its straight edges.

:func:`takedown.hashing.variants.content_boxes` finds the picture as the largest block of
non-background rows and columns. That fails when something that is not background touches the
picture on its rows or columns: a shape on a desktop wallpaper beside a window, a grid of tiles
larger than a portrait picture, a wallpaper whose colour ramp is too steep to look flat. What
such screenshots still have is the picture's own frame: four straight edges, two horizontal ones
of the same extent and two vertical ones joining them, where the picture meets something else.

This module looks for that frame on the reduced copy:

1. edge maps of the luma: a step of at least :data:`EDGE_STEP` levels between neighbouring
   rows (horizontal edges) or columns (vertical edges);
2. horizontal segments: for each row boundary, the runs of edge pixels, with gaps shorter than
   :data:`GAP` of the width bridged, at least :data:`MIN_SIDE` of the width long;
3. rectangles: two segments of about the same extent (ends within :data:`END_SLACK` of the width)
   whose columns at both ends carry vertical edges over at least :data:`SUPPORT` of the rows
   between them;
4. the rectangles kept are the largest whose sides all stand away from the copy's own edges, at
   most :data:`MAX_RECTS`, each returned as ``(top, bottom, left, right)`` in pixels of the copy
   (the first row and column of the picture, and one past the last).

Everything a photograph holds inside itself (a horizon, a door frame) rarely makes two segments of
equal extent joined by two vertical edges; and a wrong rectangle costs only a few more windows,
each compared with what it stands for under the pairing rule (:mod:`takedown.hashing.pairing`).
Server-side only: nothing here is registered, so it need not match the browser.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from takedown.hashing.image import RGBArray
from takedown.hashing.window_pdq import FloatArray, luma

Box = tuple[int, int, int, int]

#: A step of this many luma levels between neighbouring pixels is an edge (a photo against a page,
#: a window frame); JPEG ringing on a flat page stays below it.
EDGE_STEP: Final = 10.0
#: Gaps in a segment shorter than this share of the side are bridged (a dark photo edge against a
#: dark frame loses the step for a stretch).
GAP: Final = 0.04
#: A side of the rectangle is at least this share of the copy's side.
MIN_SIDE: Final = 0.15
#: Ends of the top and bottom segments may differ by this share of the width.
END_SLACK: Final = 0.02
#: Share of the rows between the two segments that must carry a vertical edge at each end.
SUPPORT: Final = 0.6
#: Segments paired at most (the pairing is quadratic; a page has a few dozen).
MAX_SEGMENTS: Final = 120
#: Rectangles returned, largest first.
MAX_RECTS: Final = 3
#: Two rectangles overlapping by more than this (intersection over union) are one: a window frame
#: and the picture inside it differ by a title bar, about 5-8% of the area, and both are kept.
SAME_RECT: Final = 0.97
#: A rectangle must not cover more than this share of the copy's area (that is the copy itself).
MAX_AREA: Final = 0.92


def _runs(line: npt.NDArray[np.bool_], min_len: int, gap: int) -> list[tuple[int, int]]:
    """Runs of True in ``line`` (end exclusive), bridging gaps shorter than ``gap``."""
    idx = np.flatnonzero(line)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_len]


def picture_rects(rgb: RGBArray, y: FloatArray | None = None) -> list[Box]:
    """The largest framed rectangles of a screenshot (see the module docstring); [] for most
    photos, which have no such frame inside them. ``y``: the copy's luma, when the caller has
    it already (the window search uses the same)."""
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return []
    if y is None:
        y = luma(rgb)
    # Edge between row r and r + 1 (index r), and between column c and c + 1.
    horizontal = np.abs(np.diff(y, axis=0)) >= EDGE_STEP
    vertical = np.abs(np.diff(y, axis=1)) >= EDGE_STEP
    min_w, min_h = max(8, round(MIN_SIDE * width)), max(8, round(MIN_SIDE * height))
    gap_w = max(2, round(GAP * width))
    segments: list[tuple[int, int, int]] = []  # (row boundary, left, right)
    rows_with_edges = np.flatnonzero(horizontal.sum(axis=1) >= min_w * (1 - GAP))
    for r in rows_with_edges:
        for left, right in _runs(horizontal[r], min_w, gap_w):
            segments.append((int(r), left, right))
    if len(segments) > MAX_SEGMENTS:
        # A busy photo, not a page: keep the longest segments (a frame's edges are long).
        segments = sorted(sorted(segments, key=lambda s: s[1] - s[2])[:MAX_SEGMENTS])
    slack = max(2, round(END_SLACK * width))
    # Cumulative vertical edges per column, to count support between two rows at once.
    cumulative = np.vstack([np.zeros((1, width - 1), np.int32), np.cumsum(vertical, axis=0, dtype=np.int32)])
    found: list[tuple[int, Box]] = []
    for i, (top_r, top_l, top_rt) in enumerate(segments):
        for bottom_r, bottom_l, bottom_rt in segments[i + 1 :]:
            if bottom_r - top_r < min_h or abs(bottom_l - top_l) > slack or abs(bottom_rt - top_rt) > slack:
                continue
            left, right = max(top_l, bottom_l), min(top_rt, bottom_rt)
            if right - left < min_w:
                continue
            span = bottom_r - top_r
            if not (
                _supported(cumulative, top_r, bottom_r, left, span)
                and _supported(cumulative, top_r, bottom_r, right, span)
            ):
                continue
            # The picture starts on the row after the top edge and ends on the bottom edge's row.
            box = (top_r + 1, bottom_r + 1, left, right)
            if not _inside(box, height, width):
                continue
            area = (box[1] - box[0]) * (box[3] - box[2])
            if area <= MAX_AREA * height * width:
                found.append((area, box))
    found.sort(key=lambda item: -item[0])
    out: list[Box] = []
    for _area, box in found:
        if all(_iou(box, other) < SAME_RECT for other in out):
            out.append(box)
        if len(out) == MAX_RECTS:
            break
    return out


def _supported(cumulative: npt.NDArray[np.int32], top: int, bottom: int, column: int, span: int) -> bool:
    """Whether the column boundary at ``column`` (or one beside it) carries vertical edges over
    :data:`SUPPORT` of the rows between the two segments."""
    last = cumulative.shape[1] - 1
    best = 0
    for c in (column - 2, column - 1, column, column + 1):
        if 0 <= c <= last:
            best = max(best, int(cumulative[bottom + 1, c] - cumulative[top + 1, c]))
    return best >= SUPPORT * span


def _inside(box: Box, height: int, width: int) -> bool:
    """Whether every side of the box is away from the copy's own edges. A side on the copy's
    edge has no frame to show (its "support" is only the photo's texture near the edge): such
    boxes were 10 of 24 Kodak photos' rectangles, and a picture that reaches the copy's edge
    is the block search's and the trimmed view's to find."""
    top, bottom, left, right = box
    slack_h, slack_w = max(2, round(END_SLACK * height)), max(2, round(END_SLACK * width))
    return top >= slack_h and bottom <= height - slack_h and left >= slack_w and right <= width - slack_w


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes: two rectangles this alike are one found twice."""
    top, bottom = max(a[0], b[0]), min(a[1], b[1])
    left, right = max(a[2], b[2]), min(a[3], b[3])
    inter = max(0, bottom - top) * max(0, right - left)
    union = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / union if union else 0.0
