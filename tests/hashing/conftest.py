"""Shared fixtures: paths to ../shared/data (read in place) and small generated pictures."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
PDQ_REF = SHARED / "pdq-reference"
VIDEOS = SHARED / "videos"
PHOTOS = SHARED / "photos"


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Override tests/conftest.py's Redis cache reset: the hashing library has no Django and no
    cache, and its tests must run with ``-p no:django`` and without Redis."""
    return


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data missing: {path}")
    return path


@pytest.fixture(scope="session")
def pdq_ref() -> Path:
    return _require(PDQ_REF)


@pytest.fixture(scope="session")
def videos() -> Path:
    return _require(VIDEOS)


@pytest.fixture(scope="session")
def photos() -> Path:
    return _require(PHOTOS)


def scene(height: int = 300, width: int = 400, seed: int = 1) -> np.ndarray:
    """A detailed synthetic RGB picture (gradients + shapes + noise) with high PDQ quality."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [
            128 + 100 * np.sin(x / (13 + seed)),
            128 + 100 * np.cos(y / (17 + seed)),
            128 + 100 * np.sin((x + y) / (23 + seed)),
        ],
        axis=2,
    )
    for _ in range(12):
        cy, cx, r = rng.integers(0, height), rng.integers(0, width), rng.integers(10, 60)
        base[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
    base += rng.normal(0, 4, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def encode(arr: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def scene_png(tmp_path: Path) -> Path:
    path = tmp_path / "scene.png"
    path.write_bytes(encode(scene()))
    return path
