"""Checking-side window search: crop windows of a found copy against the registered crops, and
the pairing rule that keeps every window away from what it does not stand for."""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from conftest import scene
from PIL import Image
from pillow_reference import pillow_rotated_windows

from takedown.hashing.bits import hamming_hex
from takedown.hashing.crop_search import (
    CROP_GROUPS,
    MAX_SKEW,
    SEARCH_STEP,
    CropGroup,
    box_window_hashes,
    grid,
    skewed_pairs,
)
from takedown.hashing.hashes import ORIGINAL, Hash
from takedown.hashing.image import load_rgb, pdq_rgb
from takedown.hashing.matcher import best_match, best_matches, found_image_hashes, prepare_found
from takedown.hashing.pairing import is_bank_query, is_window_only, may_compare, window_code, window_target
from takedown.hashing.rotation_search import rotation_window_hashes, rotation_windows
from takedown.hashing.signals import PDQ_MIN_QUALITY
from takedown.hashing.variants import REGISTERED_VARIANTS, registered_hashes
from takedown.hashing.window_pdq import BlurredLuma, blur_size, blurred_luma, luma, rotated_windows


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


def test_box_windows_are_close_to_pdqhash_of_the_window() -> None:
    """window_pdq computes every window from one blurred luma; it is not bit-exact (the box
    filter runs over the window's edge), but must stay far inside the threshold of 31."""
    rgb = scene(300, 420, seed=3)
    hashes = box_window_hashes(rgb, 100)
    distances = []
    for h in hashes[::37]:
        top, left, height, width = map(int, h.variant.split("@")[1].lstrip("~").split(","))
        distances.append(hamming_hex(h.value, pdq_rgb(rgb[top : top + height, left : left + width])[0]))
    assert len(distances) > 20
    assert statistics.median(distances) <= 8
    assert max(distances) <= 20


def test_grid_covers_the_offset_range_at_the_step() -> None:
    group = next(g for g in CROP_GROUPS if g.code == "c20")
    low, high = group.offset_range(0.90)
    assert (round(low, 9), round(high, 4)) == (0.0, round(10 / 90, 4))
    offsets = grid(500, round(0.8 / 0.9 * 500), low, high)
    assert offsets[0] == 0
    assert offsets[-1] == round(high * 500)
    assert max(np.diff(offsets)) <= SEARCH_STEP * 500 + 1


def test_two_starts_per_axis_cover_every_position_of_a_heavy_crop() -> None:
    """A copy keeping 70% of each side, anywhere, contains one of k55's crops whole."""
    group = next(g for g in CROP_GROUPS if g.code == "k55")
    for position in np.linspace(0, 0.30, 31):
        assert any(start + group.keep - 0.70 <= position + 1e-9 and position <= start + 1e-9 for start in group.starts)


@pytest.mark.parametrize("group", CROP_GROUPS, ids=lambda g: g.code)
def test_offset_spans_hold_every_position_where_a_crop_fits(group: CropGroup) -> None:
    """For every share searched (same or skewed) and every position of such a copy, the offset
    of a registered crop that fits inside it lies in the spans searched, and nothing outside
    the spans can hold a whole registered crop (the gap between two starts is skipped)."""
    shares = {f for f in group.found_keeps if f <= 1} | {f for _rows, cols in skewed_pairs(group) for f in cols}
    for f in sorted(shares):
        spans = group.offset_spans(f)
        for a in np.linspace(0, 1 - f, 41):
            fitting = [(p - a) / f for p in group.starts if a <= p + 1e-9 and p + group.keep <= a + f + 1e-9]
            assert fitting, (group.code, f, a)  # some registered crop fits whole
            assert any(low - 1e-9 <= o <= high + 1e-9 for o in fitting for low, high in spans), (group.code, f, a)
        if len(group.starts) > 1 and f >= 0.95:
            # A share well above the group's own: the starts' intervals do not meet.
            assert len(spans) == 2, (group.code, f, spans)


def test_skewed_pairs_stay_within_the_skew_and_start_at_the_groups_own_share() -> None:
    for group in CROP_GROUPS:
        home = set(group.found_keeps)
        for rows, columns in skewed_pairs(group):
            for f in columns:
                assert f != rows and abs(f - rows) <= MAX_SKEW + 1e-9
                assert min(f, rows) in home


