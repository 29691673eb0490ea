"""Hash any file: decide whether it is a still image or a video/animation and hash it.

This is the entry point the CLI, the browser-vector generator and the Django workers share, so
all of them classify and hash a file the same way.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from takedown.hashing.errors import FileTooLargeError, UnreadableMediaError
from takedown.hashing.hashes import FILE, Hash
from takedown.hashing.image import (
    MAX_IMAGE_BYTES,
    hash_rgb,
    is_animated,
    load_rgb,
    open_image,
)
from takedown.hashing.variants import registered_hashes
from takedown.hashing.video import MAX_VIDEO_BYTES, FrameTransform, hash_video

_CHUNK = 1024 * 1024
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def _head(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """The hashes of one file and whether it was treated as an image or a video."""

    kind: str  # "image" | "video"
    hashes: tuple[Hash, ...]


def file_digests(source: str | os.PathLike[str] | bytes) -> list[Hash]:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    if isinstance(source, bytes):
        sha.update(source)
        md5.update(source)
    else:
        with open(source, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
    return [Hash("sha256", sha.hexdigest(), None, FILE), Hash("md5", md5.hexdigest(), None, FILE)]


def _sniff_image(source: str | os.PathLike[str] | bytes) -> tuple[bool, bool]:
    """(is an image Pillow can open, is animated) from the header only."""
    try:
        if isinstance(source, bytes):
            im = open_image(source[: 64 * 1024 * 1024])
        else:
            with open(source, "rb") as handle:
                head = handle.read(MAX_IMAGE_BYTES + 1)
            im = open_image(head)
    except UnreadableMediaError:
        head = source[:16] if isinstance(source, bytes) else _head(source)
        if head.startswith(_IMAGE_SIGNATURES) or head[8:12] == b"WEBP":
            # Looks like an image but Pillow cannot even read its header: say so, rather than
            # letting FFmpeg report it as a broken video.
            raise UnreadableMediaError("image data is truncated or corrupt") from None
        return False, False
    with im:
        return True, is_animated(im)


def still_image_bytes(source: str | os.PathLike[str] | bytes) -> bytes | None:
    """The bytes of a still image (size checked), or None when the file is a video/animation.

    Raises a :class:`HashingError` subclass with a one-line reason for anything unusable.
    """
    size = len(source) if isinstance(source, bytes) else _size(source)
    is_image, animated = _sniff_image(source)
    if not is_image or animated:
        return None
    if size > MAX_IMAGE_BYTES:
        raise FileTooLargeError(f"image file is {size:,} bytes; the limit is {MAX_IMAGE_BYTES:,}")
    return source if isinstance(source, bytes) else _read(source)


def hash_file(
    source: str | os.PathLike[str] | bytes,
    *,
    register_variants: bool = True,
    frame_transform: FrameTransform | None = None,
) -> MediaHashes:
    """Hash an image (registered variants included unless told not to) or a video.

    Raises a :class:`HashingError` subclass with a one-line reason for anything unusable.
    """
    data = still_image_bytes(source)
    if data is not None:
        rgb = load_rgb(data)
        perceptual = registered_hashes(rgb) if register_variants else hash_rgb(rgb)
        return MediaHashes("image", (*perceptual, *file_digests(data)))
    size = len(source) if isinstance(source, bytes) else _size(source)
    if size > MAX_VIDEO_BYTES:
        raise FileTooLargeError(f"file is {size:,} bytes; the limit is {MAX_VIDEO_BYTES:,}")
    frames = hash_video(source, frame_transform=frame_transform)
    return MediaHashes("video", (*frames, *file_digests(source)))


def _size(path: str | os.PathLike[str]) -> int:
    try:
        if not os.path.exists(path):
            raise UnreadableMediaError("no such file")
        if not os.path.isfile(path):
            raise UnreadableMediaError("not a regular file")
        return os.stat(path).st_size
    except OSError as exc:
        raise UnreadableMediaError(f"cannot read file: {exc.strerror or exc}") from exc


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UnreadableMediaError(f"cannot read file: {exc.strerror or exc}") from exc
