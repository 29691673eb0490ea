"""PDQ of many windows of one found picture at once (checking side only, never registered).

The checking side looks for a registered variant (a central crop, a part above a caption band,
the picture before a rotation) *inside* a found copy, so it hashes hundreds of windows of one
picture: axis-aligned boxes (crops) and rotated rectangles (rotations undone). Running
``pdqhash.compute`` on each would cost ~2-3 ms per window. PDQ itself is a blur, a 64 x 64
decimation and a 16 x 64 DCT on each axis, all linear, so this module computes it for every
window from one shared blurred luma:

1. luma with PDQ's weights; PDQ's Jarosz filter (two box passes per axis, window
   ``ceil(side / 128)``) for the window size, applied once to the whole picture;
2. 64 x 64 samples per window: PDQ's own sample positions ``int((i + 0.5) * side / 64)`` for
   axis-aligned boxes (shared rows: one 16 x 64 product per top offset), bilinear samples of the
   rotated grid for rotated rectangles;
3. ``D @ samples @ D.T`` with PDQ's 16 x 64 DCT matrix, bits = coefficient > median, in Meta's
   bit order (:func:`takedown.hashing.crop_search.coefficients_to_words`).

Measured against ``pdqhash.compute`` on the same box (60 photos, central 80% and 60%): median 4
bits apart, at most 16; the box filter runs over the window's edge into the picture instead of
shrinking there, and rotated grids interpolate. That is well inside the match threshold of 31 and
the windows are never registered, so nothing has to be bit-exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d

from takedown.hashing.bits import WordArray
from takedown.hashing.image import RGBArray

FloatArray = npt.NDArray[np.float32]

#: PDQ's 16 x 64 DCT-II rows 1..16 (Meta's pdqhashing.cpp ``buffer16x64``), float32.
_I = np.arange(16)[:, np.newaxis]
_J = np.arange(64)[np.newaxis, :]
DCT16: Final = (math.sqrt(2 / 64) * np.cos(math.pi / 128 * (_I + 1) * (2 * _J + 1))).astype(np.float32)
DCT16.setflags(write=False)
#: Columns per BLAS product (see :func:`box_windows`).
ROW_CHUNK: Final = 256
#: PDQ's sample index offsets of a side of length n: ``int((i + 0.5) * n / 64)``.
_HALF_STEPS: Final = np.arange(64) + 0.5


def luma(rgb: RGBArray) -> FloatArray:
    """PDQ's luminance (0.299 R + 0.587 G + 0.114 B), float32."""
    arr = rgb.astype(np.float32)
    out: FloatArray = (
        arr[..., 0] * np.float32(0.299) + arr[..., 1] * np.float32(0.587) + arr[..., 2] * np.float32(0.114)
    )
    return out


def box_filter(y: FloatArray, window: int, axis: int) -> FloatArray:
    """PDQ's ``box1DFloat`` along one axis: the mean over [i - (window - half), i + half - 1],
    half = (window + 2) // 2, so an even window leans forward as in PDQ (scipy's origin -1).

    At the picture's edges PDQ averages the part of the window inside the picture; this repeats
    the edge pixel instead (scipy's ``nearest``), which moves a window's hash by a bit or two.
    """
    if window <= 1:
        return y
    out: FloatArray = uniform_filter1d(y, window, axis=axis, mode="nearest", origin=-1 if window % 2 == 0 else 0)
    return out


def blur_size(window_height: float, window_width: float) -> tuple[int, int]:
    """PDQ's box-filter widths (rows, columns) for a window of this size: ceil(side / 128).
    Windows with the same blur size share one blurred picture."""
    return max(1, math.ceil(window_height / 128)), max(1, math.ceil(window_width / 128))


def blurred_luma(y: FloatArray, window_height: float, window_width: float) -> FloatArray:
    """The luma blurred the way PDQ blurs a window of about this size (two passes per axis)."""
    k_rows, k_cols = blur_size(window_height, window_width)
    out = y
    for _ in range(2):
        out = box_filter(box_filter(out, k_rows, 0), k_cols, 1)
    return out


class BlurredLuma:
    """One picture's luma, blurred for windows of each size on demand, each blur computed once.

    The box windows and the rotation windows of a found image ask for the same few blur sizes
    (on a 12 MP photo, 4 of its 10 blurs were repeats); sharing one of these between them saves
    the repeats. The blurs are the ones :func:`blurred_luma` makes, bit for bit.
    """

    def __init__(self, y: FloatArray) -> None:
        self.y = y
        self._by_size: dict[tuple[int, int], FloatArray] = {}

    @classmethod
    def of(cls, rgb: RGBArray, y: FloatArray | BlurredLuma | None) -> BlurredLuma:
        """The shared blurs given, or new ones of ``y`` (the luma of ``rgb``, made if not given)."""
        return y if isinstance(y, BlurredLuma) else cls(luma(rgb) if y is None else y)

    def for_window(self, window_height: float, window_width: float) -> FloatArray:
        key = blur_size(window_height, window_width)
        if key not in self._by_size:
            self._by_size[key] = blurred_luma(self.y, window_height, window_width)
        return self._by_size[key]


