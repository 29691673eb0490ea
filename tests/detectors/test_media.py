"""Decoding fetched bytes into frames: the same guards as hashing, clear errors for bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from takedown.detectors.base import MediumError
from takedown.detectors.media import MAX_FRAME_SIDE, medium_from_bytes, spread
from tests.detectors.helpers import OBAMA, VIDEOS, jpeg


def test_still_image_is_one_rgb_frame() -> None:
    data = OBAMA[0].read_bytes()
    medium = medium_from_bytes(data, "image/jpeg")
    assert (medium.kind, medium.mime, len(medium.frames)) == ("image", "image/jpeg", 1)
    assert medium.frames[0].mode == "RGB" and medium.frames[0].size == (820, 1024)
    assert medium.data == data


def test_mime_is_filled_in_and_orientation_applied() -> None:
    im = Image.new("RGB", (200, 100), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    medium = medium_from_bytes(jpeg(im, exif=exif))
    assert medium.mime == "image/jpeg"
    assert medium.frames[0].size == (100, 200)


def test_big_image_is_shrunk() -> None:
    medium = medium_from_bytes(jpeg(Image.new("RGB", (5000, 1000), "blue")))
    assert max(medium.frames[0].size) == MAX_FRAME_SIDE


def test_video_frames_are_sampled_and_capped() -> None:
    medium = medium_from_bytes((VIDEOS / "cc0_mdn" / "friday.mp4").read_bytes(), "video/mp4", max_frames=3)
    assert medium.kind == "video" and medium.mime == "video/mp4"
    assert len(medium.frames) == 3
    assert all(frame.mode == "RGB" for frame in medium.frames)


def test_animated_gif_is_a_video() -> None:
    frames = [Image.new("RGB", (64, 64), (40 * i, 0, 0)) for i in range(6)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=1000, loop=0)
    medium = medium_from_bytes(buffer.getvalue(), max_frames=4)
    assert (medium.kind, medium.mime) == ("video", "image/gif")
    assert 1 < len(medium.frames) <= 4


def test_spread_keeps_frames_from_the_whole_length() -> None:
    frames = (np.full((4, 4, 3), i // 4, np.uint8) for i in range(1000))  # frame i holds i // 4
    values = [int(f[0, 0, 0]) for f in spread(frames, 8)]
    assert len(values) == 8 and len(set(values)) == 8
    assert values == sorted(values)
    assert values[0] == 0 and values[-1] >= 200  # the last kept frame is from the last fifth


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not a picture" * 10, "not an image or video"),
        (OBAMA[0].read_bytes()[:4000], "truncated or corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "truncated or corrupt"),
    ],
)
def test_bad_input_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(MediumError, match=message):
        medium_from_bytes(data, "image/jpeg")


def test_decompression_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, "PNG")
    with pytest.raises(MediumError, match="decompression bomb"):
        medium_from_bytes(buffer.getvalue())
