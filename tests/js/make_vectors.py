"""Write the test vectors the JavaScript parity tests compare against.

Run with the project's Python (``.venv/bin/python tests/js/make_vectors.py [OUT_DIR]``). The output
directory defaults to ``$TAKEDOWN_JS_VECTORS`` or ``var/js-vectors`` (git-ignored); nothing here is
committed. Every expected value comes from the Python reference stack the server uses:
``pdqhash`` (Meta's C++ PDQ), ``imagehash`` on Pillow, scipy's DCT, numpy and hashlib.

The canonical preprocessing (composite over white, working-size reduction) is written out here in
numpy exactly as the agreed contract states it. When ``takedown.hashing.image.hash_rgb`` is
importable, its results are checked against the ones computed here, so a contract drift between
the Python library and these vectors fails at generation time instead of silently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import struct
import sys
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import numpy.typing as npt
import pdqhash
import PIL
import scipy.fftpack
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TAKEDOWN_SHARED_DATA", REPO.parent / "shared" / "data"))
PHOTOS = DATA / "photos"
PDQ_REFERENCE = DATA / "pdq-reference"


# --- the canonical contract, in numpy -------------------------------------------------------


def composite_over_white(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Contract step 2: out = floor((c*a + 255*(255-a) + 127) / 255), per channel."""
    c = rgba[:, :, :3].astype(np.int32)
    a = rgba[:, :, 3:4].astype(np.int32)
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def working_factor(height: int, width: int) -> int:
    """Contract step 3: the largest k in {8,4,2,1} with min(H,W)/k >= 256."""
    for k in (8, 4, 2):
        if min(height, width) >= 256 * k:
            return k
    return 1


