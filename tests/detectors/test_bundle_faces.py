"""The optional "faces" list of the hash bundle: strict validation, like the rest of the loader."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

import jsonschema
import pytest

from takedown.hashing.bundle import (
    MAX_FACE_TEMPLATES,
    BundleFace,
    build_bundle,
    bundle_to_dict,
    dump_bundle,
    load_bundle,
)
from takedown.hashing.errors import BundleError
from tests.detectors.helpers import REPO

SCHEMA = json.loads((REPO / "docs" / "hash-bundle.schema.json").read_text())


def _face(seed: int = 0) -> BundleFace:
    return BundleFace(secrets.token_hex(16), tuple(round(((i * 7 + seed) % 50 - 25) / 100, 6) for i in range(128)))


@pytest.fixture
def good() -> dict[str, Any]:
    return bundle_to_dict(build_bundle([], face_templates=[_face(1), _face(2)]))


def test_roundtrip_and_schema(good: dict[str, Any]) -> None:
    bundle = load_bundle(good)
    text = dump_bundle(bundle)
    assert load_bundle(text) == bundle
    jsonschema.validate(json.loads(text), SCHEMA)
    assert bundle.face_templates[0].model == "dlib-resnet-v1" and len(bundle.face_templates[0].vector) == 128


def test_bundle_without_faces_is_unchanged() -> None:
    # A bundle made before faces existed has no "faces" key and loads with no templates.
    from takedown.hashing.bundle import make_item
    from takedown.hashing.hashes import Hash

    item = make_item("video", [Hash("pdq", "1" * 64, 90, "frame"), Hash("sha256", "b" * 64, None, "file")])
    data = bundle_to_dict(build_bundle([item]))
    assert "faces" not in data and load_bundle(data).face_templates == ()


def _set(data: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    bad = copy.deepcopy(data)
    target = bad
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return bad


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["faces"], [], "faces must be a non-empty list"),
        (["faces"], {}, "faces must be a non-empty list"),
        (["faces", 0, "id"], "XYZ", "id must be 32 lowercase hex"),
        (["faces", 0, "model"], "facenet", "unknown face model"),
        (["faces", 0, "vector"], [0.1] * 127, "vector must be a list of 128"),
        (["faces", 0, "vector", 5], "0.1", r"faces\[0\]\.vector\[5\]: must be a number"),
        (["faces", 0, "vector", 5], True, "must be a number"),
        (["faces", 0, "vector", 5], 1.5, "between -1 and 1"),
        (["faces", 0, "vector", 5], float("nan"), "finite"),
        (["faces", 0, "extra"], 1, "unexpected keys: extra"),
        (["faces", 0, "vector"], _DELETE, "missing vector"),
    ],
)
def test_bad_faces_are_rejected(good: dict[str, Any], path: list[Any], value: Any, message: str) -> None:
    bad = _set(good, path, value)
    with pytest.raises(BundleError, match=message):
        load_bundle(bad)
    if value is not True and not (isinstance(value, float) and value != value):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_duplicates_limits_and_json_constants(good: dict[str, Any]) -> None:
    bad = copy.deepcopy(good)
    bad["faces"][1]["id"] = bad["faces"][0]["id"]
    with pytest.raises(BundleError, match=r"faces\[1\]: duplicate id"):
        load_bundle(bad)
    many = copy.deepcopy(good)
    many["faces"] = [dict(good["faces"][0], id=secrets.token_hex(16)) for _ in range(MAX_FACE_TEMPLATES + 1)]
    with pytest.raises(BundleError, match="the limit is 50"):
        load_bundle(many)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(many, SCHEMA)
    text = json.dumps(good).replace(str(good["faces"][0]["vector"][0]), "NaN", 1)
    with pytest.raises(BundleError, match="NaN"):
        load_bundle(text)


def test_items_may_be_empty_only_with_faces(good: dict[str, Any]) -> None:
    no_faces = _set(good, ["faces"], _DELETE)
    with pytest.raises(BundleError, match="items must be a non-empty list"):
        load_bundle(no_faces)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(no_faces, SCHEMA)
