"""``python -m takedown.hashing faces-compare``: one JSON array, templates named BUNDLE#position."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from takedown.detectors.base import DetectorContext, templates_from_bundle
from takedown.detectors.faces import FACE_MATCH_THRESHOLD, FaceDetector
from takedown.detectors.media import medium_from_bytes
from takedown.hashing.bundle import load_bundle
from tests.detectors.helpers import CHIRAC, KLOBUCHAR, NO_FACE, OBAMA, REPO, side_by_side


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takedown.hashing", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """T1: two portraits of Obama (in that order); T2: one of Klobuchar."""
    folder = tmp_path_factory.mktemp("templates")
    t1, t2 = folder / "T1.json", folder / "T2.json"
    for bundle, photos in ((t1, OBAMA[:2]), (t2, KLOBUCHAR[:1])):
        made = _cli("faces", *map(str, photos), "--bundle", str(bundle), "--i-consent-to-face-matching")
        assert made.returncode == 0, made.stderr
    return t1, t2


def test_each_picture_lists_its_faces_distances_and_matches(bundles: tuple[Path, Path], tmp_path: Path) -> None:
    group = tmp_path / "group.jpg"
    side_by_side(CHIRAC[0], KLOBUCHAR[1]).save(group, quality=92)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(OBAMA[0].read_bytes()[:2000])
    images = [OBAMA[2], KLOBUCHAR[1], NO_FACE, broken, group]
    # Relative bundle paths: the names in the output are the arguments as given.
    result = _cli(
        "faces-compare", "--templates", "T1.json", "--templates", "T2.json", *map(str, images), cwd=bundles[0].parent
    )
    assert result.returncode == 0, result.stderr
    out: list[dict[str, Any]] = json.loads(result.stdout)
    assert [entry["image"] for entry in out] == [str(p) for p in images]
    names = {"T1.json#0", "T1.json#1", "T2.json#0"}

    obama, klobuchar, no_face, unreadable, two = out
    for entry in (obama, klobuchar, two):
        assert set(entry) == {"image", "faces"}
        for face in entry["faces"]:
            assert set(face) == {"box", "distances", "matches"}
            assert set(face["distances"]) == names
            left, top, right, bottom = face["box"]
            assert 0 <= left < right and 0 <= top < bottom
            within = {name for name, d in face["distances"].items() if d <= FACE_MATCH_THRESHOLD}
            assert set(face["matches"]) == within
    (face,) = obama["faces"]
    assert sorted(face["matches"]) == ["T1.json#0", "T1.json#1"]
    (face,) = klobuchar["faces"]
    assert face["matches"] == ["T2.json#0"]
    assert no_face == {"image": str(NO_FACE), "faces": []}
    assert set(unreadable) == {"image", "error"} and unreadable["error"]
    assert len(two["faces"]) == 2
    width = Image.open(group).width
    by_side = sorted(two["faces"], key=lambda f: f["box"][0])
    assert by_side[0]["box"][2] <= width // 2 <= by_side[1]["box"][0]  # Chirac left, Klobuchar right
    assert by_side[0]["matches"] == [] and by_side[1]["matches"] == ["T2.json#0"]

    # What it prints is what the service's detector decides on the same picture and templates.
    templates = templates_from_bundle(load_bundle(bundles[0].read_bytes()).face_templates)
    finding = FaceDetector().analyse(medium_from_bytes(OBAMA[2].read_bytes()), DetectorContext(templates))
    closest = min(obama["faces"][0]["distances"][n] for n in ("T1.json#0", "T1.json#1"))
    assert finding.details["distance"] == pytest.approx(closest, abs=2e-4)


def test_position_is_the_order_of_the_portraits(bundles: tuple[Path, Path], tmp_path: Path) -> None:
    single = tmp_path / "second.json"
    made = _cli("faces", str(OBAMA[1]), "--bundle", str(single), "--i-consent-to-face-matching")
    assert made.returncode == 0, made.stderr
    out = json.loads(
        _cli("faces-compare", "--templates", str(bundles[0]), "--templates", str(single), str(OBAMA[1])).stdout
    )
    distances = out[0]["faces"][0]["distances"]
    # The same portrait gives the same template: T1's second entry, not its first.
    assert distances[f"{bundles[0]}#1"] == pytest.approx(distances[f"{single}#0"], abs=1e-4)
    assert distances[f"{single}#0"] < 0.01 < distances[f"{bundles[0]}#0"]


def test_bad_template_bundles_and_nothing_readable(bundles: tuple[Path, Path], tmp_path: Path) -> None:
    hashes_only = tmp_path / "hashes.json"
    assert _cli("hash", str(NO_FACE), "-o", str(hashes_only)).returncode == 0
    result = _cli("faces-compare", "--templates", str(hashes_only), str(OBAMA[0]))
    assert result.returncode == 2 and "holds no face templates" in result.stderr and result.stdout == ""
    twice = _cli("faces-compare", "--templates", str(bundles[1]), "--templates", str(bundles[1]), str(OBAMA[0]))
    assert twice.returncode == 2 and "given twice" in twice.stderr
    missing = _cli("faces-compare", "--templates", str(tmp_path / "nope.json"), str(OBAMA[0]))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    nothing = _cli("faces-compare", "--templates", str(bundles[1]), str(empty))
    assert nothing.returncode == 1
    assert json.loads(nothing.stdout) == [{"image": str(empty), "error": "the file is empty"}]
