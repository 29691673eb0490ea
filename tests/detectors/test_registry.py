"""The registry: built from plain settings, checked up front, and never raising while analysing."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from takedown.detectors.base import Detector, DetectorConfigError, DetectorContext, DetectorError, Finding, Medium
from takedown.detectors.faces import FaceDetector
from takedown.detectors.media import medium_from_bytes
from takedown.detectors.registry import DEFAULT_CONFIG, DetectorRegistry, default_config
from tests.detectors.helpers import OBAMA


class BrokenDetector(Detector):
    """A real detector that fails the way a buggy plug-in would (not a mock: it runs as configured)."""

    name: ClassVar[str] = "broken"
    needs: ClassVar[frozenset[str]] = frozenset({"bytes"})

    def __init__(self, *, how: str = "crash") -> None:
        self.how = how
        self.version = "broken-1"

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        if self.how == "refuse":
            raise DetectorError("this medium is not for me")
        raise RuntimeError("bug")


class SizeDetector(Detector):
    """Scores by file size: a second real detector to show entry names and order are kept."""

    name: ClassVar[str] = "size"
    needs: ClassVar[frozenset[str]] = frozenset({"bytes"})
    version = "size-1"

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        return Finding(self.name, self.version, min(1.0, len(medium.data) / 1e6), False, "Size.", {})


HERE = "tests.detectors.test_registry"


def test_default_config_enables_three_detectors_lazily() -> None:
    registry = DetectorRegistry.from_config(DEFAULT_CONFIG)
    assert registry.names == ["explicit", "face", "provenance"]
    assert registry.disabled == ("onnx",)
    assert isinstance(registry.get("face"), FaceDetector) and registry.get("onnx") is None
    assert [d.needs for _, d in registry.detectors][1] == frozenset({"frames", "face_templates"})


def test_analyse_all_runs_every_detector_and_turns_failures_into_findings() -> None:
    registry = DetectorRegistry.from_config(
        [
            {"name": "provenance", "class": "takedown.detectors.provenance.ProvenanceDetector"},
            {"name": "crashy", "class": f"{HERE}.BrokenDetector"},
            {"name": "picky", "class": f"{HERE}.BrokenDetector", "options": {"how": "refuse"}},
            {"name": "face", "class": "takedown.detectors.faces.FaceDetector", "options": {"threshold": 0.5}},
            {"name": "bigness", "class": f"{HERE}.SizeDetector", "enabled": True},
        ]
    )
    medium = medium_from_bytes(OBAMA[0].read_bytes())
    findings = {f.detector: f for f in registry.analyse_all(medium, DetectorContext())}
    assert list(findings) == ["provenance", "crashy", "picky", "face", "bigness"]
    assert findings["provenance"].ran and findings["provenance"].score == 0.0
    assert findings["crashy"].error == "unexpected RuntimeError" and findings["crashy"].score is None
    assert findings["picky"].error == "this medium is not for me" and not findings["picky"].positive
    assert "no face templates" in findings["face"].error and findings["face"].version.endswith("/t0.5")
    assert findings["bigness"].score == pytest.approx(len(medium.data) / 1e6)
    assert findings["crashy"].to_dict()["error"] == "unexpected RuntimeError"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("explicit", "must be a list"),
        ([["explicit"]], "entry 0 must be a mapping"),
        ([{"name": "x y", "class": f"{HERE}.SizeDetector"}], "name must be a short identifier"),
        ([{"name": "a", "class": f"{HERE}.SizeDetector", "colour": 1}], "unknown keys: colour"),
        ([{"name": "a", "class": "nowhere.Detector"}], "cannot import nowhere"),
        ([{"name": "a", "class": f"{HERE}.Missing"}], "is not a Detector class"),
        ([{"name": "a", "class": "pathlib.Path"}], "is not a Detector class"),
        ([{"name": "a", "class": "SizeDetector"}], "dotted path"),
        ([{"name": "a", "class": f"{HERE}.SizeDetector", "enabled": "yes"}], "enabled must be true or false"),
        ([{"name": "a", "class": f"{HERE}.SizeDetector", "options": []}], "options must be a mapping"),
        ([{"name": "a", "class": f"{HERE}.SizeDetector", "options": {"x": 1}}], "'a': bad options"),
        (
            [{"name": "face", "class": "takedown.detectors.faces.FaceDetector", "options": {"threshold": 9}}],
            "'face': face: threshold must be",
        ),
        ([{"name": "a", "class": f"{HERE}.SizeDetector"}, {"name": "a", "class": f"{HERE}.SizeDetector"}], "twice"),
    ],
)
def test_config_errors_name_the_entry(config: Any, message: str) -> None:
    with pytest.raises(DetectorConfigError, match=message):
        DetectorRegistry.from_config(config)


def test_disabled_entries_are_checked_for_their_class_but_not_built() -> None:
    config = default_config()
    assert config is not DEFAULT_CONFIG and config[3]["options"] is not DEFAULT_CONFIG[3]["options"]
    # The ONNX entry has an empty path: fine while disabled, a clear error once enabled.
    DetectorRegistry.from_config(config)
    config[3]["enabled"] = True
    with pytest.raises(DetectorConfigError, match="'onnx': onnx: path to the model file is required"):
        DetectorRegistry.from_config(config)
    with pytest.raises(DetectorConfigError, match="model file not found"):
        DetectorRegistry.from_config(default_config("/nonexistent/model.onnx"))
