"""Face matching calibrated on people it was not tuned on: plain photos, simulated face swaps,
degraded copies, and each improvement's effect; then time per image for every detector.

Data (../shared/data, read in place):

* ``face-pairs/``: 240 people, two official photos each, usually taken years apart;
* ``photos/us_congress_2015/``: 300 more people, one photo each (different-person pairs only);
* ``faces/``: nine public figures, several photos each (the gallery illustration).

People (and the one-photo distractors) are split in two halves by a seeded hash of their id. Every
choice (thresholds, quality limits) is made on the *choosing* half; every figure in the tables is
measured on the *reporting* half, with 95 % confidence intervals from a bootstrap over people
(pairs that share a person are not independent, so people are resampled, not pairs).

Face swaps are simulated from these portraits (bench/face_swap.py): each person of a half is the
"survivor" once; their face from one of their two photos (chosen at random) is placed on the body
of a look-alike host (the other person of the same half whose photo is nearest in face descriptor
to the survivor's) and blended with cv2.seamlessClone, as the 2017 deepfakes tool placed its
decoded face. The survivor's template is made from their *other* photo; the host's from the host's
other photo. Degraded copies: JPEG quality 50, the face shrunk to 96 and to 48 px wide, and turned
15 degrees; plain photos get the same degradations.

Rates (a match is a distance at or below the threshold; an image's distance to a template is its
closest face's):

* true-match rate: plain photo or swap against the survivor's template;
* false-match rate: every template against every photo of every *other* person (face pairs and
  Congress portraits of the half);
* host matched: the swap against the host's own template (the body's owner would be "found");
* review: swaps not matched whose closest face is within the review distance and poor (small,
  blurred or turned), which fusion sends to a person instead of "no match".

Each configuration (an improvement added to the one before) gets its own threshold, chosen on the
choosing half as the largest distance (steps of 0.005) whose false-match rate's 95 % upper bound
is at most 0.05 %. Then every detector is timed per image.

    .venv/bin/python bench/faces.py                # all of it; writes docs/benchmarks/detectors.md
    .venv/bin/python bench/faces.py --people 40    # a quick look on 40 people (not for the docs)

Descriptors are cached in bench/out/ (keyed by image, simulation settings and seed), so a second
run with the same seed only redoes the analysis; --no-cache recomputes everything.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import math
import multiprocessing
import os
import pickle
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import doc_sections
from face_swap import Face68, degrade, swap

from takedown.detectors.base import DetectorContext, Medium
from takedown.detectors.explicit import NudeNetDetector
from takedown.detectors.faces import (
    CHIP_PADDING,
    CHIP_SIZE,
    CNN,
    CNN_MAX_SIDE,
    FACE_MATCH_THRESHOLD,
    FACE_REVIEW_THRESHOLD,
    MAX_TURN,
    MIN_FACE_WIDTH,
    MIN_SHARPNESS,
    MODELS,
    FaceDetector,
    face_templates_from_image,
    face_turn,
    model_directory,
    oval_chip,
    sharpness,
)
from takedown.detectors.media import medium_from_bytes
from takedown.detectors.onnx_classifier import OnnxClassifierDetector
from takedown.detectors.provenance import ProvenanceDetector

REPO: Final = Path(__file__).resolve().parent.parent
DATA: Final = REPO.parent / "shared" / "data"
PAIRS: Final = DATA / "face-pairs"
CONGRESS: Final = DATA / "photos" / "us_congress_2015"
FACES: Final = DATA / "faces"
PHOTOS: Final = DATA / "photos"
DOC: Final = REPO / "docs" / "benchmarks" / "detectors.md"
OUT: Final = REPO / "bench" / "out"
#: Bump when what is cached per image changes.
CACHE_VERSION: Final = "faces-5"
BOTH: Final = ("gpo2015", "bioguide")
DEGRADATIONS: Final = ("jpeg50", "face96", "face48", "rot15")
METHODS: Final = ("similarity", "piecewise")
#: What a default run makes (the issue's degradations, the similarity swap); --extras adds the rest.
DEFAULT_DEGRADATIONS: Final = ("jpeg50", "face96", "rot15")
DEFAULT_METHODS: Final = ("similarity",)
GRID: Final = [round(0.40 + 0.005 * i, 3) for i in range(61)]  # 0.400 .. 0.700
TARGET_FMR: Final = 0.0005
REVIEW_FMR: Final = 0.01
BOOTSTRAP: Final = 1000
#: Chips computed per face: (landmark model, padding, oval); each also mirrored. "p5" is dlib's own
#: chip; "o5" the same chip with only the oval of the inner face kept (OVAL in the detector).
CHIPS: Final = {
    "p5": (5, CHIP_PADDING, False),
    "o5": (5, CHIP_PADDING, True),
    "p68": (68, CHIP_PADDING, False),
    "t5": (5, 0.1, False),
}
#: The chips the shipped configuration needs; degraded copies get only these (each chip is one ResNet
#: pass, ~75 ms of CPU per look: the other changes are compared on undegraded pictures only).
SHIPPED_CHIPS: Final = ("p5", "o5")

Vector = npt.NDArray[np.float32]


# --------------------------------------------------------------------------- data


def split(key: str, seed: str) -> int:
    """0 (choosing half) or 1 (reporting half), from a seeded hash of a person's id."""
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()[0] & 1


def pair_people() -> list[str]:
    with open(PAIRS / "manifest.csv", newline="") as handle:
        return sorted(row["person"] for row in csv.DictReader(handle))


