"""Explicit content: NudeNet's detector (a small YOLO ONNX model that ships inside its wheel).

NudeNet labels body parts as exposed or covered, and faces by apparent gender. The score is the
highest probability among the *exposed intimate* labels, so a face or a bare foot in an ordinary
photo scores 0 while still being listed in the details. It runs offline with onnxruntime; the
session is created lazily, once per process, with few threads because workers share the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, ClassVar, Final

import numpy as np
from PIL import Image

from takedown.detectors.base import Detector, DetectorConfigError, DetectorContext, Finding, LazyModel, Medium

#: Labels that make a picture sexually explicit. MALE_BREAST_EXPOSED, BELLY, FEET and ARMPITS
#: are left out on purpose: a shirtless man or bare feet is not intimate imagery.
EXPOSED_LABELS: Final = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
DEFAULT_THRESHOLD: Final = 0.5
_MODEL_FILE: Final = "320n.onnx"


def _nudenet_version() -> str:
    from importlib.metadata import version

    return version("nudenet")


class _Session:
    """One onnxruntime session on NudeNet's bundled model, shared by every detector instance."""

    def __init__(self, threads: int) -> None:
        import nudenet
        import onnxruntime

        path = os.path.join(os.path.dirname(nudenet.__file__), _MODEL_FILE)
        if not os.path.isfile(path):
            raise DetectorConfigError(f"NudeNet's model is missing at {path}; reinstall nudenet")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.size = 320

    def detect(self, image: Image.Image) -> list[dict[str, Any]]:
        from nudenet import nudenet as nn

        # NudeNet's own reader expects what cv2.imread gives: BGR, uint8.
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)[:, :, ::-1])
        blob, x_ratio, y_ratio, x_pad, y_pad, width, height = nn._read_image(bgr, self.size)
        outputs = self.session.run(None, {self.input_name: blob})
        found: list[dict[str, Any]] = nn._postprocess(
            outputs, x_pad, y_pad, x_ratio, y_ratio, width, height, self.size, self.size
        )
        return found


_SESSIONS: dict[int, LazyModel[_Session]] = {1: LazyModel(lambda: _Session(1)), 2: LazyModel(lambda: _Session(2))}


def _best_by_label(detections: Iterable[dict[str, Any]], into: dict[str, float]) -> None:
    for d in detections:
        label, score = str(d["class"]), float(d["score"])
        into[label] = max(into.get(label, 0.0), score)


class NudeNetDetector(Detector):
    """Highest exposed-intimate-label probability over the medium's frames."""

    name: ClassVar[str] = "explicit"
    needs: ClassVar[frozenset[str]] = frozenset({"frames"})

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD, threads: int = 1) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold <= 1.0:
            raise DetectorConfigError("explicit: threshold must be a number above 0 and at most 1")
        if threads not in _SESSIONS:
            raise DetectorConfigError("explicit: threads must be 1 or 2")
        self.threshold = float(threshold)
        self.threads = threads
        self.version = f"nudenet-{_nudenet_version()}-320n/t{self.threshold:g}"

    def load(self) -> None:
        _SESSIONS[self.threads].get()

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        session = _SESSIONS[self.threads].get()
        labels: dict[str, float] = {}
        best_frame = 0
        best = 0.0
        for index, frame in enumerate(medium.frames):
            frame_labels: dict[str, float] = {}
            _best_by_label(session.detect(frame), frame_labels)
            exposed = max((s for label, s in frame_labels.items() if label in EXPOSED_LABELS), default=0.0)
            if exposed > best:
                best, best_frame = exposed, index
            for label, score in frame_labels.items():
                labels[label] = max(labels.get(label, 0.0), score)
        score = round(best, 4)
        positive = score >= self.threshold
        exposed_found = sorted((label for label in labels if label in EXPOSED_LABELS), key=lambda k: -labels[k])
        frames = len(medium.frames)
        where = f"{frames} frame{'s' if frames != 1 else ''}"
        if exposed_found:
            top = exposed_found[0]
            explanation = (
                f"Explicit content score {score:.2f} ({top.lower().replace('_', ' ')}) in {where}; "
                f"the threshold is {self.threshold:.2f}."
            )
        else:
            explanation = f"Explicit content score 0.00: no exposed intimate body part was detected in {where}."
        return Finding(
            self.name,
            self.version,
            score,
            positive,
            explanation,
            {
                "labels": {label: round(s, 4) for label, s in sorted(labels.items(), key=lambda kv: -kv[1])},
                "exposed_labels": exposed_found,
                "frame": best_frame if exposed_found else None,
                "frames": frames,
                "threshold": self.threshold,
            },
        )
