"""Browser hashes of real files, decoded by Chromium, against the Python hashes of the same files.

Targets (DESIGN section 4): for pictures whose PDQ quality is at least 80, PDQ within distance 10
and pHash within 4; PNG (lossless, decoded identically) gives identical hashes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from takedown.hashing.bundle import load_bundle
from takedown.hashing.media import hash_file
from takedown.hashing.signals import get_signal_type

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


def originals(hashes: object) -> dict[str, tuple[str, int | None]]:
    return {h.signal: (h.value, h.quality) for h in hashes if h.variant == "original"}  # type: ignore[attr-defined]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, list[Path]]:
    pngs = [PHOTOS / "kodak" / f"kodim{n:02d}.png" for n in (2, 9, 15, 20)]
    jpegs = sorted((PHOTOS / "coco2017_ccby").glob("*.jpg"))[:4]
    webps = []
    for i, source in enumerate(pngs[:3]):
        target = tmp_path / f"photo{i}.webp"
        Image.open(source).convert("RGB").save(target, "WEBP", quality=90)
        webps.append(target)
    return {"png": pngs, "jpeg": jpegs, "webp": webps}


def test_browser_hashes_match_python_hashes(page: Page, live_server: LiveServer, files: dict[str, list[Path]]) -> None:
    all_files = [f for group in files.values() for f in group]
    page.goto(live_server.url + "/start/report/")
    page.locator("[data-hasher-input]").first.set_input_files([str(f) for f in all_files])
    expect(page.locator("[data-hasher-status]").first).to_contain_text(f"{len(all_files)} file", timeout=90_000)
    bundle = load_bundle(page.locator('input[name="bundle"]').first.input_value())
    assert len(bundle.items) == len(all_files)
    by_sha = {next(h.value for h in item.hashes if h.signal == "sha256"): item for item in bundle.items}

    pdq, phash = get_signal_type("pdq"), get_signal_type("phash")
    compared = 0
    for kind, group in files.items():
        for path in group:
            python = hash_file(path)
            sha = next(h.value for h in python.hashes if h.signal == "sha256")
            browser = originals(by_sha[sha].hashes)
            expected = originals(python.hashes)
            if kind == "png":
                assert browser == expected, path.name
            elif (expected["pdq"][1] or 0) >= 80:
                assert pdq.distance(browser["pdq"][0], expected["pdq"][0]) <= 10, path.name
                assert phash.distance(browser["phash"][0], expected["phash"][0]) <= 4, path.name
            compared += 1
    assert compared == len(all_files)