def faces_set_ids() -> set[str]:
    """Bioguide ids of the people in the faces set, so none of them counts as a stranger."""
    ids = set()
    with open(FACES / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            for word in row["attribution"].replace(",", " ").replace(";", " ").split():
                if len(word) == 7 and word[0].isalpha() and word[1:].isdigit():
                    ids.add(word)
    return ids


def load_rgb(path: Path) -> npt.NDArray[np.uint8]:
    medium = medium_from_bytes(path.read_bytes())
    return np.ascontiguousarray(np.asarray(medium.frames[0].convert("RGB"), dtype=np.uint8))


# --------------------------------------------------------------------------- observing faces


@dataclass
class Seen:
    """One face found in one picture, with a descriptor for every chip of :data:`CHIPS`."""

    box: tuple[int, int, int, int]
    detector: str
    width: int
    sharpness: float
    turn: float
    vectors: dict[str, Vector]

    @property
    def poor(self) -> bool:
        return self.width < MIN_FACE_WIDTH or self.sharpness < MIN_SHARPNESS or self.turn > MAX_TURN


class Observer:
    """Finds faces the way takedown.detectors.faces does (HOG; the CNN detector when HOG finds
    nothing) and describes each with several chips, so configurations can be compared offline."""

    def __init__(self, every_chip: bool = True) -> None:
        #: False: only SHIPPED_CHIPS, everywhere (the default run; --all-changes sets it).
        self.every_chip = every_chip
        self.models = MODELS.get()
        dlib = self.models.dlib
        self.sp68 = dlib.shape_predictor(str(model_directory() / "shape_predictor_68_face_landmarks.dat"))
        self.cnn = CNN.get()

    def landmarks68(self, rgb: npt.NDArray[np.uint8]) -> Face68 | None:
        rects = list(self.models.detector(rgb, 1))
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.width() * r.height())
        shape = self.sp68(rgb, rect)
        return Face68(
            (rect.left(), rect.top(), rect.right(), rect.bottom()),
            np.asarray([(p.x, p.y) for p in shape.parts()], dtype=np.float64),
        )

    def observe_path(self, path: Path) -> list[Seen]:
        return self.observe(load_rgb(path))

    def observe(self, rgb: npt.NDArray[np.uint8], max_faces: int = 3, every_chip: bool = True) -> list[Seen]:
        dlib = self.models.dlib
        rects = list(self.models.detector(rgb, 1))
        detector = "hog"
        if not rects:
            # As the detector's cnn_fallback does: the CNN on the picture shrunk to CNN_MAX_SIDE.
            scale = min(1.0, CNN_MAX_SIDE / max(rgb.shape[:2]))
            small = (
                rgb
                if scale == 1.0
                else np.asarray(
                    Image.fromarray(rgb).resize(
                        (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), Image.Resampling.BILINEAR
                    )
                )
            )
            rects = [
                dlib.rectangle(
                    *(round(v / scale) for v in (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()))
                )
                for d in self.cnn(np.ascontiguousarray(small), 0)
            ]
            detector = "cnn"
        rects.sort(key=lambda r: r.width() * r.height(), reverse=True)
        seen = []
        for rect in rects[:max_faces]:
            shapes = {5: self.models.shape_predictor(rgb, rect), 68: self.sp68(rgb, rect)}
            chips, names = [], []
            sharp = 0.0
            for name, (points, padding, inner) in CHIPS.items():
                if not (every_chip and self.every_chip) and name not in SHIPPED_CHIPS:
                    continue
                chip = np.ascontiguousarray(dlib.get_face_chip(rgb, shapes[points], CHIP_SIZE, padding))
                if name == "p5":
                    sharp = sharpness(chip)
                if inner:
                    chip = oval_chip(chip)
                chips += [chip, np.ascontiguousarray(chip[:, ::-1])]
                names += [name, name + "m"]
            vectors = self.models.encoder.compute_face_descriptor(chips)
            five = np.asarray([(p.x, p.y) for p in shapes[5].parts()], dtype=np.float64)
            seen.append(
                Seen(
                    (rect.left(), rect.top(), rect.right(), rect.bottom()),
                    detector,
                    rect.width(),
                    sharp,
                    face_turn(five),
                    {n: np.asarray(v, dtype=np.float32) for n, v in zip(names, vectors, strict=True)},
                )
            )
        return seen


#: The jobs of the current Cache.fill, read by forked workers by index (closures cannot be pickled;
#: a forked worker inherits this list and the loaded models).
_JOBS: list[Callable[[], list[Seen]]] = []


def _run_job(index: int) -> list[Seen]:
    return _JOBS[index]()


class Cache:
    """Observations by image key, kept in bench/out/ between runs."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, list[Seen]] = {}
        if path is not None and path.exists():
            with open(path, "rb") as handle:
                self.data = pickle.load(handle)  # our own file, written below
        self.dirty = 0

    def get(self, key: str, compute: Callable[[], list[Seen]]) -> list[Seen]:
        if key not in self.data:
            self.data[key] = compute()
            self.dirty += 1
            if self.dirty >= 200:
                self.save()
        return self.data[key]

    def fill(
        self, items: Sequence[tuple[str, Callable[[], list[Seen]]]], jobs: int, progress: Callable[[int, int], None]
    ) -> None:
        """Compute every missing key, in ``jobs`` forked processes (results are identical: every random
        edit comes from a generator seeded by its key). Consecutive items go to the same worker in
        chunks of ``chunk``, so a swap and its degraded copies share the fake made once."""
        missing = [(key, make) for key, make in items if key not in self.data]
        if jobs <= 1 or len(missing) < 2:
            for done, (key, make) in enumerate(missing, 1):
                self.get(key, make)
                progress(done, len(missing))
            return
        _JOBS[:] = [make for _key, make in missing]
        chunk = max(1, min(8, len(missing) // (4 * jobs)))
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.imap(_run_job, range(len(missing)), chunksize=chunk)
            for done, ((key, _make), seen) in enumerate(zip(missing, results, strict=True), 1):
                self.data[key] = seen
                self.dirty += 1
                if self.dirty >= 200:
                    self.save()
                progress(done, len(missing))
        _JOBS.clear()

    def save(self) -> None:
        if self.path is not None and self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "wb") as handle:
                pickle.dump(self.data, handle)
            tmp.replace(self.path)
            self.dirty = 0


def rng_for(seed: str, key: str) -> np.random.Generator:
    """A generator for one image's random edits, independent of the order images are made in."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big"))


# --------------------------------------------------------------------------- the study


@dataclass
class SwapPlan:
    survivor: str
    source: str  # the survivor's photo whose face is used
    template: str  # the survivor's other photo (their template)
    host: str
    body: str  # the host's photo used as the body
    host_template: str  # the host's other photo


