"""The picture of a screenshot found by its frame (takedown.hashing.rect_search), where the block
search is misled by something touching the picture's rows and columns."""

from __future__ import annotations

import numpy as np
from conftest import scene

from takedown.hashing.rect_search import MAX_RECTS, picture_rects
from takedown.hashing.variants import content_box


def _desktop(picture: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A steep wallpaper ramp, a disc touching the picture's left side, a task bar."""
    height, width = 450, 800
    ramp = np.linspace(0, 1, width)[None, :, None]
    canvas = (
        (np.array([120, 20, 50]) * (1 - ramp) + np.array([250, 180, 110]) * ramp) * np.ones((height, 1, 1))
    ).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    canvas[(yy - 220) ** 2 / 90**2 + (xx - 330) ** 2 / 100**2 <= 1] = (150, 20, 170)
    top, left = 70, 400
    h, w = picture.shape[:2]
    canvas[top : top + h, left : left + w] = picture
    canvas[430:] = (20, 20, 30)
    return canvas, (top, top + h, left, left + w)


def test_the_picture_is_found_by_its_frame_where_the_block_search_is_misled() -> None:
    canvas, (top, bottom, left, right) = _desktop(scene(300, 360, seed=5))
    block = content_box(canvas)
    assert block is None or abs(block[2] - left) > 20  # the disc joins the block (or no block)
    rects = picture_rects(canvas)
    assert 1 <= len(rects) <= MAX_RECTS
    assert (top, bottom, left, right) in rects, rects  # exactly: first row and column in, last out


def test_a_flat_or_tiny_copy_has_no_frame() -> None:
    assert picture_rects(np.full((300, 400, 3), 200, np.uint8)) == []
    assert picture_rects(np.zeros((20, 20, 3), np.uint8)) == []


def test_a_whole_photo_is_not_a_frame_of_itself() -> None:
    """A picture that fills the copy has no inner frame: its own outline is the copy's edge, and
    the texture near that edge is no frame."""
    assert picture_rects(scene(300, 400, seed=2)) == []
    assert picture_rects(scene(240, 240, seed=7)) == []
