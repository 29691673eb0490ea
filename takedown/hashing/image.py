"""Canonical image preprocessing and the three perceptual image hashes.

The survivor's device (CLI or browser) and the service must turn the same picture into the same
hashes, so there is exactly ONE way from file bytes to the array that is hashed. It is written
down in ``docs/hashing.md`` (the JavaScript port reproduces it bit-exactly on arrays); this module
is the reference implementation:

1. decode (HEIC/AVIF too), refuse oversize files and images, apply EXIF orientation;
2. convert every PIL mode to RGB, compositing alpha over white with integer rounding;
3. shrink by an integer box average to a working size (JPEG: libjpeg DCT scaling instead);
4. hash the reduced uint8 RGB array with pdqhash, imagehash.phash and imagehash.dhash.
"""

from __future__ import annotations

import io
import math
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import imagehash
import numpy as np
import numpy.typing as npt
import pdqhash
import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps
from PIL.JpegImagePlugin import JpegImageFile

from takedown.hashing.bits import bits_to_hex
from takedown.hashing.errors import (
    FileTooLargeError,
    HashingError,
    ImageTooLargeError,
    UnreadableMediaError,
)
from takedown.hashing.hashes import ORIGINAL, Hash

pillow_heif.register_heif_opener()

RGBArray = npt.NDArray[np.uint8]

#: Refuse images that declare more pixels than this (decompression-bomb guard). 100 MP is
#: above any phone camera (200 MP sensors bin to 12-50 MP) and keeps a decode under ~400 MB.
MAX_PIXELS: Final = 100_000_000
#: Refuse image files larger than this before decoding anything.
MAX_IMAGE_BYTES: Final = 64 * 1024 * 1024
#: The working size: the largest k in WORKING_FACTORS with min(H, W) / k >= WORKING_MIN_SIDE.
WORKING_MIN_SIDE: Final = 256
WORKING_FACTORS: Final = (8, 4, 2, 1)
#: Alpha is composited over this colour: white, like a browser page behind a transparent PNG.
BACKGROUND: Final = 255

