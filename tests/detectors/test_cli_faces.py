"""``python -m takedown.hashing faces``: templates only with explicit consent, per-file reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
from PIL import Image

from takedown.detectors.base import DetectorContext, templates_from_bundle
from takedown.detectors.faces import FaceDetector
from takedown.detectors.media import medium_from_bytes
from takedown.hashing.bundle import load_bundle
from tests.detectors.helpers import CHIRAC, KLOBUCHAR, NO_FACE, OBAMA, REPO, side_by_side

SCHEMA = json.loads((REPO / "docs" / "hash-bundle.schema.json").read_text())


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takedown.hashing", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_without_consent_nothing_is_computed_or_written(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    result = _cli("faces", str(OBAMA[0]), "--bundle", str(bundle))
    assert result.returncode == 4
    assert "A face template is a list of 128 numbers" in result.stderr
    assert "Nothing was computed or written" in result.stderr and "--i-consent-to-face-matching" in result.stderr
    assert not bundle.exists()


def test_with_consent_templates_are_added_to_an_existing_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    hashed = _cli("hash", str(NO_FACE), "-o", str(bundle))
    assert hashed.returncode == 0, hashed.stderr
    before = load_bundle(bundle.read_bytes())
    group = tmp_path / "group.jpg"
    side_by_side(CHIRAC[0], KLOBUCHAR[1]).save(group)
    result = _cli(
        "faces", str(OBAMA[0]), str(OBAMA[1]), str(NO_FACE), str(group), "--bundle", str(bundle),
        "--i-consent-to-face-matching",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"skipped {NO_FACE}: no face found" in result.stderr
    assert f"skipped {group}: 2 faces found; use a photo with only you in it" in result.stderr
    assert "2 face template(s), 2 new" in result.stderr
    text = bundle.read_text()
    after = load_bundle(text)
    jsonschema.validate(json.loads(text), SCHEMA)
    assert after.items == before.items
    assert len(after.face_templates) == 2 and len({f.id for f in after.face_templates}) == 2
    assert "obama" not in text and str(tmp_path) not in text
    inspected = _cli("inspect", str(bundle))
    assert "2 face template(s) (dlib-resnet-v1)" in inspected.stdout

    again = _cli("faces", str(OBAMA[0]), "--bundle", str(bundle), "--i-consent-to-face-matching")
    assert again.returncode == 1 and "already in the bundle" in again.stderr
    assert load_bundle(bundle.read_bytes()) == after


def test_new_bundle_with_faces_only(tmp_path: Path) -> None:
    bundle = tmp_path / "faces.json"
    result = _cli("faces", str(KLOBUCHAR[0]), "--bundle", str(bundle), "--i-consent-to-face-matching")
    assert result.returncode == 0, result.stderr
    loaded = load_bundle(bundle.read_bytes())
    assert loaded.items == () and len(loaded.face_templates) == 1
    # The service side turns bundle templates into detector templates; the portrait's own face matches.
    (template,) = templates_from_bundle(loaded.face_templates)
    finding = FaceDetector().analyse(medium_from_bytes(KLOBUCHAR[1].read_bytes()), DetectorContext((template,)))
    assert finding.positive and finding.details["template_id"] == loaded.face_templates[0].id
    assert "0 items (face templates only)" in _cli("inspect", str(bundle)).stdout
    jsonschema.validate(json.loads(bundle.read_text()), SCHEMA)


def test_nothing_usable_is_an_error_and_hash_does_not_load_dlib(tmp_path: Path) -> None:
    bundle = tmp_path / "b.json"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(OBAMA[0].read_bytes()[:3000])
    result = _cli("faces", str(broken), str(NO_FACE), "--bundle", str(bundle), "--i-consent-to-face-matching")
    assert result.returncode == 1 and f"skipped {broken}: " in result.stderr
    assert "no face template was made" in result.stderr and not bundle.exists()
    code = (
        "import sys; from takedown.cli.hashing import main\n"
        f"assert main(['hash', {str(NO_FACE)!r}, '-o', {str(bundle)!r}]) == 0\n"
        "import takedown.detectors.faces as faces\n"
        "assert 'dlib' not in sys.modules and not faces.MODELS.loaded\n"
    )
    check = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_a_poor_portrait_is_added_with_a_warning(tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    with Image.open(OBAMA[0]) as im:
        im.convert("RGB").resize((im.width // 8, im.height // 8)).save(small, quality=90)
    bundle = tmp_path / "b.json"
    result = _cli("faces", str(small), "--bundle", str(bundle), "--i-consent-to-face-matching")
    assert result.returncode == 0, result.stderr
    assert f"warning {small}: the face is small (" in result.stderr and "matches better" in result.stderr
    assert len(load_bundle(bundle.read_bytes()).face_templates) == 1
