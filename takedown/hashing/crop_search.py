"""Checking-side sub-window search: find a registered central crop inside a randomly cropped copy.

PDQ is a global hash: a copy cropped by 10% at a random position is ~40-60 bits away from the
original and from every registered variant, because a 1% shift of the picture content already
moves PDQ by ~15-30 bits. But a copy that lost P% of each side still *contains* the original's
central crop that the survivor registered (``crop-c20`` = the central 80%, ``crop-c10`` = the
central 90%), only at an unknown position. So the server, which may spend more time per found
image, hashes every window of the right relative size on a grid of offsets and compares each
window only with the registered variant it stands for.

Measured (bench/crop_search.py, docs/benchmarks/crop-search.md): PDQ of the best window on a 1%
grid is within ~15 bits of the registered crop (a 1.5% grid already loses 10-20% of the
matches), so the grid step is 1% of the found image.

Hashing hundreds of windows with the C++ binding would cost ~3 ms each, so this module computes
PDQ of all windows at once with the algebra of PDQ itself, bit-identical to ``pdqhash.compute``
on the window array (up to float rounding at the median): PDQ's two box-filter passes per axis
(Jarosz filter), its 64-point decimation and its 16x64 DCT are all linear, and the row and
column operators commute, so the 16x16 DCT of a window ``Y[a:a+h, b:b+w]`` of the luma is
``L @ Y[a:a+h, b:b+w] @ R.T`` with fixed ``L`` (16 x h) and ``R`` (16 x w). ``L @ Y`` is
shared by all windows with the same top row, so the grid costs two small products per offset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from takedown.hashing.bits import WordArray
from takedown.hashing.hashes import Hash
from takedown.hashing.image import RGBArray

FloatArray = npt.NDArray[np.float64]

#: PDQ's luma weights (Meta's pdqhashing.cpp, ``LUMA_FROM_*_COEFF``).
LUMA: Final = (0.299, 0.587, 0.114)
#: Grid step, as a share of the found image's height / width. Measured: 1% keeps every crop 5%
#: and crop 10% copy of the study within the PDQ threshold; 1.5% loses 10-20% of them.
SEARCH_STEP: Final = 0.01
#: Prefix of the variant label of a window hash; ``best_match`` pairs such a hash only with the
#: registered variant named in its label. Short on purpose: takedown.matching stores the found
#: variant in a 32-character column.
WINDOW_PREFIX: Final = "win-"


@dataclass(frozen=True, slots=True)
class WindowFamily:
    """Windows of one relative size that stand for one registered central crop.

    A copy cropped by ``crop_percent`` of each dimension (at any position) contains the
    registered ``registered`` variant (the central ``keep_percent`` of the original) as a window
    of ``keep/(100 - crop)`` of its size, at an offset between 0 and ``crop / (100 - crop)``
    minus the registered margin on each axis.
    """

    registered: str
    keep_percent: int
    crop_percent: int

    @property
    def size(self) -> float:
        """Window side / found side."""
        return self.keep_percent / (100 - self.crop_percent)

    @property
    def offset_range(self) -> tuple[float, float]:
        """Smallest and largest offset of the registered crop inside the found copy (share)."""
        margin = (100 - self.keep_percent) / 2
        low = max(0.0, margin - self.crop_percent) / (100 - self.crop_percent)
        high = margin / (100 - self.crop_percent)
        return low, high

    @property
    def label(self) -> str:
        """``win-c20`` for windows standing for ``crop-c20`` (one family per registered crop)."""
        return WINDOW_PREFIX + self.registered.removeprefix("crop-")


#: The searched families: crop 10% copies against crop-c20, crop 5% copies against crop-c10
#: (a smaller offset range, so fewer windows than crop-c20 would need for the same copies).
CROP_SEARCH: Final[tuple[WindowFamily, ...]] = (
    WindowFamily("crop-c20", 80, 10),
    WindowFamily("crop-c10", 90, 5),
)


def luma(rgb: RGBArray) -> FloatArray:
    """PDQ's luminance, in float64 (pdqhash uses float32; the difference is below a bit)."""
    arr = rgb.astype(np.float64)
    out: FloatArray = arr[..., 0] * LUMA[0] + arr[..., 1] * LUMA[1] + arr[..., 2] * LUMA[2]
    return out


def _box_matrix(n: int, window: int) -> FloatArray:
    """PDQ's ``box1DFloat`` as an n x n matrix: a centred mean that shrinks at the edges."""
    half = (window + 2) // 2
    idx = np.arange(n)
    low = np.clip(idx - (window - half), 0, n - 1)
    high = np.clip(idx + half - 1, 0, n - 1)
    inside = (idx[np.newaxis, :] >= low[:, np.newaxis]) & (idx[np.newaxis, :] <= high[:, np.newaxis])
    m = inside.astype(np.float64)
    out: FloatArray = m / m.sum(axis=1, keepdims=True)
    return out


