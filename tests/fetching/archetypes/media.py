"""Streams and pictures for the archetype site, made on the spot from the shared test data.

Streams are written by PyAV (FFmpeg inside its wheel): FFmpeg's own ``hls`` muxer cuts MPEG-TS
segments and writes the media playlist, its ``dash`` muxer writes fMP4 initialization and media
segments with an MPD, as real packagers do. Nothing is downloaded; nothing is copied into the repo.
The benchmark (bench/pipeline_media.py) uses the same functions for its 10-minute stream.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
VIDEOS = SHARED / "videos"
PHOTOS = SHARED / "photos"


def source_frames(paths: Sequence[Path], fps: int, *, seconds: float | None = None) -> Iterator[np.ndarray]:
    """RGB frames of the videos one after the other at ``fps``, looped until ``seconds`` (when given)."""
    produced = 0
    limit = None if seconds is None else round(seconds * fps)
    while True:
        for path in paths:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                next_t = 0.0
                for frame in container.decode(stream):
                    t = float(frame.time or 0.0)
                    if t + 1e-6 < next_t:
                        continue
                    next_t += 1.0 / fps
                    yield frame.to_ndarray(format="rgb24")
                    produced += 1
                    if limit is not None and produced >= limit:
                        return
        if limit is None:
            return


def _video_stream(output: av.container.OutputContainer, size: tuple[int, int], fps: int, gop: int) -> av.VideoStream:
    stream = output.add_stream("libx264", rate=fps)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, fps)
    # A keyframe at every segment boundary, as packagers do, so each segment decodes on its own.
    stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "ultrafast", "crf": "28"}
    return stream


def _encode(
    output: av.container.OutputContainer, streams: Sequence[av.VideoStream], frames: Iterable[np.ndarray], fps: int
) -> int:
    count = 0
    for index, rgb in enumerate(frames):
        picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for stream in streams:
            scaled = picture.reformat(width=stream.width, height=stream.height, format="yuv420p")
            scaled.pts = index
            scaled.time_base = Fraction(1, fps)
            for packet in stream.encode(scaled):
                output.mux(packet)
        count += 1
    for stream in streams:
        for packet in stream.encode():
            output.mux(packet)
    return count


def encode_hls(
    source: Sequence[Path],
    directory: Path,
    sizes: Sequence[tuple[int, int]],
    *,
    fps: int = 12,
    segment: int = 2,
    seconds: float | None = None,
) -> Path:
    """A master playlist with one rendition per size (``<w>x<h>/index.m3u8``, MPEG-TS segments cut by
    FFmpeg's hls muxer), the source decoded once for all of them; returns the master playlist."""
    outputs = []
    for width, height in sizes:
        folder = directory / f"{width}x{height}"
        folder.mkdir(parents=True, exist_ok=True)
        options = {
            "hls_time": str(segment),
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(folder / "seg_%04d.ts"),
        }
        output = av.open(str(folder / "index.m3u8"), "w", format="hls", options=options)
        outputs.append((output, _video_stream(output, (width, height), fps, fps * segment)))
    try:
        for index, rgb in enumerate(source_frames(source, fps, seconds=seconds)):
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for output, stream in outputs:
                scaled = picture.reformat(width=stream.width, height=stream.height, format="yuv420p")
                scaled.pts = index
                scaled.time_base = Fraction(1, fps)
                for packet in stream.encode(scaled):
                    output.mux(packet)
        for output, stream in outputs:
            for packet in stream.encode():
                output.mux(packet)
    finally:
        for output, _stream in outputs:
            output.close()
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for width, height in sizes:
        rendition = directory / f"{width}x{height}" / "index.m3u8"
        size = sum(p.stat().st_size for p in rendition.parent.glob("*.ts"))
        bandwidth = int(size * 8 / max(_playlist_duration(rendition), 0.1))
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},CODECS="avc1.42c01e"')
        lines.append(f"{width}x{height}/index.m3u8")
    master = directory / "master.m3u8"
    master.write_text("\n".join(lines) + "\n")
    return master


def _playlist_duration(playlist: Path) -> float:
    return sum(
        float(line.split(":", 1)[1].split(",", 1)[0])
        for line in playlist.read_text().splitlines()
        if line.startswith("#EXTINF:")
    )


def encode_dash(
    source: Sequence[Path],
    directory: Path,
    sizes: Sequence[tuple[int, int]],
    *,
    fps: int = 12,
    segment: int = 2,
    seconds: float | None = None,
) -> Path:
    """An MPD with one fMP4 representation per size (initialization + numbered media segments)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "manifest.mpd"
    options = {
        "seg_duration": str(segment),
        "use_template": "1",
        "use_timeline": "1",
        "init_seg_name": "init-$RepresentationID$.m4s",
        "media_seg_name": "chunk-$RepresentationID$-$Number%05d$.m4s",
        "adaptation_sets": "id=0,streams=v",
    }
    with av.open(str(manifest), "w", format="dash", options=options) as output:
        streams = [_video_stream(output, size, fps, fps * segment) for size in sizes]
        _encode(output, streams, source_frames(source, fps, seconds=seconds), fps)
    return manifest


def encode_mp4(
    source: Sequence[Path], path: Path, size: tuple[int, int], *, fps: int = 12, seconds: float | None = None
) -> Path:
    """A plain MP4 of the same frames (what a survivor would register)."""
    with av.open(str(path), "w", format="mp4") as output:
        _encode(output, [_video_stream(output, size, fps, fps * 2)], source_frames(source, fps, seconds=seconds), fps)
    return path


def jpeg(path: Path, *, width: int | None = None, quality: int = 85) -> bytes:
    """A photo re-encoded as JPEG (optionally resized): how a copy posted online usually looks."""
    with Image.open(path) as image:
        picture = image.convert("RGB")
    if width is not None and picture.width != width:
        picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photos(count: int, *, seed: int, folders: Sequence[str] = ("kodak", "coco2017_ccby", "tf_flowers")) -> list[Path]:
    """``count`` distinct shared photos, chosen by a seeded shuffle (no hand-picked favourites)."""
    files = sorted(p for folder in folders for p in (PHOTOS / folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    order = np.random.default_rng(seed).permutation(len(files))
    return [files[i] for i in order[:count]]