def coefficients_to_words(coefficients: npt.NDArray[np.floating]) -> WordArray:
    """Threshold 16x16 DCTs at their median like PDQ; pack as (..., 4) uint64 words in the bit
    order of :func:`takedown.hashing.bits.hex_to_words` (Meta's hex order).

    PDQ's Torben median of 256 values is the 128th smallest; ``value > that`` sets the same bits
    as ``value > mean of the two middle values`` (no value lies strictly between them), and one
    partition finds it.
    """
    flat = coefficients.reshape(*coefficients.shape[:-2], 256)
    median = np.partition(flat, 127, axis=-1)[..., 127:128]
    bits = (flat > median)[..., ::-1]
    packed = np.packbits(bits, axis=-1)
    words: WordArray = packed.view(">u8").astype(np.uint64)
    return words


def box_windows(
    blurred: FloatArray, height: int, tops: Sequence[int], columns: Sequence[tuple[int, Sequence[int]]]
) -> list[WordArray]:
    """PDQ words of boxes ``[top, top + height) x [left, left + width)``: for each
    ``(width, lefts)`` of ``columns``, every (top, left) combination (tops outer), as an array
    of shape (len(tops) * len(lefts), 4).

    Rows are sampled once per top (one 16 x 64 by 64 x W product, shared by every column
    spec); each left then gathers 64 columns of that 16 x W result (a 16 x 64 by 64 x 16
    product): a grid of a thousand windows costs a few milliseconds instead of a PDQ each.
    """
    rows_rel = (_HALF_STEPS * height / 64).astype(np.intp)
    top_arr = np.asarray(tops, dtype=np.intp)
    sampled_rows = blurred[top_arr[:, np.newaxis] + rows_rel[np.newaxis, :]]  # (nt, 64, W)
    partial = np.empty((len(top_arr), 16, sampled_rows.shape[2]), dtype=np.float32)
    # One BLAS product per top and per ROW_CHUNK columns: OpenBLAS runs a product of at most
    # 65536 * 4 multiply-adds on the calling thread (16 x 64 x 256 is exactly that). Larger ones
    # it spreads over every core, which on a busy server was 10-60x slower (docs/hashing.md).
    for start in range(0, sampled_rows.shape[2], ROW_CHUNK):
        partial[:, :, start : start + ROW_CHUNK] = np.matmul(DCT16, sampled_rows[:, :, start : start + ROW_CHUNK])
    out: list[WordArray] = []
    for width, lefts in columns:
        cols_rel = (_HALF_STEPS * width / 64).astype(np.intp)
        left_arr = np.asarray(lefts, dtype=np.intp)
        gathered = partial[:, :, left_arr[:, np.newaxis] + cols_rel[np.newaxis, :]]  # (nt, 16, nl, 64)
        # 16 x 64 by 64 x 16 per window: small enough that BLAS runs it on one thread.
        coefficients = np.matmul(gathered.transpose(0, 2, 1, 3), DCT16.T)  # (nt, nl, 16, 16)
        out.append(coefficients_to_words(coefficients).reshape(-1, 4))
    return out


def rotated_windows(blurred: FloatArray, windows: Sequence[tuple[float, float, float, float, float]]) -> WordArray:
    """PDQ words of rotated rectangles ``(centre_x, centre_y, width, height, degrees)``.

    Coordinates are in pixels of ``blurred`` with (0, 0) at the top-left corner of the top-left
    pixel; ``degrees`` turns the rectangle counter-clockwise as seen on screen, the way
    ``PIL.Image.rotate`` turns a picture. Each window is resampled to 64 x 64 bilinearly at the
    centres of the 64 x 64 grid (PDQ's own sample points up to rounding), outside the picture 0.

    OpenCV's ``warpAffine`` does the resampling, in a quarter of the time Pillow's affine
    ``transform`` (the first implementation) took: Pillow made a new image and a copy per window.
    The words are Pillow's but for a rare bit or two (OpenCV rounds bilinear weights to 1/32 of a
    pixel): docs/benchmarks/rotation-sampling.md, from bench/rotation_sampling.py.
    """
    if not windows:
        return np.zeros((0, 4), dtype=np.uint64)
    source = np.ascontiguousarray(blurred, dtype=np.float32)
    samples = np.empty((len(windows), 64, 64), dtype=np.float32)
    for i, (cx, cy, w, h, degrees) in enumerate(windows):
        t = math.radians(degrees)
        c, s = math.cos(t), math.sin(t)
        # Output pixel (x, y) samples the picture at centre + u * (c, -s) + v * (s, c), where u, v
        # run over the window's width and height. The matrix maps output pixel *indices* to input
        # pixel indices: the output pixel's centre is (x + 0.5, y + 0.5) and an input pixel's
        # centre sits at its index + 0.5, hence the half-pixel terms.
        a, b, d, e = c * w / 64, s * h / 64, -s * w / 64, c * h / 64
        matrix = np.array(
            [
                [a, b, cx - (c * w + s * h) / 2 + (a + b) / 2 - 0.5],
                [d, e, cy + (s * w - c * h) / 2 + (d + e) / 2 - 0.5],
            ]
        )
        # Written in place: samples[i] is a C-contiguous 64 x 64 float32 view, exactly what
        # warpAffine makes, so it fills it instead of allocating (the test against Pillow would
        # see the uninitialised memory if it ever did not).
        cv2.warpAffine(
            source,
            matrix,
            (64, 64),
            dst=samples[i],
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    partial = np.matmul(DCT16, samples)
    coefficients = np.matmul(partial, DCT16.T)
    return coefficients_to_words(coefficients).reshape(-1, 4)