@dataclass
class Study:
    seed: str
    people: list[str]
    half: dict[str, int]
    congress: list[str]
    plain: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)
    degraded: dict[tuple[str, str, str], list[Seen]] = field(default_factory=dict)
    strangers: dict[str, list[Seen]] = field(default_factory=dict)
    plans: dict[str, SwapPlan] = field(default_factory=dict)
    swaps: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)  # (survivor, variant)
    gallery: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)


def other(photo: str) -> str:
    return BOTH[1] if photo == BOTH[0] else BOTH[0]


def largest(seen: list[Seen], hog_only: bool = False) -> Seen | None:
    usable = [s for s in seen if not hog_only or s.detector == "hog"]
    return usable[0] if usable else None


def build(args: argparse.Namespace, log: Callable[[str], None]) -> Study:
    people = pair_people()
    if args.people:
        people = people[: args.people]
    excluded = faces_set_ids()
    congress = [p.stem for p in sorted(CONGRESS.glob("*.jpg")) if p.stem not in excluded and p.stem not in people]
    if args.people:
        congress = congress[: args.people]
    half = {key: split(key, args.seed) for key in [*people, *congress]}
    study = Study(args.seed, people, half, congress)
    chips = "-all" if args.all_changes else ""
    cache = Cache(None if args.no_cache else OUT / f"faces-cache-{CACHE_VERSION}{chips}.pkl")
    observer = Observer(every_chip=args.all_changes)
    degradations = DEGRADATIONS if args.extras else DEFAULT_DEGRADATIONS
    methods = METHODS if args.extras else DEFAULT_METHODS
    started = time.monotonic()

    def note(done: int, total: int, what: str) -> None:
        if done % 40 == 0 or done == total:
            log(f"{what}: {done}/{total} ({time.monotonic() - started:.0f} s)")

    def progress(what: str) -> Callable[[int, int], None]:
        return lambda done, total: note(done, total, what)

    images = {(p, photo): PAIRS / p / f"{photo}.jpg" for p in people for photo in BOTH}
    cache.fill(
        [(f"plain:{p}:{photo}", functools.partial(observer.observe_path, path)) for (p, photo), path in images.items()]
        + [(f"congress:{c}", functools.partial(observer.observe_path, CONGRESS / f"{c}.jpg")) for c in congress],
        args.jobs,
        progress("plain photos and Congress portraits"),
    )
    for i, ((person, photo), path) in enumerate(images.items(), 1):
        study.plain[(person, photo)] = cache.get(
            f"plain:{person}:{photo}", functools.partial(observer.observe_path, path)
        )
        note(i, len(images), "plain photos")
    for i, cid in enumerate(congress, 1):
        study.strangers[cid] = cache.get(
            f"congress:{cid}", functools.partial(observer.observe_path, CONGRESS / f"{cid}.jpg")
        )
        note(i, len(congress), "Congress portraits")
    pending: list[tuple[str, Callable[[], list[Seen]]]] = []
    if not args.skip_degraded and args.plain_degraded:
        for (person, photo), path in images.items():
            base = study.plain[(person, photo)]
            # One photo per person is degraded (the other is its template): half the work, every person once.
            if photo != BOTH[int(rng_for(args.seed, f"degraded:{person}").integers(2))]:
                continue
            for name in degradations:
                key = f"plain:{person}:{photo}:{name}:{args.seed}"

                def make(path: Path = path, name: str = name, key: str = key) -> list[Seen]:
                    rgb = load_rgb(path)
                    face = observer.landmarks68(rgb)
                    if face is None:
                        return []
                    return observer.observe(degrade(rgb, face, name, rng_for(args.seed, key)), every_chip=False)

                if base:
                    pending.append((key, make))
                study.degraded[(person, photo, name)] = []
    cache.fill(pending, args.jobs, progress("degraded plain photos"))
    for person, photo, name in list(study.degraded):
        key = f"plain:{person}:{photo}:{name}:{args.seed}"
        study.degraded[(person, photo, name)] = cache.data.get(key, [])

    # Swap plans: the host is the person of the same half whose photo is nearest the survivor's source.
    plain_vec = {k: largest(v).vectors["p5"] for k, v in study.plain.items() if largest(v) is not None}  # type: ignore[union-attr]
    for person in people:
        source = BOTH[int(rng_for(args.seed, f"source:{person}").integers(2))]
        if (person, source) not in plain_vec or (person, other(source)) not in plain_vec:
            continue
        candidates = [
            (float(np.linalg.norm(plain_vec[(person, source)] - vec)), host, body)
            for (host, body), vec in plain_vec.items()
            if host != person and half[host] == half[person] and (host, other(body)) in plain_vec
        ]
        if not candidates:
            continue
        _distance, host, body = min(candidates)
        study.plans[person] = SwapPlan(person, source, other(source), host, body, other(body))
    # The fake is made once per plan and method; its degraded copies are made from it.
    fakes: dict[str, tuple[npt.NDArray[np.uint8], Face68] | None] = {}

    def fake_for(plan: SwapPlan, method: str, key: str) -> tuple[npt.NDArray[np.uint8], Face68] | None:
        if key not in fakes:
            fakes.clear()
            source_rgb = load_rgb(PAIRS / plan.survivor / f"{plan.source}.jpg")
            host_rgb = load_rgb(PAIRS / plan.host / f"{plan.body}.jpg")
            source_face, host_face = observer.landmarks68(source_rgb), observer.landmarks68(host_rgb)
            fakes[key] = (
                None
                if source_face is None or host_face is None
                else (swap(source_rgb, source_face, host_rgb, host_face, rng_for(args.seed, key), method), host_face)
            )
        return fakes[key]

    pending = []
    wanted: dict[tuple[str, str], str] = {}
    for person, plan in study.plans.items():
        for method in methods:
            key = f"swap:{method}:{plan.survivor}:{plan.source}:{plan.host}:{plan.body}:{args.seed}"
            variants = ("",) if method == "piecewise" or args.skip_degraded else ("", *degradations)
            for variant in variants:

                def make_swap(
                    plan: SwapPlan = plan, method: str = method, key: str = key, variant: str = variant
                ) -> list[Seen]:
                    made = fake_for(plan, method, key)
                    if made is None:
                        return []
                    fake, host_face = made
                    if variant:
                        fake = degrade(fake, host_face, variant, rng_for(args.seed, key + variant))
                    return observer.observe(fake, every_chip=not variant)

                name = method + (f":{variant}" if variant else "")
                pending.append((key + (f":{variant}" if variant else ""), make_swap))
                wanted[(person, name)] = pending[-1][0]
    cache.fill(pending, args.jobs, progress("swaps and their degraded copies"))
    for (person, name), key in wanted.items():
        study.swaps[(person, name)] = cache.data[key]
    for path in sorted(FACES.glob("*/*.jpg")):
        study.gallery[(path.parent.name, path.stem)] = cache.get(
            f"faces:{path.parent.name}:{path.stem}", functools.partial(observer.observe_path, path)
        )
    cache.save()
    return study


