"""Checking-side crop search: windows of a found copy against the registered central crops."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import scene
from PIL import Image

from takedown.hashing.bits import hamming_hex
from takedown.hashing.crop_search import (
    CROP_SEARCH,
    SEARCH_STEP,
    WindowFamily,
    grid,
    search_windows,
    window_hashes,
    window_target,
)
from takedown.hashing.image import load_rgb, pdq_rgb
from takedown.hashing.matcher import best_match, found_image_hashes
from takedown.hashing.variants import registered_hashes


def _photos(photos: Path, count: int) -> list[Path]:
    paths = sorted(p for p in photos.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    return paths[:: max(1, len(paths) // count)][:count]


def _random_crop_jpeg(path: Path, percent: int, seed: int) -> bytes:
    """bench/robustness.py's crop: keep (100 - percent)% of each side at a random offset."""
    rng = np.random.default_rng(seed)
    with Image.open(path) as opened:
        im = opened.convert("RGB")
    w, h = im.size
    cw, ch = round(w * percent / 100), round(h * percent / 100)
    left, top = round(cw * rng.random()), round(ch * rng.random())
    buf = io.BytesIO()
    im.crop((left, top, left + w - cw, top + h - ch)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_window_hashes_equal_pdqhash_of_the_window() -> None:
    rgb = scene(300, 420, seed=3)
    hashes = window_hashes(rgb, 100)
    assert len(hashes) == sum(len(w.boxes) for w in search_windows(rgb))
    for h in hashes[::23]:
        top, left, height, width = map(int, h.variant.split("@")[1].split(","))
        assert hamming_hex(h.value, pdq_rgb(rgb[top : top + height, left : left + width])[0]) <= 2


def test_grid_covers_the_offset_range_at_the_step() -> None:
    family = WindowFamily("crop-c20", 80, 10)
    low, high = family.offset_range
    assert (low, round(high, 4)) == (0.0, round(10 / 90, 4))
    offsets = grid(500, round(family.size * 500), low, high)
    assert offsets[0] == 0
    assert offsets[-1] == round(high * 500)
    assert max(np.diff(offsets)) <= SEARCH_STEP * 500 + 1


def test_window_is_only_compared_with_its_registered_crop() -> None:
    assert window_target("win-c20@0,0,10,10") == "crop-c20"
    assert window_target("win-c10@3,4,10,10") == "crop-c10"
    assert window_target("found-trim") is None
    assert {f.registered for f in CROP_SEARCH} == {"crop-c10", "crop-c20"}


def test_window_labels_fit_the_found_variant_column() -> None:
    """takedown.matching stores found_variant in a CharField(max_length=32)."""
    rgb = scene(600, 2000, seed=5)
    assert max(len(h.variant) for h in window_hashes(rgb, 100)) <= 32


@pytest.mark.parametrize(("percent", "seed"), [(10, 1), (10, 2), (5, 3)])
def test_random_offset_crop_of_a_shared_photo_matches(photos: Path, percent: int, seed: int) -> None:
    path = _photos(photos, 7)[seed]
    registered = registered_hashes(load_rgb(path))
    found = found_image_hashes(load_rgb(_random_crop_jpeg(path, percent, seed)))
    match = best_match(registered, found)
    assert match is not None
    assert match.matched
    assert match.signal == "pdq"
    usual = best_match(registered, [h for h in found if not h.variant.startswith("win-")])
    assert usual is not None
    if not usual.matched:
        assert match.found_variant.startswith("win-")
        assert match.registered_variant in {"crop-c10", "crop-c20"}


def test_corner_crop_is_found_only_by_the_window_search(photos: Path) -> None:
    """10% cut from the top and left only: no registered variant or view lines up with it."""
    path = _photos(photos, 7)[4]
    rgb = load_rgb(path)
    registered = registered_hashes(rgb)
    h, w = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(rgb[h // 10 :, w // 10 :]).save(buf, "JPEG", quality=90)
    found = found_image_hashes(load_rgb(buf.getvalue()))
    usual = best_match(registered, [f for f in found if not f.variant.startswith("win-")])
    assert usual is not None
    assert not usual.matched
    match = best_match(registered, found)
    assert match is not None
    assert match.matched
    assert match.found_variant.startswith("win-c20@")
    assert match.registered_variant == "crop-c20"


def test_crop_search_does_not_match_unrelated_photos(photos: Path) -> None:
    paths = _photos(photos, 6)
    registered = [registered_hashes(load_rgb(p)) for p in paths]
    for i, path in enumerate(paths):
        found = found_image_hashes(load_rgb(_random_crop_jpeg(path, 10, i)))
        for j, reg in enumerate(registered):
            if i == j:
                continue
            match = best_match(reg, found)
            assert match is not None
            assert not match.matched, (path.name, paths[j].name, match)
            assert match.distance > 31
