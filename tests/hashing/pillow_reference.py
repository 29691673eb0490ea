"""The first implementation of ``window_pdq.rotated_windows``, kept as the reference the shipped one
is held to (test_crop_search.py) and timed against (bench/rotation_sampling.py): Pillow's bilinear
affine transform, one new image per window."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from takedown.hashing.bits import WordArray
from takedown.hashing.window_pdq import DCT16, FloatArray, coefficients_to_words

#: A rotated window: centre x, centre y, width, height, degrees (``rotated_windows``' argument).
RotatedWindow = tuple[float, float, float, float, float]


def pillow_rotated_windows(blurred: FloatArray, windows: Sequence[RotatedWindow]) -> WordArray:
    """PDQ words of rotated windows, resampled by ``PIL.Image.transform`` (AFFINE, BILINEAR)."""
    image = Image.fromarray(np.ascontiguousarray(blurred, dtype=np.float32), mode="F")
    samples = np.empty((len(windows), 64, 64), dtype=np.float32)
    for i, (cx, cy, w, h, degrees) in enumerate(windows):
        c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        matrix = (c * w / 64, s * h / 64, cx - (c * w + s * h) / 2, -s * w / 64, c * h / 64, cy + (s * w - c * h) / 2)
        samples[i] = np.asarray(
            image.transform((64, 64), Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR)
        )
    words: WordArray = coefficients_to_words(np.matmul(np.matmul(DCT16, samples), DCT16.T)).reshape(-1, 4)
    return words