# --------------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config:
    """How a face becomes a vector (the same for templates and probes) and which detectors count."""

    name: str
    change: str
    chips: tuple[str, ...]
    cnn: bool = False

    def measurable(self, seen: list[Seen]) -> bool:
        """Whether these pictures were described with this configuration's chips (degraded copies
        carry only SHIPPED_CHIPS)."""
        return all(c in s.vectors for s in seen for c in self.chips)

    def vector(self, seen: Seen) -> Vector:
        return np.mean([seen.vectors[c] for c in self.chips], axis=0)  # type: ignore[no-any-return]

    def faces(self, seen: list[Seen]) -> list[Seen]:
        return [s for s in seen if self.cnn or s.detector == "hog"]


CONFIGS: Final = (
    Config("dlib default", "the detector before this work: HOG, dlib's chip", ("p5",)),
    Config("+ mirror", "each chip averaged with its mirror image (templates and pictures)", ("p5", "p5m")),
    Config("+ 68-point chip", "also the chip aligned on dlib's 68 landmarks", ("p5", "p5m", "p68", "p68m")),
    Config("+ tight crop", "also a chip with 10 % padding (less hair and background)", ("p5", "p5m", "t5", "t5m")),
    Config("oval only", "only the oval of the inner face (mirrored); hair, ears, jaw greyed", ("o5", "o5m")),
    Config("+ oval", "mirror, with the oval chip averaged in", ("p5", "p5m", "o5", "o5m")),
    Config(
        "+ oval, weighted 2:1",
        "as + oval with the oval chip counted twice (leans on what a swap replaces)",
        ("p5", "p5m", "o5", "o5m", "o5", "o5m"),
    ),
    Config(
        "+ oval + CNN",
        "as + oval, and dlib's CNN detector when HOG finds nothing",
        ("p5", "p5m", "o5", "o5m"),
        cnn=True,
    ),
)
SHIPPED: Final = CONFIGS[-1]


def distance_to(config: Config, template: Vector, seen: list[Seen]) -> float:
    """An image's distance to a template: its closest face's (infinity when no face counts; NaN
    when the picture was not described with the configuration's chips)."""
    if not config.measurable(seen):
        return math.nan
    faces = config.faces(seen)
    if not faces:
        return math.inf
    return float(min(np.linalg.norm(config.vector(s) - template) for s in faces))


def closest(config: Config, template: Vector, seen: list[Seen]) -> Seen | None:
    if not config.measurable(seen):
        return None
    faces = config.faces(seen)
    return min(faces, key=lambda s: float(np.linalg.norm(config.vector(s) - template)), default=None)


@dataclass
class Measured:
    """One configuration's distances on one half."""

    genuine: dict[str, list[tuple[str, float]]]  # set name -> [(person, distance)]
    host: dict[str, list[tuple[str, float]]]
    poor: dict[str, list[bool]]  # set name -> whether the face closest to the survivor's template is poor
    identities: list[str]
    impostor: npt.NDArray[np.float64]  # all different-person distances
    owner: npt.NDArray[np.int64]  # template identity index of each impostor distance
    probe_owner: npt.NDArray[np.int64]
    probe_index: npt.NDArray[np.int64]  # which picture
    impostor_poor: npt.NDArray[np.bool_]


def measure(study: Study, config: Config, which: int) -> Measured:
    people = [p for p in study.people if study.half[p] == which]
    strangers = [c for c in study.congress if study.half[c] == which]
    identities = [*people, *strangers]
    index = {key: i for i, key in enumerate(identities)}
    templates: list[tuple[str, Vector]] = []
    for person in people:
        for photo in BOTH:
            face = largest(config.faces(study.plain[(person, photo)]))
            if face is not None:
                templates.append((person, config.vector(face)))
    for cid in strangers:
        face = largest(config.faces(study.strangers[cid]))
        if face is not None:
            templates.append((cid, config.vector(face)))
    template_of = {
        (p, photo): config.vector(f)
        for p in people
        for photo in BOTH
        if (f := largest(config.faces(study.plain[(p, photo)])))
    }

    genuine: dict[str, list[tuple[str, float]]] = {"plain": []}
    poor: dict[str, list[bool]] = {"plain": []}

    def note_poor(name: str, template: Vector, seen: list[Seen]) -> None:
        nearest = closest(config, template, seen)
        poor.setdefault(name, []).append(bool(nearest and nearest.poor))

    for person in people:
        for photo in BOTH:
            if (person, other(photo)) in template_of:
                mine = template_of[(person, other(photo))]
                genuine["plain"].append((person, distance_to(config, mine, study.plain[(person, photo)])))
                note_poor("plain", mine, study.plain[(person, photo)])
    for name in DEGRADATIONS:
        for person in people:
            for photo in BOTH:
                if (person, photo, name) in study.degraded and (person, other(photo)) in template_of:
                    mine, seen = template_of[(person, other(photo))], study.degraded[(person, photo, name)]
                    genuine.setdefault(f"plain:{name}", []).append((person, distance_to(config, mine, seen)))
                    note_poor(f"plain:{name}", mine, seen)
    host: dict[str, list[tuple[str, float]]] = {}
    for (person, variant), seen in study.swaps.items():
        plan = study.plans[person]
        if study.half[person] != which or (person, plan.template) not in template_of:
            continue
        mine = template_of[(person, plan.template)]
        genuine.setdefault(f"swap:{variant}", []).append((person, distance_to(config, mine, seen)))
        if variant == "similarity" and (person, plan.source) in template_of:
            # The survivor's gallery also holds the very photo the fake was made from: an upper bound.
            both = min(distance_to(config, mine, seen), distance_to(config, template_of[(person, plan.source)], seen))
            genuine.setdefault("swap:gallery", []).append((person, both))
            note_poor("swap:gallery", mine, seen)
        note_poor(f"swap:{variant}", mine, seen)
        if (plan.host, plan.host_template) in template_of:
            host.setdefault(f"swap:{variant}", []).append(
                (person, distance_to(config, template_of[(plan.host, plan.host_template)], seen))
            )

    # Different-person pairs: every template against every picture of another identity.
    probes: list[tuple[str, list[Seen]]] = [(p, study.plain[(p, photo)]) for p in people for photo in BOTH]
    probes += [(c, study.strangers[c]) for c in strangers]
    probe_faces = [(owner, [(config.vector(s), s.poor) for s in config.faces(seen)]) for owner, seen in probes]
    distances, owners, probe_owners, probe_index, probe_poor = [], [], [], [], []
    for owner, template in templates:
        for k_probe, (probe_owner, faces) in enumerate(probe_faces):
            if probe_owner == owner or not faces:
                continue
            gaps = [float(np.linalg.norm(v - template)) for v, _p in faces]
            k = int(np.argmin(gaps))
            distances.append(gaps[k])
            owners.append(index[owner])
            probe_owners.append(index[probe_owner])
            probe_index.append(k_probe)
            probe_poor.append(faces[k][1])
    return Measured(
        genuine,
        host,
        poor,
        identities,
        np.asarray(distances),
        np.asarray(owners),
        np.asarray(probe_owners),
        np.asarray(probe_index),
        np.asarray(probe_poor, dtype=bool),
    )


