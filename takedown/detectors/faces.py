"""Face similarity: dlib's face detectors, 5-point landmarks and 128-d ResNet descriptor.

A sexual deepfake puts the survivor's face on someone else's body, so no hash of the survivor's
own pictures can match it; comparing the faces in a reported medium with face templates the
survivor made on their own device from ordinary portraits is what can. The model files come
from the ``face_recognition_models`` package, found by path: its ``__init__`` imports
``pkg_resources``, which recent setuptools no longer ship, so it is never imported.

How a face becomes a descriptor (the same for templates and for reported pictures, on the server
and in the browser, static/faces/): dlib's HOG detector finds it (dlib's CNN detector looks again
when HOG finds nothing, if enabled), the 5-point model finds the eye corners and the nose, the face
is cut as dlib's 150x150 chip, and the descriptor is the mean over four looks at the chip
(:data:`LOOKS`): the chip, its mirror image, and both with only the oval of the inner face kept.
The mirror halves the noise of one look; the oval keeps what a face swap replaces and drops what it
keeps of the other body (bench/faces.py measures each change: docs/benchmarks/detectors.md).

The decision is on the euclidean distance between descriptors (smaller is more alike):
:data:`FACE_MATCH_THRESHOLD` and :data:`FACE_REVIEW_THRESHOLD` are the values ``bench/faces.py``
justifies. Each face also gets a :class:`FaceQuality` (size, sharpness, how far it is turned), so
a poor face that is close without matching goes to review instead of counting as "no match".
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

#: Largest distance between two descriptors still called "the same person" (bench/faces.py: chosen
#: on one half of the face pairs for a false-match rate of at most 0.05 %, checked on the other).
FACE_MATCH_THRESHOLD: Final = 0.485
#: A face this close to a template without matching is not called "no match" when it is poor (small,
#: blurred or turned: the distance is unreliable) or when other evidence supports it: fusion sends
#: it to review. About one comparison in a hundred between different people falls this close.
FACE_REVIEW_THRESHOLD: Final = 0.56
#: Frames are shrunk so their longer side is at most this many pixels before detection.
DEFAULT_MAX_SIDE: Final = 1024
#: HOG finds faces down to about 80 px; one upsampling step finds them down to about 40 px.
DEFAULT_UPSAMPLE: Final = 1
#: The CNN detector runs, when HOG finds nothing, on the frame shrunk to this longer side: it costs
#: about 0.5 s per 300x300 pixels on one core, so it is bounded like everything else.
CNN_MAX_SIDE: Final = 512
#: The faces measured per frame are capped, so a crowd photo cannot make analysis unbounded.
MAX_FACES_PER_FRAME: Final = 20
#: dlib's face chip: 150x150 pixels, 25 % padding around the landmarks.
CHIP_SIZE: Final = 150
CHIP_PADDING: Final = 0.25

#: The oval of a chip that holds the inner face (eyebrows to chin, cheek to cheek), in chip pixels
#: (centre x, y; half-width, half-height). Outside it, a face swap shows the *other* body's hair, ears,
#: jaw line and background; an oval chip fills that with grey (OVAL_FILL) before the descriptor.
OVAL_CENTRE: Final = (74.0, 70.0)
OVAL_AXES: Final = (56.0, 62.0)
OVAL_FILL: Final = 128

#: The looks at a face whose descriptors are averaged into its template or its description in a
#: reported picture: dlib's chip, its mirror image, and both again with only the oval kept. The mirror
#: halves the noise of a single look; the oval keeps what a face swap replaces and leaves out what
#: it keeps of the other body (bench/faces.py measures each; static/faces/ computes the same four).
LOOKS: Final = ("chip", "mirror", "oval", "oval-mirror")

#: Quality limits (bench/faces.py): below these, a face's distance is less reliable.
MIN_FACE_WIDTH: Final = 60
MIN_SHARPNESS: Final = 60.0
MAX_TURN: Final = 0.35

_MODEL_FILES: Final = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
_CNN_FILE: Final = "mmod_human_face_detector.dat"


def model_directory() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models``, without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorConfigError("face_recognition_models is not installed (see requirements.txt)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [name for name in (*_MODEL_FILES, _CNN_FILE) if not (folder / name).is_file()]
    if missing:
        raise DetectorConfigError(f"face model files missing from {folder}: {', '.join(missing)}")
    return folder


@dataclass(frozen=True)
class _Dlib:
    dlib: Any
    detector: Any
    shape_predictor: Any
    encoder: Any
    lock: threading.Lock


def _load() -> _Dlib:
    # Heavy, optional at import: dlib loads when a face is first looked at, so building the
    # registry, hashing files or starting a web process never pays for it.
    import dlib  # noqa: PLC0415 - heavy optional dependency, loaded at the first face

    folder = model_directory()
    return _Dlib(
        dlib,
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(folder / _MODEL_FILES[0])),
        dlib.face_recognition_model_v1(str(folder / _MODEL_FILES[1])),
        # dlib does not promise its objects are safe to share between threads.
        threading.Lock(),
    )


def _load_cnn() -> Any:
    folder = model_directory()
    return MODELS.get().dlib.cnn_face_detection_model_v1(str(folder / _CNN_FILE))


MODELS: Final = LazyModel(_load)
CNN: Final = LazyModel(_load_cnn)


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """How much a face's distance can be trusted: its width in the picture's pixels, the sharpness
    of its chip (variance of the Laplacian of the grey levels), how far it is turned (0 facing the
    camera, 1 in profile: the nose's offset from the middle of the eyes, in half eye spans), and
    which detector found it."""

    width: int
    sharpness: float
    turn: float
    detector: str = "hog"

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.width < MIN_FACE_WIDTH:
            found.append(f"small ({self.width} px wide)")
        if self.sharpness < MIN_SHARPNESS:
            found.append(f"blurred (sharpness {self.sharpness:.0f})")
        if self.turn > MAX_TURN:
            found.append(f"turned ({self.turn:.2f})")
        return tuple(found)

    @property
    def poor(self) -> bool:
        return bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "sharpness": round(self.sharpness, 1),
            "turn": round(self.turn, 3),
            "detector": self.detector,
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class FoundFace:
    """A face found in one picture: its box (left, top, right, bottom), descriptor, five landmarks
    (picture pixels) and quality."""

    box: tuple[int, int, int, int]
    vector: npt.NDArray[np.float64]
    points: tuple[tuple[float, float], ...] = ()
    quality: FaceQuality = FaceQuality(CHIP_SIZE, 1000.0, 0.0)


def _rgb(image: Image.Image, max_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    im = image if image.mode == "RGB" else image.convert("RGB")
    scale = 1.0
    if max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)), scale


def _oval() -> npt.NDArray[np.bool_]:
    rows, cols = np.mgrid[0:CHIP_SIZE, 0:CHIP_SIZE].astype(np.float64)
    inside = ((cols - OVAL_CENTRE[0]) / OVAL_AXES[0]) ** 2 + ((rows - OVAL_CENTRE[1]) / OVAL_AXES[1]) ** 2 <= 1.0
    return np.asarray(inside, dtype=np.bool_)


#: Which chip pixels the oval keeps (True) — the same pixels static/faces/chip.js keeps.
OVAL: Final = _oval()


def oval_chip(chip: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The chip with everything outside :data:`OVAL` filled with grey."""
    out = chip.copy()
    out[~OVAL] = OVAL_FILL
    return out


def sharpness(chip: npt.NDArray[np.uint8]) -> float:
    grey = chip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    laplacian = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return float(laplacian.var())


def face_turn(points: npt.NDArray[np.float64]) -> float:
    """0 facing the camera, about 1 in profile: the nose's sideways offset from the eyes' middle."""
    outer_right, _inner_right, outer_left, _inner_left, nose = points
    middle = (outer_right + outer_left) / 2
    span = float(np.linalg.norm(outer_right - outer_left))
    if span < 1e-6:
        return 1.0
    across = (outer_right - outer_left) / span
    return float(min(1.0, abs(float(np.dot(nose - middle, across))) / (span / 2)))


def looks(chip: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    """The looks at one chip whose descriptors are averaged (:data:`LOOKS`, in that order)."""
    oval = oval_chip(chip)
    made = {
        "chip": chip,
        "mirror": np.ascontiguousarray(chip[:, ::-1]),
        "oval": oval,
        "oval-mirror": np.ascontiguousarray(oval[:, ::-1]),
    }
    return [made[name] for name in LOOKS]


def describe(models: _Dlib, rgb: npt.NDArray[np.uint8], shape: Any) -> tuple[npt.NDArray[np.float64], float]:
    """The descriptor of one face (the mean over :data:`LOOKS` of its chip) and the chip's sharpness.

    Call with ``models.lock`` held.
    """
    chip = np.ascontiguousarray(models.dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING))
    vectors = models.encoder.compute_face_descriptor(looks(chip))
    vector = np.mean(np.asarray([np.asarray(v, dtype=np.float64) for v in vectors]), axis=0)
    return np.asarray(vector, dtype=np.float64), sharpness(chip)


def _detect(models: _Dlib, rgb: npt.NDArray[np.uint8], upsample: int, cnn: bool) -> tuple[list[Any], str]:
    rects = list(models.detector(rgb, upsample))
    if rects or not cnn:
        return rects, "hog"
    small, scale = _rgb(Image.fromarray(rgb), CNN_MAX_SIDE)
    found = CNN.get()(small, 0)
    dlib = models.dlib
    return [
        dlib.rectangle(
            round(d.rect.left() / scale),
            round(d.rect.top() / scale),
            round(d.rect.right() / scale),
            round(d.rect.bottom() / scale),
        )
        for d in found
    ], "cnn"


def find_faces(
    image: Image.Image,
    *,
    upsample: int = DEFAULT_UPSAMPLE,
    max_side: int = DEFAULT_MAX_SIDE,
    cnn_fallback: bool = False,
) -> list[FoundFace]:
    """Every face found (largest first, at most :data:`MAX_FACES_PER_FRAME`), with descriptors.

    With ``cnn_fallback`` dlib's CNN detector looks again when HOG finds nothing (slower; finds
    turned and small faces HOG misses).
    """
    models = MODELS.get()
    rgb, scale = _rgb(image, max_side)
    faces = []
    with models.lock:
        rects, detector = _detect(models, rgb, upsample, cnn_fallback)
        rects.sort(key=lambda r: r.width() * r.height(), reverse=True)
        for rect in rects[:MAX_FACES_PER_FRAME]:
            shape = models.shape_predictor(rgb, rect)
            points = np.asarray([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            vector, sharp = describe(models, rgb, shape)
            box = tuple(round(v / scale) for v in (rect.left(), rect.top(), rect.right(), rect.bottom()))
            quality = FaceQuality(round(rect.width() / scale), sharp, face_turn(points), detector)
            faces.append(
                FoundFace(
                    (box[0], box[1], box[2], box[3]),
                    vector,
                    tuple((round(x / scale, 1), round(y / scale, 1)) for x, y in points),
                    quality,
                )
            )
    return faces


def face_templates_from_image(image: Image.Image) -> list[FaceTemplate]:
    """A template (random id) for every face in an ordinary portrait; the caller decides what to
    do when there is not exactly one (the CLI refuses to guess which face is the survivor's).

    Values are rounded to 6 decimals: it changes distances by less than 1e-5 and keeps bundles small.
    """
    return [template_from_face(face) for face in find_faces(image)]


def template_from_face(face: FoundFace) -> FaceTemplate:
    """A found face as a template: a random id and the descriptor rounded to 6 decimals."""
    return FaceTemplate(secrets.token_hex(16), tuple(round(float(x), 6) for x in face.vector), FACE_MODEL)


def distances(vector: npt.NDArray[np.float64], templates: tuple[FaceTemplate, ...]) -> npt.NDArray[np.float64]:
    matrix = np.asarray([t.vector for t in templates], dtype=np.float64)
    return np.asarray(np.linalg.norm(matrix - vector, axis=1), dtype=np.float64)


def face_distances(face: FoundFace, templates: tuple[FaceTemplate, ...]) -> npt.NDArray[np.float64]:
    """The distance from a found face to each template, as the detector decides on it."""
    return distances(face.vector, templates)


def similarity(distance: float) -> float:
    """A 0..1 score for reports: 1 - distance, floored at 0 (so the threshold 0.6 is similarity 0.4)."""
    return max(0.0, min(1.0, 1.0 - distance))


def _check_distance(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 2.0:
        raise DetectorConfigError(f"face: {what} must be a distance between 0 and 2")
    return float(value)


class FaceDetector(Detector):
    """Compares every face in the medium's frames with the case's face templates (a gallery: the
    closest template counts)."""

    name: ClassVar[str] = "face"
    needs: ClassVar[frozenset[str]] = frozenset({"frames", "face_templates"})

    def __init__(
        self,
        *,
        threshold: float = FACE_MATCH_THRESHOLD,
        review_threshold: float = FACE_REVIEW_THRESHOLD,
        upsample: int = DEFAULT_UPSAMPLE,
        max_side: int = DEFAULT_MAX_SIDE,
        cnn_fallback: bool = False,
    ) -> None:
        self.threshold = _check_distance(threshold, "threshold")
        self.review_threshold = _check_distance(review_threshold, "review_threshold")
        if self.review_threshold < self.threshold:
            raise DetectorConfigError("face: review_threshold must be at least threshold")
        if isinstance(upsample, bool) or not isinstance(upsample, int) or not 0 <= upsample <= 2:
            raise DetectorConfigError("face: upsample must be 0, 1 or 2")
        if isinstance(max_side, bool) or not isinstance(max_side, int) or not 160 <= max_side <= 4096:
            raise DetectorConfigError("face: max_side must be an integer from 160 to 4096")
        if not isinstance(cnn_fallback, bool):
            raise DetectorConfigError("face: cnn_fallback must be true or false")
        self.upsample = upsample
        self.max_side = max_side
        self.cnn_fallback = cnn_fallback
        found_by = "hog+cnn" if cnn_fallback else "hog"
        self.version = f"dlib-{found_by}+{FACE_MODEL}-mirror/t{self.threshold:g}"

    def load(self) -> None:
        MODELS.get()
        if self.cnn_fallback:
            CNN.get()

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        templates = tuple(t for t in context.face_templates if t.model == FACE_MODEL)
        if not templates:
            raise DetectorError("the case has no face templates to compare with")
        best: tuple[float, str, int, FoundFace] | None = None
        face_count = 0
        frames_with_faces = 0
        for index, frame in enumerate(medium.frames):
            faces = find_faces(frame, upsample=self.upsample, max_side=self.max_side, cnn_fallback=self.cnn_fallback)
            face_count += len(faces)
            frames_with_faces += bool(faces)
            for face in faces:
                found = face_distances(face, templates)
                i = int(np.argmin(found))
                if best is None or found[i] < best[0]:
                    best = (float(found[i]), templates[i].id, index, face)
        frames = len(medium.frames)
        where = f"{frames} frame{'s' if frames != 1 else ''}"
        if best is None:
            return Finding(
                self.name,
                self.version,
                0.0,
                False,
                f"No face was found in the {where} checked.",
                {"faces": 0, "frames": frames, "threshold": self.threshold, "review_threshold": self.review_threshold},
            )
        distance, template_id, frame_index, face = best
        positive = distance <= self.threshold
        near = not positive and distance <= self.review_threshold
        score = round(similarity(distance), 4)
        verdict = "matches" if positive else "does not match"
        explanation = (
            f"The closest of {face_count} face{'s' if face_count != 1 else ''} found in {where} {verdict} "
            f"a face template of the case: distance {distance:.2f} (similarity {score:.2f}; "
            f"a match needs a distance of at most {self.threshold:.2f})."
        )
        if near:
            problems = face.quality.problems
            explanation += f" It is within the review distance {self.review_threshold:.2f}" + (
                f" and the face is {', '.join(problems)}, so the distance is less reliable." if problems else "."
            )
        return Finding(
            self.name,
            self.version,
            score,
            positive,
            explanation,
            {
                "distance": round(distance, 4),
                "similarity": score,
                "threshold": self.threshold,
                "review_threshold": self.review_threshold,
                "near": near,
                "quality": face.quality.to_dict(),
                "template_id": template_id,
                "templates": len(templates),
                "frame": frame_index,
                "faces": face_count,
                "frames_with_faces": frames_with_faces,
                "frames": frames,
            },
        )
