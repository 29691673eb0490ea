"""``python -m takedown.hashing faces`` and ``faces-compare``: face templates and checks against them.

``faces`` makes templates from ordinary portraits on the survivor's or advocate's computer and adds
them to a hash bundle, only with the explicit consent flag. ``faces-compare`` checks pictures
against template bundles and prints one JSON array, for advocates and for outside evaluations:
the same face finder, distance and threshold as the service's face detector, so what it prints
is what the service would decide.

These commands need dlib and its models (``takedown.detectors.faces``); the models load on first
use, so ``hash`` and the other hashing commands never load them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from takedown.cli.files import walk
from takedown.detectors.base import DetectorError, FaceTemplate, templates_from_bundle
from takedown.detectors.faces import FACE_MATCH_THRESHOLD, face_distances, find_faces, template_from_face
from takedown.detectors.media import medium_from_bytes
from takedown.hashing import __version__
from takedown.hashing.bundle import MAX_FACE_TEMPLATES, BundleFace, build_bundle, dump_bundle, load_bundle
from takedown.hashing.errors import BundleError

FACE_CONSENT_FLAG = "--i-consent-to-face-matching"
#: Exit status when nothing was done because consent was not given.
NO_CONSENT = 4

FACE_EXPLANATION = """\
A face template is a list of 128 numbers that describes the shape of a face. It is not a
picture: no one can see your face in it. The service compares these numbers with the faces in
the pictures and videos reported in your case, which is how it can find fakes that put your face
on someone else's body (no hash of your own pictures can find those). Use ordinary portraits
with only you in them, never intimate pictures. Templates are made here, on this computer;
only the numbers go into the bundle. The service encrypts them, never shares them with
platforms, and deletes them if you withdraw this consent.