# --------------------------------------------------------------------------- statistics


def wilson_upper(hits: int, n: int, z: float = 1.96) -> float:
    if n == 0:
        return 1.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def rate_ci(rows: list[tuple[str, float]], threshold: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """A rate and its 95 % interval from a bootstrap over people (each person's rows move together)."""
    rows = [(p, d) for p, d in rows if not math.isnan(d)]
    if not rows:
        return math.nan, math.nan, math.nan
    people = sorted({p for p, _d in rows})
    per = {p: [0, 0] for p in people}
    for person, d in rows:
        per[person][0] += d <= threshold
        per[person][1] += 1
    hits = np.asarray([per[p][0] for p in people], dtype=float)
    totals = np.asarray([per[p][1] for p in people], dtype=float)
    picks = rng.integers(0, len(people), size=(BOOTSTRAP, len(people)))
    boot = hits[picks].sum(axis=1) / totals[picks].sum(axis=1)
    return float(hits.sum() / totals.sum()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def fmr_ci(measured: Measured, threshold: float, rng: np.random.Generator) -> tuple[float, float, float, int]:
    """False-match rate at a threshold with a 95 % interval from a bootstrap over identities."""
    n_id = len(measured.identities)
    hits = measured.impostor <= threshold
    counts = np.zeros((n_id, n_id))
    totals = np.zeros((n_id, n_id))
    np.add.at(counts, (measured.owner, measured.probe_owner), hits)
    np.add.at(totals, (measured.owner, measured.probe_owner), 1)
    weights = np.stack([np.bincount(rng.integers(0, n_id, n_id), minlength=n_id) for _ in range(BOOTSTRAP)]).astype(
        float
    )
    boot = np.einsum("bi,ij,bj->b", weights, counts, weights) / np.einsum("bi,ij,bj->b", weights, totals, weights)
    return float(hits.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)), int(hits.sum())


def choose_threshold(measured: Measured) -> float:
    """The largest grid distance whose false-match rate's 95 % upper bound (Wilson) is within target."""
    n = len(measured.impostor)
    ordered = np.sort(measured.impostor)
    ok = [t for t in GRID if wilson_upper(int(np.searchsorted(ordered, t, side="right")), n) <= TARGET_FMR]
    return max(ok) if ok else GRID[0]


def choose_review(measured: Measured) -> float:
    """The largest grid distance at which at most REVIEW_FMR of different-person pairs are this close."""
    ordered = np.sort(measured.impostor)
    ok = [t for t in GRID if np.searchsorted(ordered, t, side="right") / len(ordered) <= REVIEW_FMR]
    return max(ok) if ok else GRID[0]


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def ci(values: tuple[float, float, float]) -> str:
    rate, low, high = values
    return "n/a" if math.isnan(rate) else f"{100 * rate:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def ci_fine(values: tuple[float, float, float, int]) -> str:
    rate, low, high, hits = values
    return f"{100 * rate:.3f}% [{100 * low:.3f}, {100 * high:.3f}] ({hits})"


# --------------------------------------------------------------------------- report


SET_NAMES: Final = {
    "plain": "plain photo",
    "plain:jpeg50": "plain, JPEG 50",
    "plain:face96": "plain, face 96 px",
    "plain:face48": "plain, face 48 px",
    "plain:rot15": "plain, turned 15°",
    "swap:similarity": "swap",
    "swap:similarity:jpeg50": "swap, JPEG 50",
    "swap:similarity:face96": "swap, face 96 px",
    "swap:similarity:face48": "swap, face 48 px",
    "swap:similarity:rot15": "swap, turned 15°",
    "swap:piecewise": "swap, host's face shape",
    "swap:gallery": "swap; the survivor's gallery also holds the photo the fake was made from",
}


def calibration(study: Study, log: Callable[[str], None]) -> tuple[list[str], dict[str, Any]]:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(study.seed.encode()).digest()[:8], "big"))
    lines: list[str] = []
    results: dict[str, Any] = {}
    choose_n = sum(1 for p in study.people if study.half[p] == 0)
    report_n = sum(1 for p in study.people if study.half[p] == 1)
    strangers = [sum(1 for c in study.congress if study.half[c] == h) for h in (0, 1)]
    swaps = [sum(1 for p in study.plans if study.half[p] == h) for h in (0, 1)]
    lines += [
        f"Split: {choose_n} people choose, {report_n} people report (seed `{study.seed}`); "
        f"{strangers[0]} and {strangers[1]} one-photo Congress portraits as further strangers. Swaps made: "
        f"{swaps[0]} and {swaps[1]}.",
        "",
        "### Each change, with its own threshold (chosen on the choosing half; figures on the reporting half)",
        "",
        "| configuration | change | threshold | plain true-match | false-match (pairs matched) | swap true-match "
        "| swap: host matched | swap JPEG 50 | swap face 96 px | swap turned 15° | swap, host's face shape |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    measured_report: dict[str, Measured] = {}
    chosen: dict[str, float] = {}
    described = [seen for seen in study.plain.values() if seen]
    for config in CONFIGS:
        if not all(config.measurable(seen) for seen in described):
            lines.append(f"| {config.name} | {config.change} | not run (`--all-changes`) |" + " |" * 8)
            continue
        choosing = measure(study, config, 0)
        reporting = measure(study, config, 1)
        t = choose_threshold(choosing)
        chosen[config.name] = t
        measured_report[config.name] = reporting
        row = [config.name, config.change, f"{t:.3f}"]
        row.append(ci(rate_ci(reporting.genuine["plain"], t, rng)))
        row.append(ci_fine(fmr_ci(reporting, t, rng)) + f" of {len(reporting.impostor):,}")
        for name in ("swap:similarity",):
            row.append(ci(rate_ci(reporting.genuine.get(name, []), t, rng)))
            row.append(ci(rate_ci(reporting.host.get(name, []), t, rng)))
        for name in ("swap:similarity:jpeg50", "swap:similarity:face96", "swap:similarity:rot15", "swap:piecewise"):
            row.append(pct(rate_ci(reporting.genuine.get(name, []), t, rng)[0]))
        lines.append("| " + " | ".join(row) + " |")
        log(f"{config.name}: threshold {t:.3f}")

    lines += [
        "",
        "Degraded copies are described only with the chips the shipped configuration uses (each look is one "
        "pass of the ResNet, about 75 ms of CPU here), so rows needing other chips show n/a there; without "
        "`--all-changes` those rows are not run at all (the default, to keep the run within the hour on a shared "
        "two-core machine).",
    ]
    shipped = measured_report[SHIPPED.name]
    t_ship = chosen[SHIPPED.name]
    t_review = choose_review(measure(study, SHIPPED, 0))
    results.update(threshold=t_ship, review=t_review)
    lines += [
        "",
        f"### The shipped configuration ({SHIPPED.name}) at candidate thresholds, reporting half",
        "",
        f"Chosen on the choosing half: match threshold **{t_ship:.3f}**, review distance **{t_review:.3f}** (at most "
        f"{REVIEW_FMR:.0%} of different-person pairs that close). `FACE_MATCH_THRESHOLD` is {FACE_MATCH_THRESHOLD} and "
        f"`FACE_REVIEW_THRESHOLD` {FACE_REVIEW_THRESHOLD} in the code this ran with.",
        "",
        "| threshold | plain true-match | false-match (pairs) | swap true-match | host matched | swap JPEG 50 "
        "| swap 96 px | swap 48 px | swap turned 15° | plain JPEG 50 | plain 48 px | plain turned 15° |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    candidates = sorted({round(t_ship + d, 3) for d in (-0.05, -0.025, 0.0, 0.025, 0.05)} | {0.525, 0.6})
    for t in candidates:
        mark = " **(shipped)**" if t == t_ship else ""
        row = [
            f"{t:.3f}{mark}",
            ci(rate_ci(shipped.genuine["plain"], t, rng)),
            ci_fine(fmr_ci(shipped, t, rng)),
        ]
        row.append(ci(rate_ci(shipped.genuine.get("swap:similarity", []), t, rng)))
        row.append(ci(rate_ci(shipped.host.get("swap:similarity", []), t, rng)))
        for name in (
            "swap:similarity:jpeg50",
            "swap:similarity:face96",
            "swap:similarity:face48",
            "swap:similarity:rot15",
            "plain:jpeg50",
            "plain:face48",
            "plain:rot15",
        ):
            row.append(pct(rate_ci(shipped.genuine.get(name, []), t, rng)[0]))
        lines.append("| " + " | ".join(row) + " |")

    # What happens to each kind of picture at the shipped distances.
    t_explicit = round((t_ship + t_review) / 2, 4)
    lines += [
        "",
        f"### What happens to each kind of picture at {t_ship:.3f} (review distance {t_review:.3f}), reporting half",
        "",
        "Matched: the survivor's template matches (fusion: possible match, or probable forgery with explicit content "
        "or declared AI). Review, poor face: not matched, the closest face is within the review distance and small, "
        "blurred or turned, so fusion sends it to a person on its own. Review if explicit: not matched, but close "
        f"enough (distance at most {t_explicit:.3f}, face evidence 0.5 or more) that an explicit picture goes to "
        "review. Missed: none of these, even when explicit. Host matched: the host's own template matches the same "
        "picture. No face: nothing counted as a face.",
        "",
        "| picture | n | matched | review, poor face | review if explicit | missed | no face | host matched |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in SET_NAMES.items():
        rows = shipped.genuine.get(name)
        if not rows:
            continue
        n = len(rows)
        flags = shipped.poor.get(name, [False] * n)
        matched = sum(d <= t_ship for _p, d in rows)
        no_face = sum(math.isinf(d) for _p, d in rows)
        poor_review = sum(1 for (_p, d), bad in zip(rows, flags, strict=True) if t_ship < d <= t_review and bad)
        explicit_review = sum(
            1 for (_p, d), bad in zip(rows, flags, strict=True) if t_ship < d <= t_explicit and not bad
        )
        missed = n - matched - poor_review - explicit_review - no_face
        host_rows = shipped.host.get(name, [])
        host = f"{pct(sum(d <= t_ship for _p, d in host_rows) / len(host_rows))}" if host_rows else "-"
        lines.append(
            f"| {label} | {n} | {pct(matched / n)} | {pct(poor_review / n)} | {pct(explicit_review / n)} | "
            f"{pct(missed / n)} | {pct(no_face / n)} | {host} |"
        )
    quality = [(name, sum(flags), len(flags)) for name, flags in shipped.poor.items() if name in SET_NAMES and flags]
    lines += [
        "",
        f"Quality limits (poor below {MIN_FACE_WIDTH} px wide, sharpness below {MIN_SHARPNESS:.0f}, turned more than "
        f"{MAX_TURN}): poor faces among the survivor's closest faces: "
        + "; ".join(f"{SET_NAMES[name]} {100 * k / n:.0f}%" for name, k, n in quality)
        + f"; among different people's pictures {100 * float(np.mean(shipped.impostor_poor)):.1f}%.",
    ]
    review_load = float(np.mean((shipped.impostor > t_ship) & (shipped.impostor <= t_review) & shipped.impostor_poor))
    near_load = float(np.mean((shipped.impostor > t_ship) & (shipped.impostor <= t_review)))
    lines += [
        "",
        f"Review load from different people: {100 * near_load:.2f}% of different-person pairs fall between the two "
        f"distances; {100 * review_load:.3f}% are there with a poor face (sent to review on their own); the rest go to "
        "review only with explicit content or declared AI generation as support (docs/detectors.md, fusion).",
    ]
    # The targets, read at the shipped threshold on the reporting half.
    plain_rate = rate_ci(shipped.genuine["plain"], t_ship, rng)
    fmr = fmr_ci(shipped, t_ship, rng)
    swap_rate = rate_ci(shipped.genuine.get("swap:similarity", []), t_ship, rng)
    host_rate = rate_ci(shipped.host.get("swap:similarity", []), t_ship, rng)
    ordered = np.sort(shipped.impostor)
    at_target = [t for t in GRID if np.searchsorted(ordered, t, side="right") / len(ordered) <= TARGET_FMR]
    t_fair = max(at_target) if at_target else GRID[0]

    def verdict(met: bool, gap: float) -> str:
        return "met" if met else f"missed by {100 * abs(gap):.1f} points"

    lines += [
        "",
        f"### The issue's targets at {t_ship:.3f}, reporting half",
        "",
        f"- Plain photos, true-match >= 97%: {pct(plain_rate[0])} "
        f"({verdict(plain_rate[0] >= 0.97, plain_rate[0] - 0.97)}); "
        f"false-match <= 0.05%: {100 * fmr[0]:.3f}% ({'met' if fmr[0] <= TARGET_FMR else 'missed'}; the threshold "
        f"was chosen on the other half, where the bound held: the reporting half's own largest threshold within "
        f"0.05% is {t_fair:.3f}, with plain true-match {pct(rate_ci(shipped.genuine['plain'], t_fair, rng)[0])} and "
        f"swap true-match {pct(rate_ci(shipped.genuine.get('swap:similarity', []), t_fair, rng)[0])}).",
        f"- Face swaps, true-match >= 90%: {pct(swap_rate[0])} ({verdict(swap_rate[0] >= 0.9, swap_rate[0] - 0.9)}); "
        f"host matched <= 5%: {pct(host_rate[0])} ({verdict(host_rate[0] <= 0.05, host_rate[0] - 0.05)}).",
    ]
    results["measured"] = shipped
    return lines, results


def gallery_lines(study: Study) -> list[str]:
    """A gallery (several templates, the closest counts) on the people of the faces set with 3+ photos,
    and the false-match cost of a gallery on the face pairs."""
    lines = ["", "### A gallery of templates", ""]
    config = SHIPPED
    by_person: dict[str, list[Vector]] = {}
    for (person, _photo), seen in sorted(study.gallery.items()):
        face = largest(config.faces(seen))
        if face is not None:
            by_person.setdefault(person, []).append(config.vector(face))
    multi = {p: v for p, v in by_person.items() if len(v) >= 3}
    for person, vectors in multi.items():
        singles, best = [], []
        for i, probe in enumerate(vectors):
            rest = [v for j, v in enumerate(vectors) if j != i]
            gaps = [float(np.linalg.norm(probe - v)) for v in rest]
            singles.append(float(np.mean(gaps)))
            best.append(min(gaps))
        lines.append(
            f"- {person.replace('_', ' ').title()} ({len(vectors)} photos, each against the others): mean distance "
            f"to one other photo {np.mean(singles):.3f}, to the closest of the other {len(vectors) - 1} "
            f"{np.mean(best):.3f}."
        )
    reporting = measure(study, config, 1)
    threshold = choose_threshold(measure(study, config, 0))
    closest_of: dict[tuple[int, int], list[float]] = {}
    for owner, probe, d in zip(reporting.owner, reporting.probe_index, reporting.impostor, strict=True):
        closest_of.setdefault((int(owner), int(probe)), []).append(float(d))
    two = [min(v) for v in closest_of.values() if len(v) == 2]
    one = [v[0] for v in closest_of.values() if len(v) == 2]
    if two:
        lines += [
            "",
            "Two photos per person cannot show what a third portrait gains, but they show the cost: a picture of "
            f"someone else compared with a person's two templates (the closest counts) matched at {threshold:.3f} in "
            f"{100 * np.mean(np.asarray(two) <= threshold):.3f}% of {len(two):,} cases, against "
            f"{100 * np.mean(np.asarray(one) <= threshold):.3f}% with one template: a survivor's gallery of k "
            "templates multiplies the false-match rate per picture by up to k. The face detector compares every "
            "face with every template and reports the closest; the shipped threshold is per comparison.",
        ]
    return lines


def timing_lines(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Model loading and time per image for every detector (as the old benchmark did)."""
    loads: dict[str, float] = {}
    t = time.perf_counter()
    MODELS.get()
    loads["face (dlib HOG + 5-point + ResNet)"] = time.perf_counter() - t
    explicit = NudeNetDetector()
    t = time.perf_counter()
    explicit.load()
    loads["explicit (NudeNet 320n, onnxruntime)"] = time.perf_counter() - t
    t = time.perf_counter()
    CNN.get()
    loads["face CNN detector (mmod, fallback)"] = time.perf_counter() - t

    timing_paths = sorted((PHOTOS / "coco2017_ccby").glob("*.jpg")) + sorted((PHOTOS / "kodak").glob("*.png"))
    timing_paths += sorted(FACES.glob("*/*.jpg"))
    step = max(1, len(timing_paths) // args.timing_images)
    timing_paths = timing_paths[::step][: args.timing_images]
    with Image.open(FACES / "barack_obama" / "obama1.jpg") as portrait:
        template = face_templates_from_image(portrait.convert("RGB"))[0]
    context = DetectorContext(face_templates=(template,))
    portraits = [PAIRS / p / "gpo2015.jpg" for p in pair_people()[: args.timing_images]]
    template_times = []
    for path in portraits:
        t = time.perf_counter()
        with Image.open(path) as im:
            face_templates_from_image(im.convert("RGB"))
        template_times.append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "tiny.onnx"
        _tiny_onnx(onnx_path)
        onnx_detector = OnnxClassifierDetector(path=str(onnx_path), input_size=224)
        t = time.perf_counter()
        onnx_detector.load()
        loads["onnx plug-in (tiny test model)"] = time.perf_counter() - t
        provenance = ProvenanceDetector()
        t = time.perf_counter()
        provenance.analyse(Medium(b"", "image/jpeg", "image", ()), DetectorContext())
        loads["provenance (c2pa context)"] = time.perf_counter() - t
        face = FaceDetector()
        face_cnn = FaceDetector(cnn_fallback=True)
        runners: dict[str, Callable[[Medium], object]] = {
            "decode (medium_from_bytes)": lambda m: None,
            "explicit (NudeNet)": lambda m: explicit.analyse(m, context),
            "face (detect + mirror descriptor + compare)": lambda m: face.analyse(m, context),
            "face with CNN fallback": lambda m: face_cnn.analyse(m, context),
            "provenance (C2PA + XMP)": lambda m: provenance.analyse(m, context),
            "onnx plug-in (tiny model, 224 px)": lambda m: onnx_detector.analyse(m, context),
        }
        times: dict[str, list[float]] = {k: [] for k in runners}
        for path in timing_paths:
            data = path.read_bytes()
            t = time.perf_counter()
            medium = medium_from_bytes(data)
            times["decode (medium_from_bytes)"].append(time.perf_counter() - t)
            for name, run in runners.items():
                if name.startswith("decode"):
                    continue
                t = time.perf_counter()
                run(medium)
                times[name].append(time.perf_counter() - t)
    lines = [
        f"{len(timing_paths)} images (COCO, Kodak and the faces set, 180 to 1024 px), decoded once; each detector then "
        "runs on the decoded medium. The face detector compares with one template; the CNN fallback runs only on "
        "images where HOG finds no face (most COCO and Kodak pictures here).",
        "",
        "| step | median ms | p95 ms |",
        "| --- | --- | --- |",
        f"| face template from a portrait (detect + mirror descriptor; {len(template_times)} face-pairs photos) | "
        f"{1000 * statistics.median(template_times):.1f} | {1000 * _pct(template_times, 0.95):.1f} |",
    ]
    for name, values in times.items():
        lines.append(f"| {name} | {1000 * statistics.median(values):.1f} | {1000 * _pct(values, 0.95):.1f} |")
    load_lines = ["| model | seconds |", "| --- | --- |"] + [f"| {name} | {s:.2f} |" for name, s in loads.items()]
    return lines, load_lines


def _tiny_onnx(path: Path) -> None:
    """The same kind of tiny classifier the tests build: sigmoid(mean red - mean blue)."""
    # onnx is a development dependency (requirements-dev.txt), needed only for this timing row.
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["means"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["means", "w"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["prob"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [1.0, 0.0, -1.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine(load_before: float, load_after: float) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"Machine: {cpu}, {os.cpu_count()} logical CPUs shared with other work, Python {platform.python_version()}; "
        f"every model runs on one thread. Load average {load_before:.1f} at the start and {load_after:.1f} at the end "
        "of the run: other work shares the CPUs, so times can vary severalfold between runs."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="takedown-faces-1", help="split, swap and degradation seed")
    parser.add_argument(
        "--people", type=int, default=0, help="only the first N people (a quick look; not for the docs)"
    )
    parser.add_argument("--timing-images", type=int, default=30, help="images timed per detector")
    parser.add_argument("--skip-degraded", action="store_true", help="no degraded copies (faster)")
    parser.add_argument(
        "--all-changes",
        action="store_true",
        help="also the 68-point and tight-crop chips on undegraded pictures (twice the ResNet passes there)",
    )
    parser.add_argument("--extras", action="store_true", help="also 48 px faces and the piecewise swap")
    parser.add_argument(
        "--plain-degraded", action="store_true", help="also degrade plain photos (the swaps are always degraded)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes describing pictures (default 2)")
    parser.add_argument("--skip-timing", action="store_true", help="no timing section (a quick look)")
    parser.add_argument("--no-cache", action="store_true", help="recompute every descriptor")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the docs")
    args = parser.parse_args()
    command = f"python bench/faces.py --seed {args.seed} --timing-images {args.timing_images}"
    command += f" --people {args.people}" if args.people else ""
    command += " --skip-degraded" if args.skip_degraded else ""
    command += " --all-changes" if args.all_changes else ""
    command += " --extras" if args.extras else ""
    command += " --plain-degraded" if args.plain_degraded else ""
    print(f"reproduce: .venv/bin/{command}", file=sys.stderr)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    study = build(args, log)
    lines, results = calibration(study, log)
    lines += gallery_lines(study)
    timing, loads = ([], []) if args.skip_timing else timing_lines(args)
    load_after = os.getloadavg()[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    body = [
        "Generated by `bench/faces.py`; reproduce from the repository root with:",
        "",
        "```",
        f".venv/bin/{command}",
        "```",
        "",
        machine(load_before, load_after),
        "",
        *lines,
    ]
    if timing:
        body += ["", "### Time per image", "", *timing, "", "Model loading, once per process (first use):", "", *loads]
    body += ["", f"Peak resident memory of the whole benchmark process: {peak_mb:.0f} MB."]
    text = "\n".join(body)
    print(text)
    if not args.no_write and not args.people:
        doc_sections.replace(DOC, "faces", text)
        print(f"wrote the faces section of {DOC}", file=sys.stderr)
    if results["threshold"] != FACE_MATCH_THRESHOLD or results["review"] != FACE_REVIEW_THRESHOLD:
        print(
            f"note: the code ships {FACE_MATCH_THRESHOLD}/{FACE_REVIEW_THRESHOLD}; this run justifies "
            f"{results['threshold']:.3f}/{results['review']:.3f}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
