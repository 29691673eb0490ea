"""Face similarity: dlib's HOG face detector, 5-point shape predictor and 128-d ResNet encoder.

A sexual deepfake puts the survivor's face on someone else's body, so no hash of the survivor's
own pictures can match it; comparing the faces in a reported medium with face templates the
survivor made on their own device from ordinary portraits is what can. The model files come
from the ``face_recognition_models`` package, found by path: its ``__init__`` imports
``pkg_resources``, which recent setuptools no longer ship, so it is never imported.

The decision is on dlib's euclidean distance between descriptors (smaller is more alike).
:data:`FACE_MATCH_THRESHOLD` is the value ``bench/faces.py`` justifies (docs/benchmarks/detectors.md).
"""

from __future__ import annotations

import importlib.util
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from takedown.detectors.base import (
    Detector,
    DetectorConfigError,
    DetectorContext,
    DetectorError,
    FaceTemplate,
    Finding,
    LazyModel,
    Medium,
)
from takedown.hashing.bundle import FACE_MODEL

#: Largest euclidean distance between two descriptors still called "the same person". dlib suggests
#: 0.6, which matched about 1 % of pairs of different people in bench/faces.py; 0.525 kept every
#: genuine pair and matched 0.06 % of 53,287 impostor pairs (docs/benchmarks/detectors.md).
FACE_MATCH_THRESHOLD: Final = 0.525
#: Frames are shrunk so their longer side is at most this many pixels before detection.
DEFAULT_MAX_SIDE: Final = 1024
#: HOG finds faces down to about 80 px; one upsampling step finds them down to about 40 px.
DEFAULT_UPSAMPLE: Final = 1
#: The faces measured per frame are capped, so a crowd photo cannot make analysis unbounded.
MAX_FACES_PER_FRAME: Final = 20

_MODEL_FILES: Final = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


def model_directory() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models``, without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorConfigError("face_recognition_models is not installed (see requirements.txt)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [name for name in _MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise DetectorConfigError(f"face model files missing from {folder}: {', '.join(missing)}")
    return folder


@dataclass(frozen=True)
class _Dlib:
    detector: Any
    shape_predictor: Any
    encoder: Any
    lock: threading.Lock


def _load() -> _Dlib:
    import dlib

    folder = model_directory()
    return _Dlib(
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(folder / _MODEL_FILES[0])),
        dlib.face_recognition_model_v1(str(folder / _MODEL_FILES[1])),
        # dlib does not promise its objects are safe to share between threads.
        threading.Lock(),
    )


MODELS: Final = LazyModel(_load)


@dataclass(frozen=True, slots=True)
class FoundFace:
    """A face found in one picture: its box (left, top, right, bottom) and descriptor."""

    box: tuple[int, int, int, int]
    vector: npt.NDArray[np.float64]


def _rgb(image: Image.Image, max_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    im = image if image.mode == "RGB" else image.convert("RGB")
    scale = 1.0
    if max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)), scale


def find_faces(
    image: Image.Image, *, upsample: int = DEFAULT_UPSAMPLE, max_side: int = DEFAULT_MAX_SIDE
) -> list[FoundFace]:
    """Every face dlib finds (largest first, at most :data:`MAX_FACES_PER_FRAME`), with descriptors."""
    models = MODELS.get()
    rgb, scale = _rgb(image, max_side)
    with models.lock:
        rects = list(models.detector(rgb, upsample))
        rects.sort(key=lambda r: r.width() * r.height(), reverse=True)
        faces = []
        for rect in rects[:MAX_FACES_PER_FRAME]:
            shape = models.shape_predictor(rgb, rect)
            vector = np.asarray(models.encoder.compute_face_descriptor(rgb, shape), dtype=np.float64)
            box = tuple(round(v / scale) for v in (rect.left(), rect.top(), rect.right(), rect.bottom()))
            faces.append(FoundFace((box[0], box[1], box[2], box[3]), vector))
    return faces


