"""Turn fetched bytes into a :class:`~takedown.detectors.base.Medium` detectors can look at.

Decoding reuses the hashing library's guarded paths (size and decompression-bomb limits,
truncated files refused, EXIF orientation applied, video sampled at 1 fps) so a hostile file
meets the same checks whether it is hashed or analysed. Frames are capped in size and number:
detectors look at faces and bodies, which survive a downscale to 2048 px, and a long video is
represented by a handful of frames spread over its whole length.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Final

import numpy as np
from PIL import Image, ImageOps

from takedown.detectors.base import Medium, MediumError
from takedown.hashing.errors import HashingError, ImageTooLargeError
from takedown.hashing.image import MAX_IMAGE_BYTES, RGBArray, is_animated, open_image, pil_to_rgb, strict_decoding
from takedown.hashing.video import MAX_VIDEO_BYTES, _animation_frames, _video_frames

#: Frames are shrunk so their longer side is at most this many pixels.
MAX_FRAME_SIDE: Final = 2048

_FORMAT_MIME: Final = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
}


def _shrink(im: Image.Image) -> Image.Image:
    if max(im.size) > MAX_FRAME_SIDE:
        im = im.copy()
        im.thumbnail((MAX_FRAME_SIDE, MAX_FRAME_SIDE), Image.Resampling.BILINEAR)
    return im


def _still(im: Image.Image) -> Image.Image:
    with warnings.catch_warnings(), strict_decoding():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # JPEG: let libjpeg decode at a reduced scale when the picture is much bigger than needed.
        im.draft("RGB", (MAX_FRAME_SIDE, MAX_FRAME_SIDE))
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        rgb = pil_to_rgb(im)
    return _shrink(Image.fromarray(rgb, "RGB"))


def spread(frames: Iterator[RGBArray], max_frames: int) -> list[RGBArray]:
    """At most ``max_frames`` frames spread evenly over the whole sequence, in bounded memory.

    The length is unknown until the end, so every other kept frame is dropped (and the stride
    doubled) whenever twice the budget is held; the survivors are then thinned to the budget.
    """
    kept: list[RGBArray] = []
    stride = 1
    for index, frame in enumerate(frames):
        if index % stride:
            continue
        kept.append(np.asarray(_shrink(Image.fromarray(frame, "RGB")), dtype=np.uint8))
        if len(kept) >= 2 * max_frames:
            kept = kept[::2]
            stride *= 2
    if len(kept) <= max_frames:
        return kept
    picks = np.linspace(0, len(kept) - 1, max_frames).round().astype(int)
    return [kept[i] for i in sorted(set(picks.tolist()))]


def medium_from_bytes(data: bytes, mime: str = "", *, max_frames: int = 8) -> Medium:
    """Decode fetched bytes into RGB frames: one for a still image, up to ``max_frames`` sampled
    at 1 fps and spread over the length for a video or an animated GIF/WebP/APNG.

    ``mime`` is the caller's sniffed type; when empty it is filled in from the decoder. Raises
    :class:`MediumError` with a one-line reason for anything that cannot be decoded.
    """
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    if not data:
        raise MediumError("the file is empty")
    try:
        return _decode(data, mime, max_frames)
    except HashingError as exc:
        raise MediumError(str(exc)) from exc
    except MemoryError as exc:
        raise MediumError("not enough memory to decode this file") from exc


def _decode(data: bytes, mime: str, max_frames: int) -> Medium:
    try:
        im = open_image(data[: MAX_IMAGE_BYTES + 1])
    except ImageTooLargeError:
        raise
    except HashingError as exc:
        if data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[8:12] == b"WEBP":
            raise MediumError("image data is truncated or corrupt") from exc
        im = None
    if im is not None and not is_animated(im):
        if len(data) > MAX_IMAGE_BYTES:
            raise MediumError(f"image file is {len(data):,} bytes; the limit is {MAX_IMAGE_BYTES:,}")
        with im:
            fmt = im.format or ""
            try:
                frame = _still(im)
            except HashingError:
                raise
            except Exception as exc:
                raise MediumError(f"image data is truncated or corrupt ({type(exc).__name__})") from exc
        return Medium(data, mime or _FORMAT_MIME.get(fmt, "image/octet-stream"), "image", (frame,))
    if len(data) > MAX_VIDEO_BYTES:
        raise MediumError(f"file is {len(data):,} bytes; the limit is {MAX_VIDEO_BYTES:,}")
    if im is not None:
        fmt = im.format or ""
        with im:
            arrays = spread(_animation_frames(im), max_frames)
        mime = mime or _FORMAT_MIME.get(fmt, "image/octet-stream")
    else:
        arrays = spread(_video_frames(data), max_frames)
        mime = mime or "video/octet-stream"
    if not arrays:
        raise MediumError("video has no decodable frames")
    return Medium(data, mime, "video", tuple(Image.fromarray(a, "RGB") for a in arrays))
