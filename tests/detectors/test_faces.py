"""Face similarity with dlib on the shared portraits (nine public figures, several photos each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from takedown.detectors.base import DetectorConfigError, DetectorContext, DetectorError, FaceTemplate, Medium
from takedown.detectors.faces import (
    FACE_MATCH_THRESHOLD,
    LOOKS,
    MIN_FACE_WIDTH,
    OVAL,
    OVAL_FILL,
    FaceDetector,
    face_templates_from_image,
    find_faces,
    looks,
    model_directory,
)
from takedown.detectors.media import medium_from_bytes
from tests.detectors.helpers import CHIRAC, KLOBUCHAR, NO_FACE, OBAMA, PHOTOS, REPO, composite, jpeg, side_by_side


def _template(path: Path) -> FaceTemplate:
    with Image.open(path) as im:
        found = face_templates_from_image(im.convert("RGB"))
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def obama() -> FaceTemplate:
    return _template(OBAMA[0])


def test_template_shape(obama: FaceTemplate) -> None:
    assert len(obama.id) == 32 and int(obama.id, 16) >= 0
    assert obama.model == "dlib-resnet-v1"
    assert len(obama.vector) == 128 and all(abs(x) < 1.0 for x in obama.vector)


def test_same_person_in_another_photo_matches(obama: FaceTemplate) -> None:
    finding = FaceDetector().analyse(medium_from_bytes(OBAMA[2].read_bytes()), DetectorContext((obama,)))
    assert finding.positive and finding.detector == "face" and not finding.error
    assert finding.details["distance"] <= FACE_MATCH_THRESHOLD
    assert finding.details["template_id"] == obama.id and finding.details["faces"] == 1
    assert finding.score == pytest.approx(1 - finding.details["distance"], abs=1e-3)
    assert (
        "matches a face template" in finding.explanation and f"{finding.details['distance']:.2f}" in finding.explanation
    )


@pytest.mark.parametrize("other", [CHIRAC[0], KLOBUCHAR[0]])
def test_different_person_does_not_match(obama: FaceTemplate, other: Path) -> None:
    finding = FaceDetector().analyse(medium_from_bytes(other.read_bytes()), DetectorContext((obama,)))
    assert not finding.positive and finding.details["distance"] > FACE_MATCH_THRESHOLD
    assert "does not match" in finding.explanation


def test_face_swap_stand_in_matches_and_names_the_closest_template(obama: FaceTemplate) -> None:
    chirac = _template(CHIRAC[0])
    fake = jpeg(composite(OBAMA[1], PHOTOS / "kodak" / "kodim03.png"))
    finding = FaceDetector().analyse(medium_from_bytes(fake), DetectorContext((chirac, obama)))
    assert finding.positive and finding.details["template_id"] == obama.id


def test_no_face_and_video_frames(obama: FaceTemplate) -> None:
    finding = FaceDetector().analyse(medium_from_bytes(NO_FACE.read_bytes()), DetectorContext((obama,)))
    assert (finding.score, finding.positive, finding.details["faces"]) == (0.0, False, 0)
    assert "No face was found" in finding.explanation
    frames = (Image.open(NO_FACE).convert("RGB"), Image.open(OBAMA[3]).convert("RGB"))
    video = Medium(b"", "video/mp4", "video", frames)
    finding = FaceDetector().analyse(video, DetectorContext((obama,)))
    assert finding.positive and finding.details["frame"] == 1 and finding.details["frames_with_faces"] == 1


def test_several_faces_are_all_compared(obama: FaceTemplate) -> None:
    group = side_by_side(CHIRAC[0], KLOBUCHAR[1], OBAMA[1])
    assert len(face_templates_from_image(group)) == 3
    finding = FaceDetector().analyse(medium_from_bytes(jpeg(group)), DetectorContext((obama,)))
    assert finding.positive and finding.details["faces"] == 3


def test_without_templates_the_detector_cannot_run() -> None:
    with pytest.raises(DetectorError, match="no face templates"):
        FaceDetector().analyse(medium_from_bytes(OBAMA[0].read_bytes()), DetectorContext())


@pytest.mark.parametrize(
    "options",
    [
        {"threshold": 0},
        {"threshold": "0.5"},
        {"upsample": 5},
        {"max_side": 10},
        {"review_threshold": 0.4},
        {"cnn_fallback": "yes"},
    ],
)
def test_bad_options(options: dict[str, object]) -> None:
    with pytest.raises(DetectorConfigError):
        FaceDetector(**options)  # type: ignore[arg-type]


def test_template_validates_its_vector() -> None:
    with pytest.raises(ValueError, match="128"):
        FaceTemplate("a" * 32, (0.1,) * 127)
    with pytest.raises(ValueError, match="finite"):
        FaceTemplate("a" * 32, (float("nan"),) * 128)


def test_models_found_without_importing_face_recognition_models_and_loaded_lazily() -> None:
    assert (model_directory() / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    code = (
        "import sys, takedown.detectors.faces as f, takedown.detectors.registry as r\n"
        "r.DetectorRegistry.from_config(r.DEFAULT_CONFIG)\n"
        "assert 'dlib' not in sys.modules and not f.MODELS.loaded, 'models loaded at import'\n"
        "f.FaceDetector().load()\n"
        "assert f.MODELS.loaded and 'face_recognition_models' not in sys.modules\n"
        "assert 'pkg_resources' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _turned(path: Path, degrees: float) -> Medium:
    with Image.open(path) as im:
        return medium_from_bytes(jpeg(im.convert("RGB").rotate(degrees, expand=True, fillcolor=(128, 128, 128))))


def test_the_cnn_detector_looks_again_when_hog_finds_nothing(obama: FaceTemplate) -> None:
    medium = _turned(OBAMA[3], 65)  # HOG finds upright faces only
    plain = FaceDetector().analyse(medium, DetectorContext((obama,)))
    assert plain.details["faces"] == 0
    found = FaceDetector(cnn_fallback=True).analyse(medium, DetectorContext((obama,)))
    assert found.details["faces"] == 1 and found.details["quality"]["detector"] == "cnn"
    assert FaceDetector(cnn_fallback=True).version.startswith("dlib-hog+cnn+")


def test_quality_flags_small_blurred_and_turned_faces() -> None:
    with Image.open(OBAMA[0]) as im:
        small = im.convert("RGB").resize((im.width // 8, im.height // 8))
    (face,) = find_faces(small)
    assert face.quality.width < MIN_FACE_WIDTH and face.quality.poor
    assert any(p.startswith("small (") for p in face.quality.problems)
    with Image.open(OBAMA[0]) as im:
        (sharp,) = find_faces(im.convert("RGB"))
    assert not sharp.quality.poor and sharp.quality.turn < 0.2
    assert len(sharp.points) == 5 and all(sharp.box[0] <= x <= sharp.box[2] for x, _y in sharp.points)


def test_a_close_face_that_does_not_match_is_marked_near(obama: FaceTemplate) -> None:
    """With a strict match distance the other Obama portrait (about 0.3 away) is within review distance."""
    finding = FaceDetector(threshold=0.2, review_threshold=0.6).analyse(
        medium_from_bytes(OBAMA[2].read_bytes()), DetectorContext((obama,))
    )
    assert not finding.positive and finding.details["near"]
    assert finding.details["review_threshold"] == 0.6 and "within the review distance 0.60" in finding.explanation
    far = FaceDetector().analyse(medium_from_bytes(KLOBUCHAR[0].read_bytes()), DetectorContext((obama,)))
    assert not far.details["near"] and "review distance" not in far.explanation


def test_a_descriptor_is_the_mean_of_four_looks_at_the_chip() -> None:
    chip = np.arange(150 * 150 * 3, dtype=np.uint32).reshape(150, 150, 3).astype(np.uint8)
    seen = looks(chip)
    assert LOOKS == ("chip", "mirror", "oval", "oval-mirror") and len(seen) == 4
    assert (seen[1] == chip[:, ::-1]).all()
    assert (seen[2][OVAL] == chip[OVAL]).all() and (seen[2][~OVAL] == OVAL_FILL).all()
    assert (seen[3] == seen[2][:, ::-1]).all()
    assert OVAL[70, 74] and not OVAL[0, 0] and not OVAL[149, 149]