def reduce_working_size(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Contract step 3: rounded k x k box average, trailing rows/columns dropped."""
    h, w = rgb.shape[:2]
    k = working_factor(h, w)
    if k == 1:
        return rgb
    hh, ww = h // k, w // k
    blocks = rgb[: hh * k, : ww * k].astype(np.int64).reshape(hh, k, ww, k, 3)
    sums = blocks.sum(axis=(1, 3))
    out: npt.NDArray[np.uint8] = ((sums + (k * k) // 2) // (k * k)).astype(np.uint8)
    return out


def pdq_hex(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(np.asarray(bits).astype(np.uint8)).tobytes().hex(), int(quality)


# --- small helpers ----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def case_from_rgba(name: str, rgba: npt.NDArray[np.uint8], *, debug: bool = True) -> dict[str, Any]:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    rgb = composite_over_white(rgba)
    reduced = np.ascontiguousarray(reduce_working_size(rgb))
    pdq, quality = pdq_hex(reduced)
    image = Image.fromarray(reduced)
    case = {
        "name": name,
        "width": w,
        "height": h,
        "rgba_b64": b64(rgba.tobytes()),
        "composite_sha256": sha256(rgb.tobytes()),
        "reduced": {
            "width": int(reduced.shape[1]),
            "height": int(reduced.shape[0]),
            "factor": working_factor(h, w),
            "sha256": sha256(reduced.tobytes()),
        },
        "pdq": pdq,
        "pdq_quality": quality,
        "phash": str(imagehash.phash(image)),
        "dhash": str(imagehash.dhash(image)),
    }
    if debug:
        # Intermediates, so a failing test can say which step diverged.
        grey = image.convert("L")
        case["debug"] = {
            "l_sha256": sha256(grey.tobytes()),
            "phash_pixels": list(grey.resize((32, 32), Image.Resampling.LANCZOS).tobytes()),
            "dhash_pixels": list(grey.resize((9, 8), Image.Resampling.LANCZOS).tobytes()),
        }
    check_against_library(name, reduced, case)
    registered = registered_hashes_or_none(reduced)
    if registered is not None:
        case["registered"] = registered
    return case


def registered_hashes_or_none(reduced: npt.NDArray[np.uint8]) -> list[dict[str, Any]] | None:
    """takedown.hashing.variants.registered_hashes, if the library has it (variants are defined
    only there: crops, rotations, border trim)."""
    sys.path.insert(0, str(REPO))
    try:
        from takedown.hashing.variants import registered_hashes
    except Exception:  # noqa: BLE001 - not there yet
        return None
    return [
        {"signal": h.signal, "value": h.value, "quality": h.quality, "variant": h.variant}
        for h in registered_hashes(reduced)
    ]


_LIBRARY_CHECKED: dict[str, Any] = {"available": None, "cases": 0}


def check_against_library(name: str, reduced: npt.NDArray[np.uint8], case: dict[str, Any]) -> None:
    """If the Python hashing library exists, it must agree with the contract written here."""
    sys.path.insert(0, str(REPO))
    try:
        from takedown.hashing.image import hash_rgb
    except Exception:  # noqa: BLE001 - any import failure means "not there yet"
        _LIBRARY_CHECKED["available"] = False
        return
    _LIBRARY_CHECKED["available"] = True
    from takedown.hashing.image import reduce_for_hashing, rgba_to_rgb

    rgba = np.frombuffer(base64.b64decode(case["rgba_b64"]), np.uint8).reshape(case["height"], case["width"], 4)
    lib_rgb = rgba_to_rgb(rgba)
    if sha256(lib_rgb.tobytes()) != case["composite_sha256"]:
        raise SystemExit(f"{name}: takedown.hashing rgba_to_rgb differs from the contract")
    if sha256(np.ascontiguousarray(reduce_for_hashing(lib_rgb)).tobytes()) != case["reduced"]["sha256"]:
        raise SystemExit(f"{name}: takedown.hashing reduce_for_hashing differs from the contract")
    got = {h.signal: h for h in hash_rgb(reduced)}
    expected = {"pdq": case["pdq"], "phash": case["phash"], "dhash": case["dhash"]}
    for signal, value in expected.items():
        if signal in got and got[signal].value != value:
            raise SystemExit(f"{name}: takedown.hashing {signal}={got[signal].value} but contract gives {value}")
    if "pdq" in got and got["pdq"].quality != case["pdq_quality"]:
        raise SystemExit(f"{name}: takedown.hashing PDQ quality differs from pdqhash")
    _LIBRARY_CHECKED["cases"] += 1


def rgba_of(path: Path) -> npt.NDArray[np.uint8]:
    with Image.open(path) as im:
        im.load()
        return np.asarray(im.convert("RGBA"))


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int = 6) -> npt.NDArray[np.uint8]:
    """Random low-frequency colour field (looks more like a photo than white noise does)."""
    small = rng.integers(0, 256, size=(cells, cells, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    out: npt.NDArray[np.uint8] = np.asarray(img)
    return out


def with_alpha(rgb: npt.NDArray[np.uint8], alpha: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.dstack([rgb, alpha.astype(np.uint8)])


# --- the vector sets --------------------------------------------------------------------------


def image_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20240601)
    cases = []

    def add(name: str, rgba: npt.NDArray[np.uint8], *, debug: bool = True) -> None:
        cases.append(case_from_rgba(name, rgba, debug=debug))

    def opaque(h: int, w: int) -> npt.NDArray[np.uint8]:
        return np.full((h, w), 255, np.uint8)

    # Tiny and odd sizes: PDQ's minimum dimension (5), Lanczos upscaling, k = 1.
    for h, w in [(1, 1), (2, 3), (4, 7), (5, 5), (7, 13), (17, 23), (31, 33)]:
        add(f"random-{h}x{w}", rng.integers(0, 256, (h, w, 4), dtype=np.uint8))
    add("random-64x64-opaque", with_alpha(rng.integers(0, 256, (64, 64, 3), np.uint8), opaque(64, 64)))
    add("smooth-64x64", with_alpha(smooth_noise(rng, 64, 64), opaque(64, 64)))
    add("smooth-100x300", with_alpha(smooth_noise(rng, 100, 300), opaque(100, 300)))
    add("smooth-257x300-k1", with_alpha(smooth_noise(rng, 257, 300), opaque(257, 300)))
    add("smooth-511x777-k1", with_alpha(smooth_noise(rng, 511, 777, 9), opaque(511, 777)))
    add(
        "smooth-513x512-k2",
        with_alpha(smooth_noise(rng, 513, 512, 9), rng.integers(0, 256, (513, 512), dtype=np.uint8)),
    )
    add("random-600x530-k2", rng.integers(0, 256, (600, 530, 4), dtype=np.uint8))
    add("smooth-1031x1100-k4", with_alpha(smooth_noise(rng, 1031, 1100, 12), opaque(1031, 1100)))

    # Degenerate pictures, where rounding noise decides ties (the DCT must match exactly).
    add("flat-grey-300x300", with_alpha(np.full((300, 300, 3), 128, np.uint8), opaque(300, 300)))
    add("transparent-200x150", np.zeros((200, 150, 4), np.uint8))
    half = np.zeros((240, 320, 3), np.uint8)
    half[:, 160:] = 255
    add("two-tone-240x320", with_alpha(half, opaque(240, 320)))
    stripes = np.zeros((256, 256, 3), np.uint8)
    stripes[::2] = 200
    add("stripes-256x256", with_alpha(stripes, opaque(256, 256)))

    # Real photographs decoded by Pillow (the arrays are what matters, not the decoder).
    photos = [
        "kodak/kodim01.png",
        "kodak/kodim04.png",
        "kodak/kodim23.png",
        "skimage/hubble_deep_field.jpg",
        "coco2017_ccby/000000165518.jpg",
        "coco2017_ccby/000000062554.jpg",
        "tf_flowers/" + sorted(p.name for p in (PHOTOS / "tf_flowers").iterdir())[0],
        "us_congress_2015/" + sorted(p.name for p in (PHOTOS / "us_congress_2015").iterdir())[0],
    ]
    for rel in photos:
        path = PHOTOS / rel
        if path.suffix.lower() in {".md", ".csv"}:
            continue
        add(f"photo:{rel}", rgba_of(path))
    # Photo with a synthetic alpha ramp, and upscaled photos for the k=4 and k=8 reductions.
    kodak = rgba_of(PHOTOS / "kodak/kodim03.png")
    ramp = np.tile(np.linspace(0, 255, kodak.shape[1]).astype(np.uint8), (kodak.shape[0], 1))
    add("photo-alpha-ramp:kodak/kodim03.png", with_alpha(kodak[:, :, :3], ramp))
    with Image.open(PHOTOS / "kodak/kodim05.png") as im:
        big4 = np.asarray(im.convert("RGBA").resize((1537, 1030), Image.Resampling.BICUBIC))
        big8 = np.asarray(im.convert("RGBA").resize((2053, 2048), Image.Resampling.BICUBIC))
    padded = np.pad(kodak[::2, ::2], ((20, 20), (40, 40), (0, 0)), constant_values=0)
    padded[:, :, 3] = 255
    add("photo-black-pad:kodak/kodim03.png", padded)
    add("photo-upscaled-k4:kodak/kodim05.png", big4, debug=False)
    add("photo-upscaled-k8:kodak/kodim05.png", big8, debug=False)

    # Meta's PDQ reference images, in every Pillow mode (converted to RGBA by Pillow).
    # (Pillow's mode conversions are the decoder's business, not the hasher's; two modes with
    # an interesting palette or alpha are enough here and keep the vector file small.)
    for name in ("LA.png", "P.png"):
        add(f"pdq-reference:modes/{name}", rgba_of(PDQ_REFERENCE / "misc-images" / "modes" / name))
    for rel in [
        "bridge-mods/aaa-orig.jpg",
        "bridge-mods/square-128x128.jpg",
        "misc-images/wee.jpg",
        "misc-images/small.jpg",
        "reg-test-input/pen-and-coaster.png",
    ]:
        add(f"pdq-reference:{rel}", rgba_of(PDQ_REFERENCE / rel))
    return cases


def digest_cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    out = []
    for n in [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65537]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        out.append({"b64": b64(data), "md5": hashlib.md5(data).hexdigest(), "sha256": sha256(data)})
    text = b"The quick brown fox jumps over the lazy dog"
    out.append({"b64": b64(text), "md5": hashlib.md5(text).hexdigest(), "sha256": sha256(text)})
    return out


def pdq_dct_matrix() -> str:
    """Meta's 16x64 DCT matrix as float32 bytes, computed with libm's cos like the C++ does."""
    scale = struct.unpack("f", struct.pack("f", math.sqrt(2.0 / 64.0)))[0]
    values = [scale * math.cos((math.pi / 2 / 64.0) * (i + 1) * (2 * j + 1)) for i in range(16) for j in range(64)]
    return sha256(np.asarray(values, dtype=np.float32).tobytes())


def lanczos_coefficients(in_size: int, out_size: int) -> list[int]:
    """Pillow's precompute_coeffs + normalize_coeffs_8bpc (Resample.c), in Python floats (C doubles)."""

    def sinc(x: float) -> float:
        if x == 0.0:
            return 1.0
        x = x * math.pi
        return math.sin(x) / x

    def lanczos(x: float) -> float:
        return sinc(x) * sinc(x / 3) if -3.0 <= x < 3.0 else 0.0

    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    ksize = math.ceil(support) * 2 + 1
    out = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [lanczos((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        ww = sum(k) if k else 0.0
        # C sums left to right; Python's sum() of floats does the same.
        k = [v / ww for v in k] if ww != 0.0 else k
        k += [0.0] * (ksize - len(k))
        ints = [int(-0.5 + v * (1 << 22)) if v < 0 else int(0.5 + v * (1 << 22)) for v in k]
        out += [xmin, xmax, *ints]
    return out


def lanczos_table() -> dict[str, Any]:
    result = {}
    for out_size in (32, 9, 8):
        h = hashlib.sha256()
        for in_size in range(1, 2049):
            h.update(np.asarray(lanczos_coefficients(in_size, out_size), dtype="<i4").tobytes())
        result[str(out_size)] = h.hexdigest()
    return result


def dct_cases() -> list[dict[str, Any]]:
    """scipy.fftpack.dct (type II, axis 0 then 1) of 32x32 uint8 arrays, as exact float64 bytes."""
    rng = np.random.default_rng(99)
    arrays = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(20)]
    arrays += [np.full((32, 32), v, np.uint8) for v in (0, 1, 128, 255)]
    ramp = np.tile(np.arange(32, dtype=np.uint8) * 8, (32, 1))
    arrays += [ramp, ramp.T.copy()]
    out = []
    for a in arrays:
        d = scipy.fftpack.dct(scipy.fftpack.dct(a, axis=0), axis=1)
        out.append({"pixels": a.flatten().tolist(), "dct_f64_b64": b64(d.astype("<f8").tobytes())})
    return out


def candidate_variants() -> list[dict[str, Any]] | None:
    """Arrays after every candidate variant (and a pad) of a few pictures, as sha256 of bytes."""
    sys.path.insert(0, str(REPO))
    try:
        from takedown.hashing.variants import CANDIDATE_VARIANTS, pad_percent
    except Exception:  # noqa: BLE001 - not there yet
        return None
    out = []
    rng = np.random.default_rng(5)
    for h, w in [(37, 53), (240, 200), (301, 257)]:
        rgb = smooth_noise(rng, h, w, 5)
        arrays = {spec.label: spec.apply(rgb) for spec in CANDIDATE_VARIANTS}
        arrays["pad-10-white"] = pad_percent(rgb, 10, (255, 255, 255))
        arrays["pad-20-red"] = pad_percent(rgb, 20, (200, 10, 0))
        out.append(
            {
                "width": w,
                "height": h,
                "rgb_b64": b64(rgb.tobytes()),
                "results": {
                    label: {"width": int(a.shape[1]), "height": int(a.shape[0]), "sha256": sha256(a.tobytes())}
                    for label, a in arrays.items()
                },
            }
        )
    return out


def registered_labels() -> list[str] | None:
    sys.path.insert(0, str(REPO))
    try:
        from takedown.hashing.variants import REGISTERED_VARIANTS
    except Exception:  # noqa: BLE001 - not there yet
        return None
    return [spec.label for spec in REGISTERED_VARIANTS]


def main() -> None:
    out_dir = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TAKEDOWN_JS_VECTORS", REPO / "var" / "js-vectors")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    vectors: dict[str, Any] = {
        "generator": "tests/js/make_vectors.py",
        "versions": {
            "pdqhash": pdqhash.__version__,
            "imagehash": imagehash.__version__,
            "pillow": PIL.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "images": image_cases(),
        "digests": digest_cases(),
        "pdq_dct_matrix_f32_sha256": pdq_dct_matrix(),
        "lanczos_coefficients_sha256": lanczos_table(),
        "dct": dct_cases(),
        "library_checked": _LIBRARY_CHECKED,
        "registered_labels": registered_labels(),
        "candidates": candidate_variants(),
    }
    path = out_dir / "vectors.json"
    path.write_text(json.dumps(vectors))
    print(
        f"wrote {len(vectors['images'])} image vectors, {len(vectors['digests'])} digest vectors, "
        f"{len(vectors['dct'])} DCT vectors to {path}"
        f" (takedown.hashing cross-check: {_LIBRARY_CHECKED})"
    )


if __name__ == "__main__":
    main()
