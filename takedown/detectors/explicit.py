"""Explicit content: NudeNet's detector (a small YOLO ONNX model that ships inside its wheel).

NudeNet labels body parts as exposed or covered, and faces by apparent gender. Only the *exposed
intimate* labels count, each against its own threshold (:data:`LABEL_THRESHOLDS`), because
NudeNet's false alarms are not spread evenly: on safe photos it calls a pile of fruit or a
sunflower an exposed breast or buttocks at 0.5-0.6, while other labels stay far lower. The
thresholds come from ``bench/explicit.py`` (every safe picture in shared/data, chosen on one half
and checked on the other; docs/benchmarks/detectors.md). No explicit picture exists here, so what
they cost in missed content is not measured: the score is a weak signal, and fusion never lets it
move an item on its own. The session runs offline with onnxruntime, created lazily, once per
process, with few threads because workers share the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from typing import Any, ClassVar, Final

import numpy as np
from PIL import Image

from takedown.detectors.base import Detector, DetectorConfigError, DetectorContext, Finding, LazyModel, Medium

#: Labels that make a picture sexually explicit, each with the score it must reach. MALE_BREAST_EXPOSED,
#: BELLY, FEET and ARMPITS are left out on purpose: a shirtless man or bare feet is not intimate imagery.
#: Chosen by bench/explicit.py on half of the 1,918 safe pictures in shared/data (each label's highest
#: safe score plus 0.10, never below the highest safe score of any label plus 0.10: a sunflower scored
#: 0.54 as an exposed breast) and checked on the other half: no safe picture reaches them. At 0.5, the
#: threshold before, one did here, and a pile of fruit (0.61) did on pictures we do not have.
LABEL_THRESHOLDS: Final[Mapping[str, float]] = {
    "FEMALE_GENITALIA_EXPOSED": 0.65,
    "MALE_GENITALIA_EXPOSED": 0.65,
    "FEMALE_BREAST_EXPOSED": 0.65,
    "BUTTOCKS_EXPOSED": 0.65,
    "ANUS_EXPOSED": 0.65,
}
EXPOSED_LABELS: Final = frozenset(LABEL_THRESHOLDS)
_MODEL_FILE: Final = "320n.onnx"


class _Session:
    """One onnxruntime session on NudeNet's bundled model, shared by every detector instance."""

    def __init__(self, threads: int) -> None:
        # Heavy, optional at import: onnxruntime and NudeNet (with OpenCV) load only when a worker
        # first analyses a picture, never when the registry is built or the CLI hashes files.
        import nudenet  # noqa: PLC0415 - heavy (OpenCV), loaded at the first picture analysed
        import onnxruntime  # noqa: PLC0415 - heavy, loaded at the first picture analysed
        from nudenet import nudenet as nn  # noqa: PLC0415 - as nudenet above

        path = os.path.join(os.path.dirname(nudenet.__file__), _MODEL_FILE)
        if not os.path.isfile(path):
            raise DetectorConfigError(f"NudeNet's model is missing at {path}; reinstall nudenet")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.size = 320
        self._nn = nn

    def detect(self, image: Image.Image) -> list[dict[str, Any]]:
        """NudeNet's detections (class, score, box) on one RGB picture."""
        # NudeNet's own reader expects what cv2.imread gives: BGR, uint8.
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)[:, :, ::-1])
        blob, x_ratio, y_ratio, x_pad, y_pad, width, height = self._nn._read_image(bgr, self.size)
        outputs = self.session.run(None, {self.input_name: blob})
        found: list[dict[str, Any]] = self._nn._postprocess(
            outputs, x_pad, y_pad, x_ratio, y_ratio, width, height, self.size, self.size
        )
        return found


_SESSIONS: dict[int, LazyModel[_Session]] = {1: LazyModel(lambda: _Session(1)), 2: LazyModel(lambda: _Session(2))}


def session(threads: int = 1) -> _Session:
    """The process's NudeNet session (loaded on first use); the benchmark measures through it."""
    return _SESSIONS[threads].get()