def test_skewed_and_window_only_windows_are_kept_out_of_the_bank_lookup() -> None:
    hashes = box_window_hashes(scene(300, 420, seed=4), 100)
    skewed = [h for h in hashes if h.variant.split("@")[1].startswith("~")]
    assert skewed and len(skewed) < len(hashes)
    assert all(window_code(h.variant) in {"c10", "c20", "k73", "k64", "k55"} for h in skewed)
    assert not any(is_bank_query(h.variant) for h in skewed)
    # Windows standing for variants the feed never shares (off-centre crops, parts, the central
    # 40%) are not asked either; windows for the original and central crops are.
    asked = {window_code(h.variant) for h in hashes if is_bank_query(h.variant)}
    assert asked and asked <= {"c10", "c20"}
    assert is_bank_query("found") and is_bank_query("win-orig@G+7") and is_bank_query("win-c20@1,1,80,80")
    assert is_bank_query("win-orig@S+5") and is_bank_query("win-c40@A-14")  # rotation windows
    assert not is_bank_query("win-pq1@0,0,10,10") and not is_bank_query("win-k55@3,4,55,55")
    assert not is_bank_query("win-c60@B-14") and not is_bank_query("win-c20")  # malformed: no target


def _closest_allowed(registered: list[Hash], found: list[Hash]) -> int:
    """The smallest PDQ distance over every pair the pairing rule allows, both hashes trusted:
    the matcher's answer computed the slow way, pair by pair."""
    return min(
        hamming_hex(r.value, f.value)
        for r in registered
        for f in found
        if r.signal == f.signal == "pdq"
        and (r.quality or 0) >= PDQ_MIN_QUALITY
        and (f.quality or 0) >= PDQ_MIN_QUALITY
        and may_compare(r.variant, f.variant)
    )


def test_a_prepared_found_set_gives_the_pair_by_pair_answer(photos: Path) -> None:
    """prepare_found groups and unpacks the found hashes once; the best PDQ pair it finds is the
    closest pair the pairing rule allows, computed here pair by pair, for own and other photos."""
    paths = _photos(photos, 3)
    registered = [registered_hashes(load_rgb(p.read_bytes())) for p in paths]
    for i, path in enumerate(paths):
        found = found_image_hashes(load_rgb(_random_crop_jpeg(path, 20, seed=i)))
        prepared = prepare_found(iter(found))  # an iterator is read once, not spent
        assert len(prepared.hashes) == len(found)
        assert prepare_found(prepared) is prepared
        for reg in registered:
            match = best_match(reg, prepared)
            assert match is not None and match.signal == "pdq"
            closest = _closest_allowed(reg, found)
            # Among matches a view of the whole copy is preferred to a closer window (a simpler
            # explanation for a reviewer); otherwise the answer is the closest allowed pair.
            assert match.distance == closest or (match.matched and window_code(match.found_variant) is None)
    # A byte-identical file wins before any PDQ pair.
    twin = Hash("sha256", "ab" * 32, None, "file")
    match = best_match([*registered[0], twin], prepare_found([twin, *found]))
    assert match is not None and (match.signal, match.distance) == ("sha256", 0)


def test_matching_many_items_at_once_gives_each_item_its_own_answer(photos: Path) -> None:
    """best_matches compares each window group with every item's allowed hashes in one product;
    each item must still get the answer best_match gives it alone, and the closest pair the
    pairing rule allows for *that* item (computed pair by pair), never another item's pair. The
    items here mix photos, an empty item, one with only untrusted hashes and a duplicate."""
    paths = _photos(photos, 4)
    registered = [registered_hashes(load_rgb(p.read_bytes())) for p in paths]
    untrusted = [Hash("pdq", h.value, 10, h.variant) for h in registered[1] if h.signal == "pdq"]
    items = [registered[2], [], registered[0], untrusted, registered[3], registered[2]]
    for i, path in enumerate(paths[:2]):
        found = found_image_hashes(load_rgb(_random_crop_jpeg(path, 25, seed=10 + i)))
        prepared = prepare_found(found)
        together = best_matches(items, prepared)
        assert together == [best_match(item, prepared) for item in items]
        assert together[1] is None
        assert together[0] == together[5]
        for item, match in zip(items, together, strict=True):
            if match is not None and match.signal == "pdq":
                closest = _closest_allowed(item, found)
                assert match.distance == closest or (match.matched and window_code(match.found_variant) is None)
                assert any(r.variant == match.registered_variant for r in item)
    # The copy of photo 0 matches item 2 (photo 0) and not the other photos.
    prepared = prepare_found(found_image_hashes(load_rgb(_random_crop_jpeg(paths[0], 25, seed=10))))
    verdicts = [m is not None and m.matched for m in best_matches(items, prepared)]
    assert verdicts == [False, False, True, False, False, False]


