"""Registering-side variants, checking-side border removal, and the matcher."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import encode, scene
from PIL import Image

from takedown.hashing.bits import hamming_hex
from takedown.hashing.image import load_rgb, pdq_rgb
from takedown.hashing.matcher import best_match, found_image_hashes, hash_found
from takedown.hashing.media import hash_file
from takedown.hashing.variants import (
    REGISTERED_VARIANTS,
    content_block,
    crop_percent,
    flip_horizontal,
    pad_percent,
    registered_hashes,
    rotate,
    trim_borders,
)


def test_crop_pad_flip_are_exact() -> None:
    rgb = scene(200, 300)
    assert crop_percent(rgb, 10, 0, 5, 5).shape == (180, 270, 3)
    assert np.array_equal(crop_percent(rgb, 10, 0, 5, 5), rgb[20:, 15:285])
    padded = pad_percent(rgb, 20, (1, 2, 3))
    assert padded.shape == (280, 420, 3)
    assert padded[0, 0].tolist() == [1, 2, 3]
    assert np.array_equal(padded[40:240, 60:360], rgb)
    assert np.array_equal(flip_horizontal(flip_horizontal(rgb)), rgb)


def test_rotation_fixed_point_matches_pillow_closely() -> None:
    rgb = scene(240, 320)
    ours = rotate(rgb, 5)
    pillow = np.asarray(Image.fromarray(rgb).rotate(5, resample=Image.Resampling.BILINEAR))
    assert np.abs(ours.astype(int) - pillow).mean() < 2.0  # same direction, same geometry
    assert hamming_hex(pdq_rgb(ours)[0], pdq_rgb(pillow)[0]) <= 8
    assert np.array_equal(rotate(rgb, 5), rotate(rgb, 5))  # deterministic
    assert ours[0, 0].tolist() == [0, 0, 0]  # corner filled with black


def test_rotation_vector_is_stable() -> None:
    """A tiny regression vector for the JavaScript port (also in docs/hashing.md)."""
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4
    out = rotate(rgb, 3)
    assert out[:, :, 0].tolist() == [
        [1, 12, 25, 40, 50],
        [54, 69, 84, 99, 112],
        [111, 128, 143, 159, 174],
        [160, 188, 203, 205, 204],
    ]


def test_trim_borders_removes_pads_and_letterbox() -> None:
    rgb = scene(200, 300)
    for colour in ((0, 0, 0), (255, 255, 255), (120, 40, 200)):
        assert trim_borders(pad_percent(rgb, 20, colour)).shape == rgb.shape
    boxed = np.concatenate([np.zeros((40, 300, 3), np.uint8), rgb, np.zeros((40, 300, 3), np.uint8)])
    assert trim_borders(boxed).shape == rgb.shape
    assert trim_borders(rgb) is rgb
    flat = np.full((100, 100, 3), 7, np.uint8)
    assert trim_borders(flat) is flat  # never trims a picture away


def test_content_block_finds_picture_in_screenshot() -> None:
    rgb = scene(200, 300)
    canvas = np.full((320, 340, 3), 250, np.uint8)
    canvas[:20] = 20  # status bar
    canvas[5:15, 10:60] = 255  # clock text
    canvas[60:260, 20:320] = rgb
    canvas[290:320] = 200
    canvas[300:310, 100:120] = 0  # nav icon
    block = content_block(canvas)
    assert abs(block.shape[0] - 200) <= 2
    assert abs(block.shape[1] - 300) <= 2


def test_registered_set_is_small() -> None:
    hashes = registered_hashes(scene())
    pdq = [h for h in hashes if h.signal == "pdq"]
    # The budget of docs/hashing.md "Variant set": the original and 28 variants (plus "trim"
    # when trimming changes the picture), about 4.6 kB of bundle per image.
    assert len(pdq) == 1 + len(REGISTERED_VARIANTS) <= 29
    assert {h.signal for h in hashes} == {"pdq", "phash", "dhash"}


def _found(arr: np.ndarray) -> list:
    return found_image_hashes(load_rgb(encode(arr, "JPEG", quality=85)))


@pytest.mark.parametrize(
    ("edit", "expected_variant"),
    [
        (lambda a: a, None),
        (lambda a: pad_percent(a, 20, (0, 0, 0)), "found-trim"),
        (lambda a: a[:, ::-1], "found-fliph"),
        (lambda a: np.asarray(Image.fromarray(a).rotate(-5, resample=Image.Resampling.BILINEAR)), None),
    ],
)
def test_matcher_finds_edited_copies(edit, expected_variant) -> None:  # type: ignore[no-untyped-def]
    rgb = scene(300, 400, seed=4)
    registered = registered_hashes(load_rgb(encode(rgb)))
    match = best_match(registered, _found(edit(rgb)))
    assert match is not None
    assert match.matched
    assert match.signal == "pdq"
    if expected_variant:
        assert match.found_variant.startswith(expected_variant.split("-")[0])
        assert match.found_variant == expected_variant or expected_variant == "found-trim"


def test_rotation_inside_the_same_canvas_matches_through_the_rotation_search() -> None:
    """No rotated variant is registered any more: the checking side turns its windows back
    (mode S of takedown.hashing.rotation_search) and meets a registered central crop."""
    rgb = scene(300, 400, seed=6)
    registered = registered_hashes(load_rgb(encode(rgb)))
    turned = np.asarray(Image.fromarray(rgb).rotate(5, resample=Image.Resampling.BILINEAR))
    match = best_match(registered, _found(turned))
    assert match is not None
    assert match.matched
    assert match.found_variant.startswith("win-") and "S+5" in match.found_variant


def test_matcher_rejects_unrelated_and_reports_closest_miss() -> None:
    registered = registered_hashes(load_rgb(encode(scene(seed=1))))
    match = best_match(registered, _found(scene(seed=2)))
    assert match is not None
    assert not match.matched
    assert match.distance > 31


def test_exact_match_on_identical_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.png"
    path.write_bytes(encode(scene()))
    match = best_match(list(hash_file(path).hashes), list(hash_found(path).hashes))
    assert match is not None
    assert match.matched
    assert match.signal == "sha256"


def test_low_quality_pdq_is_not_trusted() -> None:
    flat = np.full((300, 300, 3), 128, np.uint8)
    registered = registered_hashes(flat)
    assert registered[0].quality is not None
    assert registered[0].quality < 50
    match = best_match(registered, found_image_hashes(flat))
    assert match is not None
    assert match.signal != "pdq"


def test_one_64_bit_hash_alone_never_makes_a_match() -> None:
    """Two different official portraits share a pHash within 4 bits; PDQ and dHash disagree."""
    from pathlib import Path

    from takedown.hashing.matcher import best_match, hash_found
    from takedown.hashing.media import hash_file

    portraits = Path(__file__).resolve().parents[3] / "shared/data/photos/us_congress_2015"
    registered = hash_file(portraits / "B001244.jpg").hashes
    found = hash_found((portraits / "M001185.jpg").read_bytes()).hashes
    match = best_match(list(registered), list(found))
    assert match is not None and not match.matched
