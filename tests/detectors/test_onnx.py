"""The operator's ONNX plug-in, proved with a tiny model the test builds: sigmoid(mean R - mean B)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from takedown.detectors.base import DetectorConfigError, DetectorContext, Medium
from takedown.detectors.onnx_classifier import OnnxClassifierDetector
from takedown.detectors.registry import DetectorRegistry, default_config
from tests.detectors.helpers import tiny_classifier


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _medium(*colours: tuple[int, int, int]) -> Medium:
    frames = tuple(Image.new("RGB", (50, 40), c) for c in colours)
    return Medium(b"", "image/png", "image" if len(frames) == 1 else "video", frames)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return tiny_classifier(tmp_path / "tiny.onnx")


def test_scores_follow_the_model(model: Path) -> None:
    detector = OnnxClassifierDetector(path=str(model), input_size=32, label="synthetic")
    red = detector.analyse(_medium((255, 0, 0)), DetectorContext())
    blue = detector.analyse(_medium((0, 0, 255)), DetectorContext())
    assert red.score == pytest.approx(_sigmoid(1.0), abs=1e-3) and red.positive
    assert blue.score == pytest.approx(_sigmoid(-1.0), abs=1e-3) and not blue.positive
    assert red.detector == "onnx" and "synthetic classifier scores 0.73" in red.explanation
    assert red.version.startswith("onnx-tiny.onnx-")


def test_mean_std_normalisation_and_channel_order(model: Path) -> None:
    normalised = OnnxClassifierDetector(path=str(model), input_size=32, mean=[0.5] * 3, std=[0.25] * 3)
    assert normalised.analyse(_medium((255, 0, 0)), DetectorContext()).score == pytest.approx(_sigmoid(4.0), abs=1e-3)
    bgr = OnnxClassifierDetector(path=str(model), input_size=32, channel_order="BGR")
    assert bgr.analyse(_medium((255, 0, 0)), DetectorContext()).score == pytest.approx(_sigmoid(-1.0), abs=1e-3)
    # A grey picture: mean R = mean B, logit 0.
    assert bgr.analyse(_medium((128, 128, 128)), DetectorContext()).score == pytest.approx(0.5, abs=1e-3)


def test_nhwc_layout_and_highest_frame(tmp_path: Path) -> None:
    path = tiny_classifier(tmp_path / "nhwc.onnx", size=16, layout="NHWC")
    detector = OnnxClassifierDetector(path=str(path), input_size=[16, 16], layout="NHWC", threshold=0.6)
    finding = detector.analyse(_medium((0, 0, 255), (255, 0, 0), (0, 0, 0)), DetectorContext())
    assert finding.details["frame"] == 1 and finding.positive
    assert finding.details["scores"] == pytest.approx([_sigmoid(-1), _sigmoid(1), 0.5], abs=1e-3)


def test_missing_file_and_wrong_shape_are_config_errors(model: Path, tmp_path: Path) -> None:
    with pytest.raises(DetectorConfigError, match="not found"):
        OnnxClassifierDetector(path=str(tmp_path / "missing.onnx"))
    wrong = OnnxClassifierDetector(path=str(model), input_size=64)
    with pytest.raises(DetectorConfigError, match=r"expects input shape \[1, 3, 32, 32\].*\[1, 3, 64, 64\]"):
        wrong.load()
    layout = OnnxClassifierDetector(path=str(model), input_size=32, layout="NHWC")
    with pytest.raises(DetectorConfigError, match="expects input shape"):
        layout.load()
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(DetectorConfigError, match="cannot load the model"):
        OnnxClassifierDetector(path=str(garbage)).load()
    with pytest.raises(DetectorConfigError, match="output_index 3"):
        OnnxClassifierDetector(path=str(model), input_size=32, output_index=3).analyse(
            _medium((1, 2, 3)), DetectorContext()
        )


@pytest.mark.parametrize(
    "options",
    [
        {"input_size": 4},
        {"layout": "CHW"},
        {"channel_order": "RGBA"},
        {"mean": [0.5, 0.5]},
        {"std": [1, 0, 1]},
        {"activation": "relu"},
        {"threshold": 0},
        {"output": -1},
        {"label": ""},
    ],
)
def test_bad_options(model: Path, options: dict[str, object]) -> None:
    with pytest.raises(DetectorConfigError):
        OnnxClassifierDetector(path=str(model), **options)  # type: ignore[arg-type]


def test_enabled_through_the_registry_when_a_path_is_given(model: Path) -> None:
    assert "onnx" not in DetectorRegistry.from_config(default_config()).names
    config = default_config(str(model), {"input_size": 32})
    registry = DetectorRegistry.from_config([entry for entry in config if entry["name"] == "onnx"])
    findings = registry.analyse_all(_medium((255, 0, 0)), DetectorContext())
    assert [f.detector for f in findings] == ["onnx"] and findings[0].positive
    broken = DetectorRegistry.from_config(
        [entry for entry in default_config(str(model), {"input_size": 48}) if entry["name"] == "onnx"]
    )
    finding = broken.analyse_all(_medium((255, 0, 0)), DetectorContext())[0]
    assert finding.score is None and "expects input shape" in finding.error