def test_pairing_rule() -> None:
    # A window meets only what it stands for.
    assert may_compare("crop-c20", "win-c20@0,0,10,10")
    assert not may_compare(ORIGINAL, "win-c20@0,0,10,10")
    assert may_compare(ORIGINAL, "win-orig@G+7")
    assert not may_compare("crop-c20", "win-orig@G+7")
    assert may_compare("crop-k55t15l30", "win-k55@1,2,3,4")
    assert not may_compare("crop-k64t12l12", "win-k55@1,2,3,4")
    assert may_compare("part-b20", "win-pb20@0,0,80,100")
    assert not may_compare("part-t20", "win-pb20@0,0,80,100")
    # Variants registered for windows only never meet an ordinary view of a copy.
    assert is_window_only("part-b20")
    assert is_window_only("crop-k55t15l30")
    assert not is_window_only("crop-c20")
    assert not may_compare("part-b20", "found")
    assert not may_compare("crop-k55t15l30", "found-trim-rot90")
    assert may_compare("crop-c20", "found")
    assert may_compare(ORIGINAL, "found-block")
    # The central 40% is met by rotation windows only (too little picture for every view).
    assert is_window_only("crop-c60")
    assert may_compare("crop-c60", "win-c60@B-14")
    assert not may_compare("crop-c60", "found")
    assert not may_compare("crop-c60", "found-block-rot90")
    # Malformed window labels meet nothing.
    assert window_code("win-c20") is None
    assert not any(may_compare(spec.label, "win-c20") for spec in REGISTERED_VARIANTS)
    # The older one-target helper still answers for central crops.
    assert window_target("win-c20@0,0,10,10") == "crop-c20"
    assert window_target("found-trim") is None


def test_every_window_stands_for_a_registered_variant() -> None:
    """A window whose target is not registered would be hashed for nothing."""
    rgb = scene(300, 400, seed=2)
    registered = {ORIGINAL, *(spec.label for spec in REGISTERED_VARIANTS)}
    windows = box_window_hashes(rgb, 100) + rotation_window_hashes(rgb, 100)
    codes = {window_code(h.variant) for h in windows}
    for code in codes:
        assert any(may_compare(label, f"win-{code}@x") for label in registered), code


def test_window_labels_fit_the_found_variant_column() -> None:
    """takedown.matching stores found_variant in a CharField(max_length=32)."""
    rgb = scene(600, 2000, seed=5)
    labels = [h.variant for h in box_window_hashes(rgb, 100) + rotation_window_hashes(rgb, 100)]
    assert max(len(label) for label in labels) <= 32
    assert max(len(spec.label) for spec in REGISTERED_VARIANTS) <= 32


@pytest.mark.parametrize(("percent", "seed"), [(10, 1), (20, 2), (30, 3)])
def test_random_offset_crop_of_a_shared_photo_matches(photos: Path, percent: int, seed: int) -> None:
    path = _photos(photos, 7)[seed]
    registered = registered_hashes(load_rgb(path))
    found = found_image_hashes(load_rgb(_random_crop_jpeg(path, percent, seed)))
    match = best_match(registered, found)
    assert match is not None
    assert match.matched
    assert match.signal == "pdq"