Three to five portraits help most: taken in different years, with different lighting, one
or two slightly turned, your face clear and at least as wide as a thumbnail. Each picture
found is compared with all of them and the closest counts."""


def cmd_faces(args: argparse.Namespace) -> int:
    """Face templates from portraits, added to a bundle only with the explicit consent flag."""
    err: TextIO = sys.stderr
    files = list(walk(args.photos))
    bundle_path = Path(args.bundle)
    if not args.consent:
        print(FACE_EXPLANATION, file=err)
        print(
            f"\nThis would look for one face in each of {len(files)} photo(s) and add its template to "
            f"{bundle_path} ({'existing bundle' if bundle_path.exists() else 'a new bundle'}).\n"
            f"Nothing was computed or written. If you agree, run the same command again with {FACE_CONSENT_FLAG}.",
            file=err,
        )
        return NO_CONSENT
    existing = load_bundle(bundle_path.read_bytes()) if bundle_path.exists() else None
    faces: list[BundleFace] = list(existing.face_templates) if existing else []
    added = 0
    for path in files:
        try:
            medium = medium_from_bytes(path.read_bytes())
        except (DetectorError, OSError) as exc:
            print(f"skipped {path}: {exc}", file=err)
            continue
        if medium.kind != "image":
            print(f"skipped {path}: a video or animation; use a still portrait photo", file=err)
            continue
        found = find_faces(medium.frames[0])
        if not found:
            print(f"skipped {path}: no face found; use a photo where your face is clear and faces the camera", file=err)
            continue
        if len(found) > 1:
            print(f"skipped {path}: {len(found)} faces found; use a photo with only you in it", file=err)
            continue
        template = template_from_face(found[0])
        if found[0].quality.poor:
            print(
                f"warning {path}: the face is {', '.join(found[0].quality.problems)}; it is added, but a clearer, "
                "larger portrait facing the camera matches better",
                file=err,
            )
        if any(max(abs(a - b) for a, b in zip(f.vector, template.vector, strict=True)) < 1e-4 for f in faces):
            print(f"skipped {path}: the same face template is already in the bundle", file=err)
            continue
        if len(faces) >= MAX_FACE_TEMPLATES:
            print(f"skipped {path}: a bundle holds at most {MAX_FACE_TEMPLATES} face templates", file=err)
            continue
        faces.append(BundleFace(template.id, template.vector, template.model))
        added += 1
        print(f"face template made from {path}", file=err)
    if not added:
        print("no face template was made; the bundle was not changed", file=err)
        return 1
    bundle = build_bundle(
        existing.items if existing else (),
        existing.tool_name if existing else "takedown-cli",
        existing.tool_version if existing else __version__,
        face_templates=faces,
    )
    bundle_path.write_text(dump_bundle(bundle), encoding="utf-8")
    print(
        f"wrote {bundle_path}: {len(faces)} face template(s), {added} new; "
        "it holds numbers only: no pictures, file names or metadata",
        file=err,
    )
    return 0


def load_templates(arguments: Sequence[str]) -> list[tuple[str, FaceTemplate]]:
    """Every template of every bundle, named ``<argument>#<position in that bundle>``.

    The position is the template's index in the bundle's ``faces`` list, which ``faces`` fills in
    the order of the portraits it was given, so a name says which portrait a template came from.
    Raises :class:`BundleError` for a bundle that is invalid, holds no templates, or is given twice.
    """
    named: list[tuple[str, FaceTemplate]] = []
    seen: set[str] = set()
    for argument in arguments:
        if argument in seen:
            raise BundleError(f"{argument} is given twice")
        seen.add(argument)
        try:
            bundle = load_bundle(Path(argument).read_bytes())
        except BundleError as exc:
            raise BundleError(f"{argument}: {exc}") from None
        if not bundle.face_templates:
            raise BundleError(f"{argument} holds no face templates (make them with the faces command)")
        for position, template in enumerate(templates_from_bundle(bundle.face_templates)):
            named.append((f"{argument}#{position}", template))
    return named


def compare_image(path: Path, named: Sequence[tuple[str, FaceTemplate]], threshold: float) -> dict[str, Any]:
    """One picture's entry: every face found, its distance to every template, and which match.

    A video or animation is looked at through the same sampled frames as the service's detectors;
    its faces then also say which ``frame`` they were found in.
    """
    try:
        medium = medium_from_bytes(path.read_bytes())
    except (DetectorError, OSError) as exc:
        return {"image": str(path), "error": str(exc) or type(exc).__name__}
    names = [name for name, _template in named]
    templates = tuple(template for _name, template in named)
    faces: list[dict[str, Any]] = []
    for index, frame in enumerate(medium.frames):
        for face in find_faces(frame):
            found = face_distances(face, templates)
            entry: dict[str, Any] = {
                "box": list(face.box),
                "distances": {name: round(float(d), 4) for name, d in zip(names, found, strict=True)},
                "matches": [name for name, d in zip(names, found, strict=True) if d <= threshold],
            }
            if medium.kind == "video":
                entry["frame"] = index
            faces.append(entry)
    return {"image": str(path), "faces": faces}


def cmd_faces_compare(args: argparse.Namespace) -> int:
    """Check pictures against face template bundles; print one JSON array on stdout.

    An unreadable picture gets an ``error`` entry and the others go on; the exit status is 1 only
    when no picture at all could be looked at.
    """
    named = load_templates(args.templates)
    results = [compare_image(path, named, args.threshold) for path in walk(args.images)]
    json.dump(results, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if any("error" not in r for r in results) else 1


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 2.0:
        raise argparse.ArgumentTypeError("a distance between 0 and 2")
    return value


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``faces`` and ``faces-compare`` to the hashing tool's sub-commands."""
    f = sub.add_parser(
        "faces",
        help="make face templates from ordinary portraits of you and add them to a bundle (asks for consent)",
        description=FACE_EXPLANATION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("photos", nargs="+", metavar="PHOTO", help="portrait photos (or folders) with only you in them")
    f.add_argument("--bundle", required=True, metavar="BUNDLE.json", help="bundle to add to (created if missing)")
    f.add_argument(
        FACE_CONSENT_FLAG,
        dest="consent",
        action="store_true",
        help="you agree that templates of your face are made and sent to the service for matching",
    )
    f.set_defaults(func=cmd_faces)
    c = sub.add_parser(
        "faces-compare",
        help="check pictures against face template bundles; prints JSON",
        description=(
            "For each picture, every face found, its distance to every template (named BUNDLE#position) and "
            "the templates it matches at the service's threshold. Prints one JSON array on stdout."
        ),
    )
    c.add_argument(
        "--templates",
        action="append",
        required=True,
        metavar="BUNDLE.json",
        help="a bundle with face templates (made by the faces command); repeat for several",
    )
    c.add_argument("images", nargs="+", metavar="IMAGE", help="pictures, videos or folders to check")
    c.add_argument(
        "--threshold",
        type=_threshold,
        default=FACE_MATCH_THRESHOLD,
        help=f"largest distance called a match (default: the service's, {FACE_MATCH_THRESHOLD})",
    )
    c.set_defaults(func=cmd_faces_compare)