_ALPHA_MODES: Final = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
_SIXTEEN_BIT_MODES: Final = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def read_bytes(source: bytes | str | os.PathLike[str], max_bytes: int) -> bytes:
    """Read a file (or take bytes) after checking its size, so a huge file is never loaded."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise FileTooLargeError(f"file is {len(data):,} bytes; the limit is {max_bytes:,}")
        return data
    try:
        size = os.stat(source).st_size
        if size > max_bytes:
            raise FileTooLargeError(f"file is {size:,} bytes; the limit is {max_bytes:,}")
        with open(source, "rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableMediaError(f"cannot read file: {exc.strerror or exc}") from exc


_STRICT_LOCK = threading.RLock()


@contextmanager
def strict_decoding() -> Iterator[None]:
    """Decode with truncated images refused, whatever another library set process-wide.

    Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` is a global, and WeasyPrint (which renders the
    notices' PDFs in the same processes) sets it to True when imported. Hashing a truncated file
    as if it were whole would register or match a picture that is partly grey, so decoding here
    always runs with the flag off; the lock keeps threads from seeing each other's setting.
    """
    with _STRICT_LOCK:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open image bytes lazily, refusing bombs from the header before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # Our own limit (checked below) is the one that counts; Pillow's warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError("image declares more pixels than Pillow allows (possible decompression bomb)") from exc
    except Exception as exc:
        raise UnreadableMediaError(f"not a readable image ({type(exc).__name__})") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise UnreadableMediaError("image has no pixels")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image declares {width}x{height} = {width * height:,} pixels; "
            f"the limit is {max_pixels:,} (possible decompression bomb)"
        )
    return im


def is_animated(im: Image.Image) -> bool:
    """True for multi-frame GIF, WebP and APNG, which are hashed like video.

    Multi-picture JPEG (MPO, common from phones) also reports several frames, but its extra
    frames are previews or depth maps, not motion, so it is hashed as a still image.
    """
    return im.format in {"GIF", "WEBP", "PNG"} and getattr(im, "n_frames", 1) > 1


def working_factor(height: int, width: int) -> int:
    """The block size k of the working-size reduction (see module docstring, step 3)."""
    short = min(height, width)
    for k in WORKING_FACTORS:
        if short / k >= WORKING_MIN_SIDE:
            return k
    return 1


def rgba_to_rgb(arr: npt.NDArray[np.uint8]) -> RGBArray:
    """Composite an (H, W, 4) uint8 RGBA array over white.

    out = (c * a + 255 * (255 - a) + 127) // 255 per channel: exact integers, so JavaScript
    (which gets RGBA from a canvas) produces the same bytes.
    """
    if arr.ndim != 3 or arr.shape[2] != 4 or arr.dtype != np.uint8:
        raise ValueError("expected an (H, W, 4) uint8 array")
    colour = arr[:, :, :3].astype(np.uint32)
    alpha = arr[:, :, 3:4].astype(np.uint32)
    out = (colour * alpha + BACKGROUND * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def reduce_for_hashing(rgb: RGBArray) -> RGBArray:
    """Box-average k x k blocks down to the working size (k from :func:`working_factor`).

    out = (sum of the k*k values + (k*k)//2) // (k*k); trailing rows and columns that do not
    fill a block are dropped. Hashes downscale again internally, so this loses nothing they use,
    and hashing a ~300-600 px array instead of 12 MP is what makes hashing fast.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an (H, W, 3) uint8 array")
    height, width = rgb.shape[:2]
    k = working_factor(height, width)
    if k == 1:
        return np.ascontiguousarray(rgb)
    out_h, out_w = height // k, width // k
    blocks = rgb[: out_h * k, : out_w * k].reshape(out_h, k, out_w, k, 3)
    sums = blocks.sum(axis=(1, 3), dtype=np.uint32)
    reduced: RGBArray = ((sums + (k * k) // 2) // (k * k)).astype(np.uint8)
    return reduced


def _sixteen_bit_to_l(arr: npt.NDArray[np.generic]) -> RGBArray:
    """I and I;16 modes hold 16-bit samples (16-bit PNG/TIFF): scale 0..65535 to 0..255."""
    values = np.clip(arr.astype(np.int64), 0, 65535)
    return ((values * 255 + 32767) // 65535).astype(np.uint8)


def _float_to_l(arr: npt.NDArray[np.generic]) -> RGBArray:
    """F mode uses Pillow's 0..255 convention: clip, round half up, NaN becomes 0."""
    values = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    return np.floor(np.clip(values, 0.0, 255.0) + 0.5).astype(np.uint8)


def _lab_to_rgb(im: Image.Image) -> Image.Image:
    """Pillow's plain convert() copies LAB bytes as if they were RGB; use LittleCMS instead."""
    transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
    converted = ImageCms.applyTransform(im, transform)
    if converted is None:  # pragma: no cover - only when inPlace=True
        raise UnreadableMediaError("LAB image could not be converted")
    return converted


def pil_to_rgb(im: Image.Image) -> RGBArray:
    """Convert a decoded PIL image of any mode to an (H, W, 3) uint8 RGB array, canonically."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        grey = np.asarray(im)
        lum = _float_to_l(grey) if mode == "F" else _sixteen_bit_to_l(grey)
        return np.repeat(lum[:, :, np.newaxis], 3, axis=2)
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("LA").convert("RGBA") if mode == "La" else im.convert("RGBA")
        return rgba_to_rgb(np.asarray(rgba, dtype=np.uint8))
    if mode == "LAB":
        return np.asarray(_lab_to_rgb(im), dtype=np.uint8)
    # 1, L, P, CMYK, YCbCr, HSV, RGBX: Pillow's integer conversions (formulas in docs/hashing.md).
    try:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except ValueError as exc:
        raise UnreadableMediaError(f"unsupported image mode {mode!r}") from exc


def _decode(im: Image.Image, fast_path: bool) -> RGBArray:
    width, height = im.size
    k = working_factor(height, width)
    drafted = False
    if fast_path and k > 1 and isinstance(im, JpegImageFile):
        want = (math.ceil(width / k), math.ceil(height / k))
        im.draft("RGB", want)
        drafted = im.size == want
        if not drafted:
            raise _DraftMismatch
    im.load()
    ImageOps.exif_transpose(im, in_place=True)
    rgb = pil_to_rgb(im)
    if not drafted:
        return reduce_for_hashing(rgb)
    # DCT scaling gave ceil(dim / k) in the stored orientation; keep the floor-sized top-left
    # part of the oriented image, the same extent the exact box path produces.
    upright = rgb.shape[:2] == (math.ceil(height / k), math.ceil(width / k))
    oriented_h, oriented_w = (height, width) if upright else (width, height)
    return np.ascontiguousarray(rgb[: oriented_h // k, : oriented_w // k])


class _DraftMismatch(Exception):
    """libjpeg picked another scale than asked; decode again the exact way."""


def load_rgb(
    source: bytes | str | os.PathLike[str],
    *,
    fast_path: bool = True,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> RGBArray:
    """Decode, orient, convert and reduce an image file: the array that gets hashed.

    For an animated image this is its first frame (use :mod:`takedown.hashing.video` for all).
    ``fast_path=False`` forces the exact box-average path for JPEG (used to measure the fast
    path's effect). Raises a :class:`HashingError` subclass for every bad input.
    """
    data = read_bytes(source, max_bytes)
    try:
        return _load_from_bytes(data, fast_path, max_pixels)
    except _DraftMismatch:
        return _load_from_bytes(data, False, max_pixels)


def _load_from_bytes(data: bytes, fast_path: bool, max_pixels: int) -> RGBArray:
    im = open_image(data, max_pixels)
    try:
        with warnings.catch_warnings(), strict_decoding():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _decode(im, fast_path)
    except (HashingError, _DraftMismatch):
        raise
    except MemoryError as exc:
        raise ImageTooLargeError("not enough memory to decode this image") from exc
    except Exception as exc:
        raise UnreadableMediaError(f"image data is truncated or corrupt ({type(exc).__name__}: {exc})") from exc
    finally:
        im.close()


def pdq_rgb(rgb: RGBArray) -> tuple[str, int]:
    """PDQ hex (Meta's bit order) and quality of an RGB array, via the pdqhash C++ binding."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
    return bits_to_hex(bits), int(quality)


def hash_rgb(rgb: RGBArray, variant: str = ORIGINAL) -> list[Hash]:
    """PDQ, pHash and dHash of an already preprocessed RGB array (see :func:`load_rgb`)."""
    pdq_hex, quality = pdq_rgb(rgb)
    pil = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), mode="RGB")
    return [
        Hash("pdq", pdq_hex, quality, variant),
        Hash("phash", str(imagehash.phash(pil)), None, variant),
        Hash("dhash", str(imagehash.dhash(pil)), None, variant),
    ]
