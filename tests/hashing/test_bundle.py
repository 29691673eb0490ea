"""Hash bundle: build, dump, load, every validation error, and the JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import REPO, scene

from takedown.hashing.bundle import BundleItem, build_bundle, bundle_to_dict, dump_bundle, load_bundle, make_item
from takedown.hashing.errors import BundleError
from takedown.hashing.hashes import Hash
from takedown.hashing.media import file_digests
from takedown.hashing.variants import registered_hashes

SCHEMA = json.loads((REPO / "docs" / "hash-bundle.schema.json").read_text())


def _image_item(seed: int = 1) -> BundleItem:
    rgb = scene(300, 400, seed)
    return make_item("image", [*registered_hashes(rgb), *file_digests(rgb.tobytes())])


def _video_item() -> BundleItem:
    frames = [Hash("pdq", f"{i:064x}", 90, "frame") for i in range(1, 4)]
    return make_item("video", [*frames, Hash("md5", "a" * 32, None, "file"), Hash("sha256", "b" * 64, None, "file")])


@pytest.fixture(scope="module")
def good() -> dict[str, Any]:
    return bundle_to_dict(build_bundle([_image_item(), _video_item()]))


def test_roundtrip_and_schema(good: dict[str, Any]) -> None:
    bundle = load_bundle(good)
    text = dump_bundle(bundle)
    assert load_bundle(text) == bundle
    jsonschema.validate(json.loads(text), SCHEMA)
    assert bundle.items[0].kind == "image"
    assert len(bundle.items[0].id) == 32


def test_bundle_carries_no_names_or_metadata(tmp_path: Path, good: dict[str, Any]) -> None:
    text = json.dumps(good)
    assert "scene" not in text
    assert str(tmp_path) not in text
    keys: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            keys.update(obj)
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(good)
    assert keys == {
        "format",
        "version",
        "tool",
        "name",
        "items",
        "id",
        "kind",
        "hashes",
        "signal",
        "value",
        "quality",
        "variant",
    }


def _broken(good: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    bad = copy.deepcopy(good)
    target = bad
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return bad


CASES = [
    (["format"], "something-else", "not a hash bundle"),
    (["version"], 2, "unsupported bundle version 2"),
    (["version"], True, "unsupported bundle version"),
    (["tool", "name"], "evil", "tool.name"),
    (["tool", "extra"], 1, "unexpected keys: extra"),
    (["exif"], {}, "unexpected keys: exif"),
    (["items"], [], "non-empty"),
    (["items", 0, "id"], "ABC", "id must be 32 lowercase hex"),
    (["items", 0, "kind"], "audio", "kind must be"),
    (["items", 0, "filename"], "me.jpg", "unexpected keys: filename"),
    (["items", 0, "hashes", 0, "signal"], "photodna", "unknown signal type 'photodna'"),
    (["items", 0, "hashes", 0, "value"], "zz" * 32, "only hex digits"),
    (["items", 0, "hashes", 0, "value"], "ab" * 31, "64 hex digits, got 62"),
    (["items", 0, "hashes", 0, "value"], "AB" * 32, "lowercase"),
    (["items", 0, "hashes", 0, "quality"], 101, "quality must be an integer 0-100"),
    (["items", 0, "hashes", 0, "quality"], KeyError, "missing quality"),
    (["items", 0, "hashes", 0, "variant"], "rot+45", "unknown image variant"),
    (["items", 1, "hashes", 0, "variant"], "original", "only pdq hashes with variant 'frame'"),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES)
def test_validation_errors(good: dict[str, Any], path: list[Any], value: Any, message: str) -> None:
    bad = _broken(good, path, value)
    with pytest.raises(BundleError, match=message):
        load_bundle(bad)
    if "lowercase" not in message and "photodna" not in message:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_duplicates_rejected(good: dict[str, Any]) -> None:
    bad = copy.deepcopy(good)
    bad["items"].append(copy.deepcopy(bad["items"][0]))
    with pytest.raises(BundleError, match="duplicate id"):
        load_bundle(bad)
    bad["items"][2]["id"] = "f" * 32
    with pytest.raises(BundleError, match="same file appears twice"):
        load_bundle(bad)
    bad = copy.deepcopy(good)
    bad["items"][0]["hashes"].append(copy.deepcopy(bad["items"][0]["hashes"][0]))
    with pytest.raises(BundleError, match="duplicate pdq original"):
        load_bundle(bad)
    with pytest.raises(BundleError, match="duplicate JSON key"):
        load_bundle('{"format": "takedown-hash-bundle", "format": "x"}')


def test_limits_and_bad_json() -> None:
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle("{not json")
    with pytest.raises(BundleError, match="constant NaN"):
        load_bundle('{"version": NaN}')
    with pytest.raises(BundleError, match="limit is"):
        load_bundle(" " * (32 * 1024 * 1024 + 1))
    many = [Hash("pdq", f"{i:064x}", 90, "frame") for i in range(7301)]
    item = make_item("video", [*many, Hash("sha256", "b" * 64, None, "file")])
    with pytest.raises(BundleError, match="limit per item is 7300"):
        build_bundle([item])


def test_items_need_sha256_and_original_pdq(good: dict[str, Any]) -> None:
    bad = copy.deepcopy(good)
    bad["items"][0]["hashes"] = [h for h in bad["items"][0]["hashes"] if h["signal"] != "sha256"]
    with pytest.raises(BundleError, match="exactly one sha256"):
        load_bundle(bad)
    bad = copy.deepcopy(good)
    bad["items"][0]["hashes"] = [
        h for h in bad["items"][0]["hashes"] if h["variant"] != "original" or h["signal"] != "pdq"
    ]
    with pytest.raises(BundleError, match="pdq hash of the original"):
        load_bundle(bad)
