"""Video (and animated GIF/WebP/APNG) hashing and matching, the vPDQ way.

A video is reduced to a bag of PDQ hashes of frames sampled at one frame per second, with
duplicate hashes removed. Two videos match when enough of the query's distinct frames find a
frame of the target within the PDQ distance (vPDQ: frame distance 31, quality 50, 80% of the
query's frames). Comparing bags instead of aligned sequences is what lets a clip cut out of a
longer video, or a re-encode at another frame rate, still match.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import av
import numpy as np
from PIL import Image, ImageSequence

from takedown.hashing.bits import hexes_to_matrix
from takedown.hashing.errors import (
    FileTooLargeError,
    HashingError,
    ImageTooLargeError,
    UnreadableMediaError,
)
from takedown.hashing.hashes import FRAME, Hash
from takedown.hashing.image import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    RGBArray,
    is_animated,
    open_image,
    pdq_rgb,
    pil_to_rgb,
    reduce_for_hashing,
    strict_decoding,
)
from takedown.hashing.signals import PDQ_MIN_QUALITY, PdqSignal
from takedown.hashing.variants import trim_borders

#: Frames sampled per second of playback (vPDQ's usual setting).
FRAMES_PER_SECOND: Final = 1.0
#: Limits: a two-hour video gives 7,200 sampled frames; bigger inputs are refused.
MAX_VIDEO_BYTES: Final = 4 * 1024 * 1024 * 1024
MAX_SAMPLED_FRAMES: Final = 7200
MAX_ANIMATION_FRAMES: Final = 20_000
#: A GIF frame with no (or zero) duration is shown for 100 ms by browsers; we do the same.
DEFAULT_FRAME_MS: Final = 100
#: vPDQ defaults: share of the query's distinct frames that must match (percent).
QUERY_MATCH_PERCENT: Final = 80.0
#: Share of the target's distinct frames that must match; 0 accepts a short clip of a long video.
TARGET_MATCH_PERCENT: Final = 0.0


def _sample_times(times: Iterator[tuple[float, RGBArray | None]]) -> Iterator[RGBArray]:
    """Yield the first frame shown at or after each whole second (0 s, 1 s, 2 s, ...)."""
    next_t = 0.0
    step = 1.0 / FRAMES_PER_SECOND
    count = 0
    for t, frame in times:
        if t + 1e-6 < next_t or frame is None:
            continue
        yield frame
        count += 1
        if count >= MAX_SAMPLED_FRAMES:
            raise FileTooLargeError(f"video is longer than {MAX_SAMPLED_FRAMES} sampled frames")
        while next_t <= t + 1e-6:
            next_t += step


def _video_frames(path_or_bytes: str | os.PathLike[str] | bytes) -> Iterator[RGBArray]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    try:
        container = av.open(source, mode="r")
    except Exception as exc:
        raise UnreadableMediaError("not an image or video format we can read") from exc
    with container:
        if not container.streams.video:
            raise UnreadableMediaError("file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > MAX_PIXELS:
            raise ImageTooLargeError(f"video frames are {width}x{height}; too large to decode")
        rate = float(stream.average_rate) if stream.average_rate else 25.0

        def timed() -> Iterator[tuple[float, RGBArray | None]]:
            next_t = 0.0
            try:
                for index, frame in enumerate(container.decode(stream)):
                    t = float(frame.time) if frame.time is not None else index / rate
                    if t + 1e-6 < next_t:
                        yield t, None  # skipped without converting pixels: cheap
                        continue
                    rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                    # Phone videos store a display rotation (counter-clockwise degrees).
                    turns = (round(getattr(frame, "rotation", 0) or 0) // 90) % 4
                    yield t, np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
                    while next_t <= t + 1e-6:
                        next_t += 1.0 / FRAMES_PER_SECOND
            except HashingError:
                raise
            except Exception as exc:
                raise UnreadableMediaError(f"video data is truncated or corrupt ({type(exc).__name__})") from exc

        yield from _sample_times(timed())


def _animation_frames(im: Image.Image) -> Iterator[RGBArray]:
    n_frames = getattr(im, "n_frames", 1)
    if n_frames > MAX_ANIMATION_FRAMES:
        raise FileTooLargeError(f"animation has {n_frames} frames; the limit is {MAX_ANIMATION_FRAMES}")

    def timed() -> Iterator[tuple[float, RGBArray | None]]:
        t_ms = 0
        try:
            for frame in ImageSequence.Iterator(im):
                # Frames are composited by Pillow (disposal handled); RGBA goes over white.
                with strict_decoding():  # the lock is held for one frame's decoding only
                    rgba = frame.convert("RGBA")
                yield t_ms / 1000.0, pil_to_rgb(rgba)
                t_ms += int(frame.info.get("duration") or DEFAULT_FRAME_MS)
        except HashingError:
            raise
        except Exception as exc:
            raise UnreadableMediaError(f"animation data is truncated or corrupt ({type(exc).__name__})") from exc

    yield from _sample_times(timed())


FrameTransform = Callable[[RGBArray], RGBArray]


def frame_hashes(frames: Iterator[RGBArray], transform: FrameTransform | None = None) -> list[Hash]:
    """PDQ of each sampled frame after canonical reduction, duplicates removed, order kept."""
    seen: set[str] = set()
    out: list[Hash] = []
    for rgb in frames:
        reduced = reduce_for_hashing(rgb)
        if transform is not None:
            reduced = transform(reduced)
        value, quality = pdq_rgb(reduced)
        if value not in seen:
            seen.add(value)
            out.append(Hash("pdq", value, quality, FRAME))
    return out


def hash_video(
    source: str | os.PathLike[str] | bytes,
    *,
    max_bytes: int = MAX_VIDEO_BYTES,
    frame_transform: FrameTransform | None = None,
) -> list[Hash]:
    """PDQ hashes (variant "frame") of frames sampled at 1 fps, duplicates removed.

    Accepts video files (anything FFmpeg reads; read from disk as a stream, never whole) and
    animated GIF/WebP/APNG. ``frame_transform`` (RGB -> RGB) is applied to each reduced frame;
    the checking side passes :func:`takedown.hashing.variants.trim_borders` to remove
    letterboxing. File digests are added by :func:`takedown.hashing.media.hash_file`.
    """
    if isinstance(source, bytes):
        size, head = len(source), source[: MAX_IMAGE_BYTES + 1]
    else:
        try:
            size = os.stat(source).st_size
            with open(source, "rb") as handle:
                head = handle.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise UnreadableMediaError(f"cannot read file: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise FileTooLargeError(f"file is {size:,} bytes; the limit is {max_bytes:,}")
    im = _try_animation(head)
    frames = _animation_frames(im) if im is not None else _video_frames(source)
    hashes = frame_hashes(frames, frame_transform)
    if not hashes:
        raise UnreadableMediaError("video has no decodable frames")
    return hashes


def _segment_frames(pieces: Sequence[bytes], max_bytes: int) -> Iterator[RGBArray]:
    """Frames of each piece sampled at 1 fps on the stream's own timeline; a piece that cannot be
    decoded is skipped (frames decoded before the damage are kept)."""
    if sum(len(piece) for piece in pieces) > max_bytes:
        raise FileTooLargeError(f"the segments are more than {max_bytes:,} bytes together")
    count = 0
    for piece in pieces:
        try:
            for frame in _video_frames(piece):
                yield frame
                count += 1
                if count >= MAX_SAMPLED_FRAMES:
                    return
        except UnreadableMediaError:
            continue


def hash_video_segments(
    pieces: Sequence[bytes],
    *,
    max_bytes: int = MAX_VIDEO_BYTES,
    frame_transform: FrameTransform | None = None,
) -> list[Hash]:
    """PDQ hashes (variant "frame") of a streamed video known only by a sample of its segments.

    Each piece is one segment a demuxer can open on its own (an MPEG-TS segment, or an fMP4
    initialization segment followed by a media segment; see ``takedown.fetching.streams``). Frames
    are sampled at 1 fps on the stream's own timeline, as :func:`hash_video` samples a file, and the
    bag of distinct hashes is matched the vPDQ way like any video. A piece that cannot be decoded
    is skipped (a sample is evidence of what could be read); none decodable is an error.
    """
    hashes = frame_hashes(_segment_frames(pieces, max_bytes), frame_transform)
    if not hashes:
        raise UnreadableMediaError("no segment of the stream could be decoded")
    return hashes


def found_segment_hashes(pieces: Sequence[bytes], *, max_bytes: int = MAX_VIDEO_BYTES) -> list[Hash]:
    """Checking-side hashes of a sampled stream, as ``matcher.hash_found`` makes them for a
    downloaded video: the frames as found, plus the frames with uniform borders trimmed
    (variant "frame-trim") where that changes them. One decoding pass gives both."""
    plain: list[Hash] = []
    trimmed: list[Hash] = []
    seen_plain: set[str] = set()
    seen_trimmed: set[str] = set()
    for rgb in _segment_frames(pieces, max_bytes):
        reduced = reduce_for_hashing(rgb)
        for view, seen, out in ((reduced, seen_plain, plain), (trim_borders(reduced), seen_trimmed, trimmed)):
            value, quality = pdq_rgb(view)
            if value not in seen:
                seen.add(value)
                out.append(Hash("pdq", value, quality, FRAME))
    if not plain:
        raise UnreadableMediaError("no segment of the stream could be decoded")
    return plain + [Hash(h.signal, h.value, h.quality, "frame-trim") for h in trimmed if h not in plain]


def _try_animation(data: bytes) -> Image.Image | None:
    """An animated GIF/WebP/APNG opened with our limits, or None if the data is not one."""
    try:
        im = open_image(data)
    except ImageTooLargeError:
        raise
    except HashingError:
        return None
    return im if is_animated(im) else None


@dataclass(frozen=True, slots=True)
class VideoComparison:
    """vPDQ result: percentages of distinct trusted frames that found a partner."""

    matched: bool
    query_match_percent: float
    target_match_percent: float


def _trusted_frames(hashes: list[Hash]) -> list[str]:
    return sorted({h.value for h in hashes if h.signal == "pdq" and (h.quality or 0) >= PDQ_MIN_QUALITY})


def compare_videos(
    query: list[Hash],
    target: list[Hash],
    *,
    distance: int = PdqSignal.default_threshold,
    query_percent: float = QUERY_MATCH_PERCENT,
    target_percent: float = TARGET_MATCH_PERCENT,
) -> VideoComparison:
    """Match two bags of frame hashes the way vPDQ's brute-force matcher does."""
    q_values, t_values = _trusted_frames(query), _trusted_frames(target)
    if not q_values or not t_values:
        return VideoComparison(False, 0.0, 0.0)
    q = hexes_to_matrix(q_values, 64)
    t = hexes_to_matrix(t_values, 64)
    close = np.bitwise_count(q[:, None, :] ^ t[None, :, :]).sum(axis=2) <= distance
    q_pct = 100.0 * float(close.any(axis=1).mean())
    t_pct = 100.0 * float(close.any(axis=0).mean())
    matched = q_pct >= query_percent and t_pct > 0 and t_pct >= target_percent
    return VideoComparison(matched, round(q_pct, 1), round(t_pct, 1))
