"""A face-swap simulation from ordinary portraits, and the degradations a reposted fake goes through.

No face-swap model can be built or downloaded here, so the swap is simulated the way the original
2017 "deepfakes" tool placed its decoded face: the survivor's face is aligned to the host's by a
similarity transform estimated from facial landmarks (Umeyama on the 51 inner landmarks, as that
tool aligned faces), cut out with a mask from the landmarks' convex hull (eroded by a random few
percent of the face width, as its masks were), and blended into the host photo with
``cv2.seamlessClone`` (Poisson blending: the host's skin tone and lighting flow into the pasted
face). The host's hair, forehead, ears, neck and background stay. A second method warps the
survivor's face triangle by triangle onto the host's landmarks (piecewise affine), so the face
also takes the host's proportions: a harder test, closer to a swap model that renders the
host's face shape.

Everything random (which photo is the source, the mask erosion, the rotation direction) comes
from a seeded generator, so a run is reproducible and a different seed re-draws the edits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float64]

#: The inner landmarks (eyebrows, eyes, nose, mouth) the 2017 tool aligned faces on.
INNER: Final = slice(17, 68)
METHODS: Final = ("similarity", "piecewise")


@dataclass(frozen=True)
class Face68:
    """A face found in a picture: the detector's box (left, top, right, bottom) and 68 landmarks."""

    box: tuple[int, int, int, int]
    points: Points

    @property
    def width(self) -> float:
        """The face's width from jaw corner to jaw corner (landmarks 0 and 16)."""
        return float(np.linalg.norm(self.points[16] - self.points[0]))


def umeyama(source: Points, target: Points) -> npt.NDArray[np.float64]:
    """The 2x3 similarity transform (rotation, uniform scale, translation) taking source to target
    in the least-squares sense (Umeyama 1991), as the original tool computed its alignment."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mu_s, target - mu_t
    covariance = t.T @ s / len(source)
    u, d, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / s.var(axis=0).sum())
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_t - scale * rotation @ mu_s
    return matrix


def _hull_mask(shape: tuple[int, int], points: Points) -> npt.NDArray[np.uint8]:
    mask = np.zeros(shape, dtype=np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    return mask


def _piecewise(source: RGB, source_points: Points, host: RGB, host_points: Points) -> RGB:
    """The source face warped triangle by triangle (Delaunay on the host's landmarks) onto the host's."""
    height, width = host.shape[:2]
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    inside = [(float(x), float(y)) for x, y in host_points if 0 <= x < width and 0 <= y < height]
    for point in inside:
        subdiv.insert(point)
    index = {(round(x, 3), round(y, 3)): i for i, (x, y) in enumerate(host_points)}
    out = np.zeros_like(host)
    for triangle in subdiv.getTriangleList():
        corners = [(round(float(triangle[k]), 3), round(float(triangle[k + 1]), 3)) for k in (0, 2, 4)]
        if not all(c in index for c in corners):
            continue
        ids = [index[c] for c in corners]
        src = np.asarray(source_points[ids], dtype=np.float32)
        dst = np.asarray(host_points[ids], dtype=np.float32)
        matrix = cv2.getAffineTransform(src, dst)
        warped = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tri_mask = np.zeros((height, width), dtype=np.uint8)
        cv2.fillConvexPoly(tri_mask, np.round(dst).astype(np.int32), 255)
        out[tri_mask > 0] = warped[tri_mask > 0]
    return out


def swap(
    source: RGB, source_face: Face68, host: RGB, host_face: Face68, rng: np.random.Generator, method: str = "similarity"
) -> RGB:
    """The survivor's face (``source``) placed on the host's body (``host``), blended by Poisson cloning."""
    height, width = host.shape[:2]
    if method == "similarity":
        matrix = umeyama(source_face.points[INNER], host_face.points[INNER])
        warped = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        moved = source_face.points @ matrix[:, :2].T + matrix[:, 2]
        mask = _hull_mask((height, width), host_face.points) & _hull_mask((height, width), moved)
    elif method == "piecewise":
        warped = _piecewise(source, source_face.points, host, host_face.points)
        mask = _hull_mask((height, width), host_face.points)
    else:
        raise ValueError(f"unknown swap method {method!r}")
    erosion = max(1, round(host_face.width * float(rng.uniform(0.02, 0.06))))
    mask = np.asarray(cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=erosion), dtype=np.uint8)
    # seamlessClone needs the mask clear of the picture's edges.
    mask[:2, :] = mask[-2:, :] = 0
    mask[:, :2] = mask[:, -2:] = 0
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("the face mask is empty")
    left, right, top, bottom = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    center = ((left + right + 1) // 2, (top + bottom + 1) // 2)
    blended = cv2.seamlessClone(
        np.ascontiguousarray(warped[:, :, ::-1]),
        np.ascontiguousarray(host[:, :, ::-1]),
        mask,
        center,
        cv2.NORMAL_CLONE,
    )
    return np.ascontiguousarray(blended[:, :, ::-1])


def jpeg(rgb: RGB, quality: int) -> RGB:
    """The picture re-encoded as a JPEG of this quality, as a repost or a screenshot recompresses it."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def face_width(rgb: RGB, face: Face68, width: int) -> RGB:
    """The picture scaled so the face is ``width`` pixels wide (jaw to jaw); never enlarged."""
    scale = min(1.0, width / max(1.0, face.width))
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def rotate(rgb: RGB, degrees: float) -> RGB:
    """The picture turned by ``degrees`` on a grown canvas (nothing of the face cut off)."""
    image = Image.fromarray(rgb).rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128)
    )
    return np.asarray(image)


DEGRADATIONS: Final[dict[str, str]] = {
    "jpeg50": "JPEG quality 50",
    "face96": "face 96 px wide",
    "face48": "face 48 px wide",
    "rot15": "turned 15 degrees",
}


def degrade(rgb: RGB, face: Face68, name: str, rng: np.random.Generator) -> RGB:
    """One of :data:`DEGRADATIONS` applied to a picture whose (host) face is ``face``."""
    if name == "jpeg50":
        return jpeg(rgb, 50)
    if name == "face96":
        return face_width(rgb, face, 96)
    if name == "face48":
        return face_width(rgb, face, 48)
    if name == "rot15":
        return rotate(rgb, 15.0 if rng.random() < 0.5 else -15.0)
    raise ValueError(f"unknown degradation {name!r}")


def describe() -> dict[str, Any]:
    """The simulation's settings, for the benchmark's notes."""
    return {
        "methods": METHODS,
        "alignment": "Umeyama similarity on landmarks 17-67",
        "mask": "convex hull of the 68 landmarks, eroded 2-6% of the face width",
        "blend": "cv2.seamlessClone NORMAL_CLONE",
        "degradations": DEGRADATIONS,
    }
