"""An operator-supplied ONNX classifier (for example a synthetic-media detector).

No such model can be bundled here (the open ones are research code with unclear licences and
poor accuracy on in-the-wild fakes), so the operator points the registry at a file and describes
its input: size, layout, channel order, scaling and mean/std normalisation, which output and
which element is the probability, and whether it still needs a sigmoid or softmax. The model
is loaded lazily with onnxruntime, once per process and path; a wrong path or an input shape
that contradicts the settings is a :class:`DetectorConfigError` naming both shapes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from takedown.detectors.base import (
    Detector,
    DetectorConfigError,
    DetectorContext,
    DetectorError,
    Finding,
    LazyModel,
    Medium,
)

ACTIVATIONS: Final = frozenset({"none", "sigmoid", "softmax"})
#: Model files bigger than this are refused (a classifier that large is a misconfiguration).
MAX_MODEL_BYTES: Final = 1024 * 1024 * 1024

_SESSIONS: dict[tuple[str, int, int], LazyModel[Any]] = {}
_SESSIONS_LOCK = threading.Lock()


def _triple(value: Any, name: str) -> tuple[float, float, float]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise DetectorConfigError(f"onnx: {name} must be a list of 3 numbers (one per channel)")
    return (float(value[0]), float(value[1]), float(value[2]))


def _session(path: str, threads: int) -> Any:
    """One onnxruntime session per model file (keyed by path, size and mtime, so a replaced
    file is picked up after a restart of the entry) and thread count."""
    stat = os.stat(path)
    key = (path, stat.st_size, int(stat.st_mtime_ns))
    with _SESSIONS_LOCK:
        lazy = _SESSIONS.get(key)
        if lazy is None:

            def load() -> Any:
                import onnxruntime  # noqa: PLC0415 - heavy, loaded with the first model

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                try:
                    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise DetectorConfigError(f"onnx: cannot load the model at {path}: {str(exc)[:300]}") from exc

            lazy = _SESSIONS[key] = LazyModel(load)
    return lazy.get()


class OnnxClassifierDetector(Detector):
    """Score = the configured output element (after the configured activation), max over frames."""

    name: ClassVar[str] = "onnx"
    needs: ClassVar[frozenset[str]] = frozenset({"frames"})

    def __init__(
        self,
        *,
        path: str,
        input_size: Sequence[int] | int = 224,
        layout: str = "NCHW",
        channel_order: str = "RGB",
        scale: float = 1.0 / 255.0,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        output: int = 0,
        output_index: int = 0,
        activation: str = "none",
        threshold: float = 0.5,
        label: str = "synthetic",
        threads: int = 1,
    ) -> None:
        if not isinstance(path, str) or not path:
            raise DetectorConfigError("onnx: path to the model file is required")
        if not os.path.isfile(path):
            raise DetectorConfigError(f"onnx: model file not found: {path}")
        if os.path.getsize(path) > MAX_MODEL_BYTES:
            raise DetectorConfigError(f"onnx: model file is larger than {MAX_MODEL_BYTES:,} bytes")
        size = [input_size, input_size] if isinstance(input_size, int) else list(input_size)
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 4096 for v in size):
            raise DetectorConfigError("onnx: input_size must be an integer or [width, height], each 8 to 4096")
        if layout not in ("NCHW", "NHWC"):
            raise DetectorConfigError("onnx: layout must be NCHW or NHWC")
        if channel_order not in ("RGB", "BGR"):
            raise DetectorConfigError("onnx: channel_order must be RGB or BGR")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
            raise DetectorConfigError("onnx: scale must be a positive number")
        self.mean, self.std = _triple(mean, "mean"), _triple(std, "std")
        if any(s == 0 for s in self.std):
            raise DetectorConfigError("onnx: std must not contain 0")
        for name, value in (("output", output), ("output_index", output_index), ("threads", threads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DetectorConfigError(f"onnx: {name} must be a non-negative integer")
        if not 1 <= threads <= 4:
            raise DetectorConfigError("onnx: threads must be 1 to 4")
        if activation not in ACTIVATIONS:
            raise DetectorConfigError(f"onnx: activation must be one of {', '.join(sorted(ACTIVATIONS))}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold <= 1.0:
            raise DetectorConfigError("onnx: threshold must be a number above 0 and at most 1")
        if not isinstance(label, str) or not 0 < len(label) <= 64:
            raise DetectorConfigError("onnx: label must be a short name, e.g. 'synthetic'")
        self.path = os.path.abspath(path)
        self.width, self.height = size[0], size[1]
        self.layout, self.channel_order, self.scale = layout, channel_order, float(scale)
        self.output, self.output_index, self.activation = output, output_index, activation
        self.threshold, self.label, self.threads = float(threshold), label, threads
        with open(self.path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()[:12]
        self.version = f"onnx-{os.path.basename(self.path)}-{digest}/t{self.threshold:g}"

    def load(self) -> None:
        self.session()

    def session(self) -> Any:
        """The loaded session, its input checked against the settings (raises DetectorConfigError)."""
        session = _session(self.path, self.threads)
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise DetectorConfigError(f"onnx: the model has {len(inputs)} inputs; one image input is supported")
        expected = [1, 3, self.height, self.width] if self.layout == "NCHW" else [1, self.height, self.width, 3]
        shape = list(inputs[0].shape)
        if len(shape) != 4 or any(isinstance(d, int) and d != e for d, e in zip(shape, expected, strict=True)):
            raise DetectorConfigError(
                f"onnx: the model expects input shape {shape} but the settings give {expected} "
                f"({self.layout}, input_size {self.width}x{self.height})"
            )
        outputs = session.get_outputs()
        if self.output >= len(outputs):
            raise DetectorConfigError(f"onnx: output {self.output} does not exist; the model has {len(outputs)}")
        return session

    def preprocess(self, image: Image.Image) -> npt.NDArray[np.float32]:
        """Resize (bilinear, aspect ratio not kept), reorder channels, scale, normalise, lay out."""
        im = image.convert("RGB").resize((self.width, self.height), Image.Resampling.BILINEAR)
        x = np.asarray(im, dtype=np.float32)
        if self.channel_order == "BGR":
            x = x[:, :, ::-1]
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        x = ((x * np.float32(self.scale) - mean) / std).astype(np.float32)
        if self.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[np.newaxis], dtype=np.float32)

    def _score(self, raw: npt.NDArray[Any]) -> float:
        values = np.asarray(raw, dtype=np.float64).reshape(-1)
        if self.output_index >= values.size:
            raise DetectorConfigError(f"onnx: output_index {self.output_index} but the output has {values.size} values")
        if not np.all(np.isfinite(values)):
            raise DetectorError("the model returned a value that is not a finite number")
        if self.activation == "softmax":
            e = np.exp(values - values.max())
            values = e / e.sum()
        elif self.activation == "sigmoid":
            values = 1.0 / (1.0 + np.exp(-values))
        score = float(values[self.output_index])
        if not 0.0 <= score <= 1.0:
            raise DetectorError(
                f"the model's output {score:.3g} is not a probability; set activation to sigmoid or softmax"
            )
        return score

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        session = self.session()
        input_name = session.get_inputs()[0].name
        scores = []
        for frame in medium.frames:
            outputs = session.run(None, {input_name: self.preprocess(frame)})
            scores.append(self._score(outputs[self.output]))
        best = max(scores)
        frame_index = scores.index(best)
        score = round(best, 4)
        frames = len(medium.frames)
        return Finding(
            self.name,
            self.version,
            score,
            score >= self.threshold,
            f"The operator's {self.label} classifier scores {score:.2f} "
            f"(highest of {frames} frame{'s' if frames != 1 else ''}; the threshold is {self.threshold:.2f}).",
            {
                "label": self.label,
                "scores": [round(s, 4) for s in scores],
                "frame": frame_index,
                "threshold": self.threshold,
                "model": os.path.basename(self.path),
            },
        )