def test_corner_crop_is_found_only_by_the_window_search(photos: Path) -> None:
    """25% cut from the top and left only: no registered variant or view lines up with it."""
    path = _photos(photos, 7)[4]
    rgb = load_rgb(path)
    registered = registered_hashes(rgb)
    h, w = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(rgb[h // 4 :, w // 4 :]).save(buf, "JPEG", quality=90)
    found = found_image_hashes(load_rgb(buf.getvalue()))
    usual = best_match(registered, [f for f in found if not f.variant.startswith("win-")])
    assert usual is not None
    assert not usual.matched
    match = best_match(registered, found)
    assert match is not None
    assert match.matched
    assert match.found_variant.startswith("win-")
    assert may_compare(match.registered_variant, match.found_variant)


def test_crop_search_does_not_match_unrelated_photos(photos: Path) -> None:
    paths = _photos(photos, 6)
    registered = [registered_hashes(load_rgb(p)) for p in paths]
    for i, path in enumerate(paths):
        found = found_image_hashes(load_rgb(_random_crop_jpeg(path, 25, i)))
        for j, reg in enumerate(registered):
            if i == j:
                continue
            match = best_match(reg, found)
            assert match is not None
            assert not match.matched, (path.name, paths[j].name, match)


def test_box_and_rotation_windows_share_their_blurs_bit_for_bit() -> None:
    """One :class:`BlurredLuma` serves both window searches of a found image: the same hashes as
    each search blurring on its own, and every blur size made once."""
    rgb = scene(375, 500, seed=5)
    y = luma(rgb)
    made: list[tuple[int, int]] = []

    def counting(picture: np.ndarray, height: float, width: float) -> np.ndarray:
        made.append((math.ceil(height / 128), math.ceil(width / 128)))
        return blurred_luma(picture, height, width)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("takedown.hashing.window_pdq.blurred_luma", counting)
        shared = BlurredLuma(y)
        together = box_window_hashes(rgb, 100, shared) + rotation_window_hashes(rgb, 100, shared)
        shared_sizes = list(made)
        made.clear()
        apart = box_window_hashes(rgb, 100, y) + rotation_window_hashes(rgb, 100, y)
    assert together == apart
    # The cache key is PDQ's blur size: windows of 200 and 250 rows share one (ceil(side / 128) = 2).
    for height, width in ((200, 300), (250, 260), (129, 129), (128, 128), (16, 400)):
        assert np.array_equal(shared.for_window(height, width), blurred_luma(y, height, width))
    assert len(shared_sizes) == len(set(shared_sizes))  # each blur size made once
    assert len(shared_sizes) < len(made)  # apart, the rotation windows blur sizes again


@pytest.mark.parametrize("seed", [1, 2])
def test_rotation_windows_sample_the_picture_as_pillows_affine_transform_did(photos: Path, seed: int) -> None:
    """OpenCV replaced Pillow for the rotated windows (a quarter of the time): the words must stay
    what the windows were measured with (docs/benchmarks/robustness.md), at every angle, in both
    modes and at every blur size of a photo. Up to 2 bits may differ: OpenCV rounds its bilinear
    weights to 1/32 of a pixel, which now and then tips a coefficient across the median (1 word of
    3,200 on 10 photos). Windows moved half over the picture's edge (the search never makes them:
    its windows fit inside the copy) may differ by more: there Pillow repeats the edge pixel for the
    last half pixel where OpenCV reads 0."""
    rgb = load_rgb(sorted((photos / "tf_flowers").glob("*.jpg"))[seed * 40].read_bytes())
    windows = rotation_windows(*rgb.shape[:2])
    blurs = BlurredLuma(luma(rgb))
    rng = np.random.default_rng(seed)
    inside: list[int] = []
    over_the_edge: list[int] = []
    for size in sorted({blur_size(w.height, w.width) for w in windows}):
        group = [w for w in windows if blur_size(w.height, w.width) == size]
        blurred = blurs.for_window(group[0].height, group[0].width)
        boxes = [(w.centre_x, w.centre_y, w.width, w.height, w.degrees) for w in group]
        moved = [(cx + rng.choice([-0.5, 0.5]) * w, cy, w, h, d) for cx, cy, w, h, d in boxes[:5]]
        for batch, into in ((boxes, inside), (moved, over_the_edge)):
            differing = np.bitwise_count(rotated_windows(blurred, batch) ^ pillow_rotated_windows(blurred, batch))
            into.extend(int(bits) for bits in differing.sum(axis=1))
    assert len(inside) > 200 and len(over_the_edge) >= 5
    assert max(inside) <= 2, sorted(inside)[-5:]
    assert statistics.median(over_the_edge) <= 4 and max(over_the_edge) <= 16, over_the_edge
