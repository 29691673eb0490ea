"""Canonical preprocessing: modes, alpha, reduction, orientation, limits, PDQ parity."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from conftest import encode, scene
from PIL import Image, ImageOps

from takedown.hashing.bits import bits_to_hex, hamming_hex
from takedown.hashing.errors import FileTooLargeError, ImageTooLargeError, UnreadableMediaError
from takedown.hashing.image import (
    hash_rgb,
    load_rgb,
    pil_to_rgb,
    reduce_for_hashing,
    rgba_to_rgb,
    working_factor,
)


def test_rgba_composite_formula_over_white() -> None:
    arr = np.array([[[0, 100, 255, 0], [0, 100, 255, 255], [200, 10, 0, 128]]], dtype=np.uint8)
    out = rgba_to_rgb(arr)
    assert out.tolist() == [
        [
            [255, 255, 255],
            [0, 100, 255],
            [(200 * 128 + 255 * 127 + 127) // 255, (10 * 128 + 255 * 127 + 127) // 255, (255 * 127 + 127) // 255],
        ]
    ]


@pytest.mark.parametrize(
    ("short", "k"), [(100, 1), (255, 1), (256, 1), (511, 1), (512, 2), (1023, 2), (1024, 4), (2048, 8), (9000, 8)]
)
def test_working_factor(short: int, k: int) -> None:
    assert working_factor(short, short + 10) == k
    assert working_factor(short + 10, short) == k


def test_reduce_box_average_rounding_and_floor_size() -> None:
    rgb = np.zeros((1025, 1030, 3), dtype=np.uint8)
    rgb[0:4, 0:4] = [[1], [2], [3], [4]]  # block sum 40 over 16 -> (40 + 8) // 16 = 3
    rgb[0, 4] = 8  # block sum 8 -> (8 + 8) // 16 = 1
    out = reduce_for_hashing(rgb)
    assert out.shape == (256, 257, 3)
    assert out[0, 0].tolist() == [3, 3, 3]
    assert out[0, 1].tolist() == [1, 1, 1]
    small = scene(200, 300)
    assert reduce_for_hashing(small) is not None
    assert np.array_equal(reduce_for_hashing(small), small)


def _mode_image(mode: str, rgb: np.ndarray) -> Image.Image:
    base = Image.fromarray(rgb)
    if mode == "P":
        return base.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "PA":
        return base.convert("P", palette=Image.Palette.ADAPTIVE).convert("PA")
    if mode == "I;16":
        return Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(np.asarray(base.convert("L")).astype(np.int32) * 257, "I")
    if mode == "F":
        return Image.fromarray(np.asarray(base.convert("L")).astype(np.float32), "F")
    return base.convert(mode)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "HSV", "I", "I;16", "F"])
def test_every_mode_converts_to_rgb_uint8(mode: str) -> None:
    rgb = scene(64, 80)
    im = _mode_image(mode, rgb)
    assert im.mode == mode
    out = pil_to_rgb(im)
    assert out.shape == (64, 80, 3)
    assert out.dtype == np.uint8
    if mode in {"L", "I", "I;16", "F"}:
        grey = np.asarray(Image.fromarray(rgb).convert("L"))
        assert np.array_equal(out[:, :, 0], grey)
        assert np.array_equal(out[:, :, 1], grey)
    if mode in {"RGB", "RGBA", "YCbCr", "HSV", "P", "PA", "CMYK"}:
        assert np.abs(out.astype(int) - rgb).mean() < 12  # lossy modes stay close to the source


def test_cmyk_follows_documented_formula() -> None:
    cmyk = np.random.default_rng(3).integers(0, 256, (20, 20, 4), dtype=np.uint8)
    out = pil_to_rgb(Image.fromarray(cmyk, "CMYK"))
    t = (255 - cmyk[:, :, :3].astype(np.int64)) * (255 - cmyk[:, :, 3:4].astype(np.int64)) + 128
    assert np.array_equal(out, (((t >> 8) + t) >> 8).astype(np.uint8))


def test_lab_uses_colour_management_not_byte_copy() -> None:
    # Pillow's LAB stores a* and b* as signed bytes: white is (255, 0, 0).
    white_lab = Image.new("RGB", (4, 4), (255, 255, 255)).convert("LAB")
    assert np.asarray(white_lab).tolist()[0][0] == [255, 0, 0]
    assert pil_to_rgb(white_lab).min() >= 250
    red = pil_to_rgb(Image.new("RGB", (4, 4), (200, 30, 30)).convert("LAB"))
    assert np.abs(red.astype(int) - [200, 30, 30]).max() <= 6


def test_transparent_png_composites_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((300, 300, 4), dtype=np.uint8)
    path = tmp_path / "clear.png"
    path.write_bytes(encode(rgba))
    assert load_rgb(path).min() == 255


def test_sixteen_bit_png_maps_to_eight_bit() -> None:
    data = encode(np.full((300, 300), 65535, dtype=np.uint16))
    assert load_rgb(data).min() == 255


def test_exif_orientation_applied(pdq_ref: Path) -> None:
    folder = pdq_ref / "reg-test-input" / "exif-rotn"
    for n in (1, 3, 6, 8):
        path = folder / f"exif-rotn-{n}.jpg"
        with Image.open(path) as im:
            stored = np.asarray(im.convert("RGB"))
            oriented = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        ours = load_rgb(path)
        k = 8  # 3024 / 8 >= 256
        assert ours.shape[:2] == (oriented.shape[0] // k, oriented.shape[1] // k), n
        value = hash_rgb(ours)[0].value
        assert hamming_hex(value, hash_rgb(reduce_for_hashing(oriented))[0].value) <= 16, n
        if n != 1:
            # Ignoring the tag would hash another (rotated or flipped) picture.
            wrong = hash_rgb(reduce_for_hashing(np.ascontiguousarray(stored)))[0].value
            assert hamming_hex(value, wrong) > 31, n


def test_jpeg_fast_path_close_to_exact(pdq_ref: Path) -> None:
    big = scene(1100, 1500)
    data = encode(big, "JPEG", quality=92)
    fast, exact = load_rgb(data), load_rgb(data, fast_path=False)
    assert fast.shape == exact.shape == (275, 375, 3)  # k = 4
    for a, b in zip(hash_rgb(fast), hash_rgb(exact), strict=True):
        assert hamming_hex(a.value, b.value) <= (16 if a.signal == "pdq" else 4)


def test_pdq_identical_pixels_identical_hash(pdq_ref: Path) -> None:
    for path in sorted(pdq_ref.rglob("*.jpg"))[:12]:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        bits, quality = pdqhash.compute(rgb)
        ours = hash_rgb(rgb)[0]
        assert ours.value == bits_to_hex(bits)
        assert ours.quality == quality


def test_pdq_meta_bit_order() -> None:
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = 1  # first vector element is the most significant bit of the hex text
    assert bits_to_hex(bits) == "8" + "0" * 63


def test_canonical_pdq_within_10_of_full_resolution(pdq_ref: Path) -> None:
    distances = {}
    for path in sorted(pdq_ref.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".png", ".webp"}:
            continue
        with Image.open(path) as im:
            full = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        bits, quality = pdqhash.compute(full)
        if quality < 80:
            continue
        ours = hash_rgb(load_rgb(path))[0]
        distances[path.name] = hamming_hex(ours.value, bits_to_hex(bits))
    assert len(distances) >= 30
    # Meta's criterion (<= 10) holds for every image but c.png (12 bits): the 2x2 box reduction
    # of the canonical path is not the full-resolution decode. Reported in docs/hashing.md.
    over = {name: d for name, d in distances.items() if d > 10}
    assert set(over) <= {"c.png"}, over
    assert max(distances.values()) <= 16
    assert sorted(distances.values())[len(distances) // 2] <= 4


def test_decompression_bomb_refused_from_header() -> None:
    data = encode(np.zeros((2000, 3000, 3), dtype=np.uint8), "PNG")
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        load_rgb(data, max_pixels=5_000_000)


def test_png_header_declaring_huge_size_is_refused() -> None:
    # A real bomb: a tiny file whose header claims 60000 x 60000 pixels.
    im = Image.new("1", (60000, 60000))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    assert len(buf.getvalue()) < 1_000_000
    with pytest.raises(ImageTooLargeError):
        load_rgb(buf.getvalue())


def test_file_byte_limit() -> None:
    with pytest.raises(FileTooLargeError):
        load_rgb(encode(scene()), max_bytes=100)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_file_is_a_clear_error(fmt: str) -> None:
    data = encode(scene(400, 400), fmt)
    with pytest.raises(UnreadableMediaError, match=r"truncated or corrupt|not a readable"):
        load_rgb(data[: len(data) // 2])


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(UnreadableMediaError):
        load_rgb(b"this is not an image at all")


def test_heic_and_avif_decode() -> None:
    rgb = scene(300, 400)
    reference = hash_rgb(load_rgb(encode(rgb)))[0].value
    for fmt in ("HEIF", "AVIF"):
        value = hash_rgb(load_rgb(encode(rgb, fmt, quality=90)))[0].value
        assert hamming_hex(value, reference) <= 31, fmt


def test_truncated_files_are_refused_even_if_another_library_allows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint sets Pillow's global LOAD_TRUNCATED_IMAGES on import; hashing must not follow."""
    from PIL import ImageFile

    from takedown.hashing.errors import UnreadableMediaError
    from takedown.hashing.image import load_rgb

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = (Path(__file__).resolve().parents[3] / "shared/data/photos/kodak/kodim01.png").read_bytes()
    with pytest.raises(UnreadableMediaError):
        load_rgb(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for the other library