@lru_cache(maxsize=64)
def pdq_side_matrix(n: int) -> FloatArray:
    """The 16 x n operator PDQ applies along one axis of length n: two box-filter passes of
    window ceil(n / 128), sampling at ``int((i + 0.5) * n / 64)`` and the DCT rows 1..16."""
    box = _box_matrix(n, (n + 127) // 128)
    sample = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    i = np.arange(16)[:, np.newaxis]
    j = np.arange(64)[np.newaxis, :]
    dct = math.sqrt(2 / 64) * np.cos(math.pi / 2 / 64 * (i + 1) * (2 * j + 1))
    out: FloatArray = dct @ (box @ box)[sample]
    out.setflags(write=False)
    return out


def pdq_window_coefficients(
    y: FloatArray, height: int, width: int, tops: Sequence[int], lefts: Sequence[int]
) -> FloatArray:
    """PDQ's 16x16 DCT of every window ``y[t:t+height, l:l+width]``: shape (tops, lefts, 16, 16).

    One (16 x height) product per top offset, then one (16 tops x width) product per left offset.
    The shapes are (n_top * 16, W) after the first step, (n_left, n_top * 16, 16) after the second.
    """
    left_op = pdq_side_matrix(height)
    right_op = pdq_side_matrix(width)
    # np.einsum's own loops, not BLAS: OpenBLAS spreads each product over every core, and on a
    # busy server that was 10-60x slower (median 980 ms instead of 15 ms per image, measured).
    rows = np.concatenate([np.einsum("kh,hw->kw", left_op, y[top : top + height]) for top in tops])
    cols = np.stack([np.einsum("kw,lw->kl", rows[:, left : left + width], right_op) for left in lefts])
    out: FloatArray = cols.reshape(len(lefts), len(tops), 16, 16).transpose(1, 0, 2, 3)
    return out


def coefficients_to_words(coefficients: FloatArray) -> WordArray:
    """Threshold 16x16 DCTs at their median like PDQ; pack as (…, 4) big-endian-order uint64
    words in the bit order of :func:`takedown.hashing.bits.hex_to_words` (Meta's hex order)."""
    flat = coefficients.reshape(*coefficients.shape[:-2], 256)
    bits = (flat > np.median(flat, axis=-1, keepdims=True))[..., ::-1]
    packed = np.packbits(bits, axis=-1)
    words: WordArray = packed.view(">u8").astype(np.uint64)
    return words


def grid(length: int, window: int, low: float, high: float, step: float = SEARCH_STEP) -> list[int]:
    """Pixel offsets from ``low`` to ``high`` (shares of ``length``), at most ``step`` apart."""
    count = max(1, math.ceil((high - low) / step - 1e-9) + 1)
    shares = np.linspace(low, high, count)
    pixels = np.clip(np.round(shares * length).astype(np.int64), 0, length - window)
    return sorted({int(p) for p in pixels})


@dataclass(frozen=True, slots=True)
class WindowHashes:
    """PDQ words of every window of one family, with the window boxes (top, left, h, w)."""

    family: WindowFamily
    words: WordArray
    boxes: list[tuple[int, int, int, int]]


def search_windows(
    rgb: RGBArray, families: Sequence[WindowFamily] = CROP_SEARCH, step: float = SEARCH_STEP
) -> list[WindowHashes]:
    """PDQ of every search window of every family over a found image (vectorised)."""
    y = luma(rgb)
    full_h, full_w = y.shape
    out: list[WindowHashes] = []
    for family in families:
        height, width = round(family.size * full_h), round(family.size * full_w)
        if height < 16 or width < 16:
            continue
        low, high = family.offset_range
        tops = grid(full_h, height, low, high, step)
        lefts = grid(full_w, width, low, high, step)
        words = coefficients_to_words(pdq_window_coefficients(y, height, width, tops, lefts))
        boxes = [(t, lft, height, width) for t in tops for lft in lefts]
        out.append(WindowHashes(family, words.reshape(-1, 4), boxes))
    return out


def window_hashes(rgb: RGBArray, quality: int) -> list[Hash]:
    """Search windows as PDQ :class:`Hash` objects for the matcher.

    Windows inherit the quality of the whole view (they cover 85-95% of it, and computing PDQ's
    image-domain quality per window would double the cost). The variant label names the
    registered variant a window may be compared with and the window box, e.g.
    ``win-c20@12,30,400,533`` (top, left, height, width in pixels of the reduced found image),
    so a reviewer can see which part of the copy matched.
    """
    out: list[Hash] = []
    for family_windows in search_windows(rgb):
        raw = np.asarray(family_windows.words, dtype=">u8").tobytes().hex()
        for i, (top, left, height, width) in enumerate(family_windows.boxes):
            variant = f"{family_windows.family.label}@{top},{left},{height},{width}"
            out.append(Hash("pdq", raw[64 * i : 64 * (i + 1)], quality, variant))
    return out


def window_target(found_variant: str) -> str | None:
    """The registered variant a window hash may be compared with (None for other hashes)."""
    if not found_variant.startswith(WINDOW_PREFIX):
        return None
    for family in CROP_SEARCH:
        if found_variant.startswith(family.label + "@"):
            return family.registered
    return None