def face_templates_from_image(image: Image.Image) -> list[FaceTemplate]:
    """A template (random id) for every face in an ordinary portrait; the caller decides what to
    do when there is not exactly one (the CLI refuses to guess which face is the survivor's).

    Values are rounded to 6 decimals: it changes distances by less than 1e-5 and keeps bundles small.
    """
    return [
        FaceTemplate(secrets.token_hex(16), tuple(round(float(x), 6) for x in face.vector), FACE_MODEL)
        for face in find_faces(image)
    ]


def distances(vector: npt.NDArray[np.float64], templates: tuple[FaceTemplate, ...]) -> npt.NDArray[np.float64]:
    matrix = np.asarray([t.vector for t in templates], dtype=np.float64)
    return np.asarray(np.linalg.norm(matrix - vector, axis=1), dtype=np.float64)


def face_distances(face: FoundFace, templates: tuple[FaceTemplate, ...]) -> npt.NDArray[np.float64]:
    """The distance from a found face to each template, as the detector decides on it."""
    return distances(face.vector, templates)


def similarity(distance: float) -> float:
    """A 0..1 score for reports: 1 - distance, floored at 0 (so the threshold 0.6 is similarity 0.4)."""
    return max(0.0, min(1.0, 1.0 - distance))


class FaceDetector(Detector):
    """Compares every face in the medium's frames with the case's face templates."""

    name: ClassVar[str] = "face"
    needs: ClassVar[frozenset[str]] = frozenset({"frames", "face_templates"})

    def __init__(
        self,
        *,
        threshold: float = FACE_MATCH_THRESHOLD,
        upsample: int = DEFAULT_UPSAMPLE,
        max_side: int = DEFAULT_MAX_SIDE,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold < 2.0:
            raise DetectorConfigError("face: threshold must be a distance between 0 and 2")
        if isinstance(upsample, bool) or not isinstance(upsample, int) or not 0 <= upsample <= 2:
            raise DetectorConfigError("face: upsample must be 0, 1 or 2")
        if isinstance(max_side, bool) or not isinstance(max_side, int) or not 160 <= max_side <= 4096:
            raise DetectorConfigError("face: max_side must be an integer from 160 to 4096")
        self.threshold = float(threshold)
        self.upsample = upsample
        self.max_side = max_side
        self.version = f"dlib-hog+{FACE_MODEL}/t{self.threshold:g}"

    def load(self) -> None:
        MODELS.get()

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        templates = tuple(t for t in context.face_templates if t.model == FACE_MODEL)
        if not templates:
            raise DetectorError("the case has no face templates to compare with")
        best: tuple[float, str, int] | None = None
        face_count = 0
        frames_with_faces = 0
        for index, frame in enumerate(medium.frames):
            faces = find_faces(frame, upsample=self.upsample, max_side=self.max_side)
            face_count += len(faces)
            frames_with_faces += bool(faces)
            for face in faces:
                found = distances(face.vector, templates)
                i = int(np.argmin(found))
                if best is None or found[i] < best[0]:
                    best = (float(found[i]), templates[i].id, index)
        frames = len(medium.frames)
        where = f"{frames} frame{'s' if frames != 1 else ''}"
        if best is None:
            return Finding(
                self.name,
                self.version,
                0.0,
                False,
                f"No face was found in the {where} checked.",
                {"faces": 0, "frames": frames, "threshold": self.threshold},
            )
        distance, template_id, frame_index = best
        positive = distance <= self.threshold
        score = round(similarity(distance), 4)
        verdict = "matches" if positive else "does not match"
        return Finding(
            self.name,
            self.version,
            score,
            positive,
            f"The closest of {face_count} face{'s' if face_count != 1 else ''} found in {where} {verdict} "
            f"a face template of the case: distance {distance:.2f} (similarity {score:.2f}; "
            f"a match needs a distance of at most {self.threshold:.2f}).",
            {
                "distance": round(distance, 4),
                "similarity": score,
                "threshold": self.threshold,
                "template_id": template_id,
                "frame": frame_index,
                "faces": face_count,
                "frames_with_faces": frames_with_faces,
                "frames": frames,
            },
        )