def _best_by_label(detections: Iterable[dict[str, Any]], into: dict[str, float]) -> None:
    for d in detections:
        label, score = str(d["class"]), float(d["score"])
        into[label] = max(into.get(label, 0.0), score)


def _check_threshold(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise DetectorConfigError(f"explicit: {what} must be a number above 0 and at most 1")
    return float(value)


def _words(label: str) -> str:
    return label.lower().replace("_", " ")


class NudeNetDetector(Detector):
    """Exposed intimate body parts over the medium's frames, each label against its own threshold.

    ``score`` is the highest exposed-label probability (0 when none was found); ``positive`` is
    whether any label reached its threshold; ``details["margin"]`` is how far the strongest label is
    above (or below) its own threshold, which is what fusion weighs.
    """

    name: ClassVar[str] = "explicit"
    needs: ClassVar[frozenset[str]] = frozenset({"frames"})

    def __init__(
        self, *, threshold: float | None = None, thresholds: Mapping[str, float] | None = None, threads: int = 1
    ) -> None:
        chosen = dict(LABEL_THRESHOLDS)
        if threshold is not None:
            # One number for every label: an operator's override of the measured table.
            value = _check_threshold(threshold, "threshold")
            chosen = dict.fromkeys(chosen, value)
        if thresholds is not None:
            if not isinstance(thresholds, Mapping):
                raise DetectorConfigError("explicit: thresholds must map NudeNet labels to numbers")
            unknown = sorted(set(thresholds) - EXPOSED_LABELS)
            if unknown:
                raise DetectorConfigError(
                    f"explicit: thresholds for unknown labels {', '.join(map(str, unknown))}; "
                    f"known: {', '.join(sorted(EXPOSED_LABELS))}"
                )
            chosen.update({label: _check_threshold(v, f"the threshold of {label}") for label, v in thresholds.items()})
        if threads not in _SESSIONS:
            raise DetectorConfigError("explicit: threads must be 1 or 2")
        self.thresholds: Mapping[str, float] = chosen
        self.threads = threads
        changed = "" if chosen == dict(LABEL_THRESHOLDS) else "/custom"
        self.version = f"nudenet-{version('nudenet')}-320n/labels{changed}"

    def load(self) -> None:
        _SESSIONS[self.threads].get()

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        detector = _SESSIONS[self.threads].get()
        labels: dict[str, float] = {}
        frame_of: dict[str, int] = {}
        for index, frame in enumerate(medium.frames):
            frame_labels: dict[str, float] = {}
            _best_by_label(detector.detect(frame), frame_labels)
            for label, score in frame_labels.items():
                if score > labels.get(label, 0.0):
                    labels[label] = score
                    frame_of[label] = index
        exposed = sorted((label for label in labels if label in EXPOSED_LABELS), key=lambda k: -labels[k])
        # The label furthest above (or least below) its own threshold decides.
        top = max(exposed, key=lambda k: labels[k] - self.thresholds[k], default=None)
        score = round(labels[top], 4) if top else 0.0
        margin = round(labels[top] - self.thresholds[top], 4) if top else None
        positive = margin is not None and margin >= 0
        frames = len(medium.frames)
        where = f"{frames} frame{'s' if frames != 1 else ''}"
        if top is None:
            explanation = f"Explicit content score 0.00: no exposed intimate body part was detected in {where}."
        elif positive:
            explanation = (
                f"Explicit content score {score:.2f} ({_words(top)}) in {where}, at or above that label's "
                f"threshold {self.thresholds[top]:.2f}."
            )
        else:
            explanation = (
                f"Explicit content score {score:.2f} ({_words(top)}) in {where}, below that label's threshold "
                f"{self.thresholds[top]:.2f}: not counted as explicit."
            )
        return Finding(
            self.name,
            self.version,
            score,
            positive,
            explanation,
            {
                "labels": {label: round(s, 4) for label, s in sorted(labels.items(), key=lambda kv: -kv[1])},
                "exposed_labels": exposed,
                "top_label": top,
                "margin": margin,
                "frame": frame_of[top] if top else None,
                "frames": frames,
                "threshold": self.thresholds[top] if top else None,
                "thresholds": dict(self.thresholds),
            },
        )
