"""The bundle parser on arbitrary input: only BundleError escapes, and valid bundles round-trip.

`load_bundle` reads untrusted uploads (the survivor's form and, later, the platform API), so any
other exception would be a 500 or a worker crash on a crafted file.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.hashing.bundle import (
    FORMAT,
    IMAGE_VARIANTS,
    Bundle,
    BundleItem,
    bundle_to_dict,
    dump_bundle,
    load_bundle,
)
from takedown.hashing.errors import BundleError
from takedown.hashing.hashes import FILE, FRAME, ORIGINAL, Hash
from tests.fuzz.conftest import examples, tried


def _hex(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)


_ITEM_ID = _hex(32)


@st.composite
def image_items(draw: st.DrawFn) -> BundleItem:
    variants = draw(st.sets(st.sampled_from(sorted(IMAGE_VARIANTS - {ORIGINAL})), max_size=4))
    hashes = [Hash("sha256", draw(_hex(64)), None, FILE)]
    if draw(st.booleans()):
        hashes.append(Hash("md5", draw(_hex(32)), None, FILE))
    hashes.append(Hash("pdq", draw(_hex(64)), draw(st.integers(0, 100)), ORIGINAL))
    hashes += [Hash("pdq", draw(_hex(64)), draw(st.integers(0, 100)), v) for v in sorted(variants)]
    for name in ("phash", "dhash"):
        if draw(st.booleans()):
            hashes.append(Hash(name, draw(_hex(16)), None, ORIGINAL))
    return BundleItem(draw(_ITEM_ID), "image", tuple(draw(st.permutations(hashes))))


@st.composite
def video_items(draw: st.DrawFn) -> BundleItem:
    frames = draw(st.lists(_hex(64), min_size=1, max_size=6, unique=True))
    hashes = [Hash("sha256", draw(_hex(64)), None, FILE)]
    hashes += [Hash("pdq", value, draw(st.integers(0, 100)), FRAME) for value in frames]
    return BundleItem(draw(_ITEM_ID), "video", tuple(hashes))


@st.composite
def bundles(draw: st.DrawFn) -> Bundle:
    items = draw(
        st.lists(
            st.one_of(image_items(), video_items()),
            min_size=1,
            max_size=4,
            unique_by=(lambda i: i.id, lambda i: next(h.value for h in i.hashes if h.signal == "sha256")),
        )
    )
    name = draw(st.sampled_from(["takedown-cli", "takedown-browser"]))
    version = draw(st.from_regex(r"[0-9A-Za-z.+\-]{1,32}", fullmatch=True))
    return Bundle(name, version, tuple(items))


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def _load_or_bundle_error(source: Any) -> Bundle | None:
    try:
        return load_bundle(source)
    except BundleError as exc:
        message = str(exc)
    assert message  # the message names the problem
    return None


@settings(max_examples=examples(400))
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_bundle_error(data: bytes) -> None:
    tried("bundle: arbitrary bytes")
    _load_or_bundle_error(data)


@settings(max_examples=examples(400))
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=500))
def test_arbitrary_text_raises_only_bundle_error(text: str) -> None:
    """Any text, lone surrogates included (a form field can carry them)."""
    tried("bundle: arbitrary text")
    _load_or_bundle_error(text)


_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@settings(max_examples=examples(200))
@given(st.lists(st.text(max_size=20) | st.text(alphabet=_SURROGATES, min_size=1, max_size=3), max_size=6))
def test_text_with_lone_surrogates_raises_only_bundle_error(parts: list[str]) -> None:
    """Found by this test: a lone surrogate made the size check raise UnicodeEncodeError."""
    tried("bundle: text with lone surrogates")
    _load_or_bundle_error("".join(parts))
    _load_or_bundle_error('{"format": "' + "".join(parts) + '"}')


@settings(max_examples=examples(30))
@given(st.integers(1, 200_000), st.sampled_from(["[", '{"a":', '{"items":[']))
def test_deep_nesting_raises_only_bundle_error(depth: int, opener: str) -> None:
    """Found by this test: "[[[[..." thousands deep raised RecursionError from the JSON decoder."""
    tried("bundle: deeply nested JSON")
    _load_or_bundle_error(opener * depth)


@settings(max_examples=examples(400))
@given(json_values)
def test_arbitrary_json_raises_only_bundle_error(value: Any) -> None:
    tried("bundle: arbitrary JSON")
    _load_or_bundle_error(json.dumps(value))
    if isinstance(value, dict):
        _load_or_bundle_error(value)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            out += _paths(value, (*prefix, index))
    return out


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[path[0]] = _replace(obj[path[0]], path[1:], value)
    return copy


@settings(max_examples=examples(200))
@given(bundles(), st.data())
def test_one_field_changed_to_anything_raises_only_bundle_error(bundle: Bundle, data: st.DataObject) -> None:
    """Structure-aware: a valid bundle with one value anywhere in it replaced by any JSON value."""
    tried("bundle: valid bundle with one field replaced")
    document = bundle_to_dict(bundle)
    path = data.draw(st.sampled_from(_paths(document)))
    mutated = _replace(document, path, data.draw(json_values))
    if isinstance(mutated, dict):  # load_bundle takes text, bytes or a parsed object
        _load_or_bundle_error(mutated)
    _load_or_bundle_error(json.dumps(mutated))


@settings(max_examples=examples(300))
@given(bundles())
def test_valid_bundles_round_trip(bundle: Bundle) -> None:
    tried("bundle: valid bundles round-trip")
    text = dump_bundle(bundle)
    assert load_bundle(text) == bundle
    assert load_bundle(text.encode("utf-8")) == bundle
    assert load_bundle(bundle_to_dict(bundle)) == bundle
    assert json.loads(text)["format"] == FORMAT
