"""The hash bundle: the versioned JSON file local hashing produces and the service accepts.

A bundle carries hashes and the minimum needed to use them, nothing that identifies the survivor
or the pictures: no file names, paths, EXIF, pixels or timestamps; item ids are random. It is
untrusted input on the service side, so :func:`load_bundle` checks everything (shape, extra keys,
duplicate JSON keys, hex, lengths, limits) and fails with a :class:`BundleError` whose message
names the first problem and where it is. Format: docs/hash-bundle.md, docs/hash-bundle.schema.json.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from takedown.hashing import __version__
from takedown.hashing.errors import BundleError, InvalidHashError
from takedown.hashing.hashes import FILE, FRAME, ORIGINAL, Hash
from takedown.hashing.signals import SIGNAL_TYPES, PdqSignal
from takedown.hashing.variants import CANDIDATE_VARIANTS

FORMAT: Final = "takedown-hash-bundle"
VERSION: Final = 1
TOOL_NAMES: Final = frozenset({"takedown-cli", "takedown-browser"})
KINDS: Final = frozenset({"image", "video"})

#: Limits (also in the schema and docs/hash-bundle.md). A two-hour video is 7,200 frames.
MAX_BUNDLE_BYTES: Final = 32 * 1024 * 1024
MAX_ITEMS: Final = 10_000
MAX_HASHES_PER_ITEM: Final = 7_300
MAX_TOTAL_HASHES: Final = 200_000

#: Face templates (optional top-level "faces"): dlib's 128-d descriptors, computed locally from
#: ordinary portraits with the survivor's explicit consent. dlib's components stay well inside
#: +-0.5 (norms are about 1.4), so a bound of 1.0 rejects garbage without refusing real ones.
FACE_MODEL: Final = "dlib-resnet-v1"
FACE_MODELS: Final = frozenset({FACE_MODEL})
FACE_VECTOR_LENGTH: Final = 128
FACE_VECTOR_BOUND: Final = 1.0
MAX_FACE_TEMPLATES: Final = 50

#: Variant labels an image's perceptual hash may carry.
IMAGE_VARIANTS: Final = frozenset({ORIGINAL, "trim", *(spec.label for spec in CANDIDATE_VARIANTS)})

_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
_TOOL_VERSION_RE: Final = re.compile(r"[0-9A-Za-z.+\-]{1,32}")
_TOP_KEYS: Final = frozenset({"format", "version", "tool", "items"})
_OPTIONAL_TOP_KEYS: Final = frozenset({"faces"})
_FACE_KEYS: Final = frozenset({"id", "model", "vector"})
_TOOL_KEYS: Final = frozenset({"name", "version"})
_ITEM_KEYS: Final = frozenset({"id", "kind", "hashes"})
_HASH_KEYS: Final = frozenset({"signal", "value", "quality", "variant"})

Kind = Literal["image", "video"]


@dataclass(frozen=True, slots=True)
class BundleItem:
    """One image or video: an opaque random id and its hashes."""

    id: str
    kind: Kind
    hashes: tuple[Hash, ...]


@dataclass(frozen=True, slots=True)
class BundleFace:
    """One face template: an opaque random id and a 128-d descriptor (no picture, no name).

    Kept free of dlib so the hashing library and the browser need nothing heavy to carry
    templates; :mod:`takedown.detectors` turns these into its own ``FaceTemplate`` by value.
    """

    id: str
    vector: tuple[float, ...]
    model: str = FACE_MODEL


@dataclass(frozen=True, slots=True)
class Bundle:
    tool_name: str
    tool_version: str
    items: tuple[BundleItem, ...]
    version: int = VERSION
    face_templates: tuple[BundleFace, ...] = ()


def new_item_id() -> str:
    """32 lowercase hex characters from the OS CSPRNG: links nothing to the file."""
    return secrets.token_hex(16)


def make_item(kind: Kind, hashes: Iterable[Hash]) -> BundleItem:
    return BundleItem(new_item_id(), kind, tuple(hashes))


def build_bundle(
    items: Iterable[BundleItem],
    tool_name: str = "takedown-cli",
    tool_version: str | None = None,
    face_templates: Iterable[BundleFace] = (),
) -> Bundle:
    """Assemble and validate a bundle (so a producer cannot write one we would refuse)."""
    bundle = Bundle(tool_name, tool_version or __version__, tuple(items), VERSION, tuple(face_templates))
    return load_bundle(bundle_to_dict(bundle))


def bundle_to_dict(bundle: Bundle) -> dict[str, Any]:
    data = _items_dict(bundle)
    if bundle.face_templates:
        # Omitted when empty, so bundles without faces stay byte-identical to version 1 before faces.
        data["faces"] = [{"id": f.id, "model": f.model, "vector": list(f.vector)} for f in bundle.face_templates]
    return data


def _items_dict(bundle: Bundle) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": bundle.version,
        "tool": {"name": bundle.tool_name, "version": bundle.tool_version},
        "items": [
            {
                "id": item.id,
                "kind": item.kind,
                "hashes": [
                    {"signal": h.signal, "value": h.value, "quality": h.quality, "variant": h.variant}
                    for h in item.hashes
                ],
            }
            for item in bundle.items
        ],
    }


def dump_bundle(bundle: Bundle) -> str:
    """Serialise to JSON text (one hash per line keeps diffs and reviews readable)."""
    data = bundle_to_dict(bundle)
    lines = [f'{{"format": "{FORMAT}", "version": {bundle.version},']
    lines.append(' "tool": ' + json.dumps(data["tool"]) + ",")
    lines.append(' "items": [')
    for i, item in enumerate(data["items"]):
        lines.append('  {{"id": "{}", "kind": "{}", "hashes": ['.format(item["id"], item["kind"]))
        for j, h in enumerate(item["hashes"]):
            sep = "," if j < len(item["hashes"]) - 1 else ""
            lines.append("   " + json.dumps(h) + sep)
        lines.append("  ]}" + ("," if i < len(data["items"]) - 1 else ""))
    if "faces" not in data:
        lines.append(" ]}")
        return "\n".join(lines) + "\n"
    lines.append(" ],")
    lines.append(' "faces": [')
    for i, face in enumerate(data["faces"]):
        sep = "," if i < len(data["faces"]) - 1 else ""
        lines.append("  " + json.dumps(face) + sep)
    lines.append(" ]}")
    return "\n".join(lines) + "\n"


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BundleError(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise BundleError(f"JSON constant {name} is not allowed")


def _parse(text: str | bytes) -> Any:
    try:
        # Text from a form can carry lone surrogates, which are not UTF-8 and not JSON.
        size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    except UnicodeEncodeError:
        raise BundleError("bundle is not valid UTF-8 text") from None
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {size:,} bytes; the limit is {MAX_BUNDLE_BYTES:,}")
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except BundleError:
        raise
    except RecursionError:
        # json's decoder recurses per nesting level; "[[[[..." a few thousand deep exhausts the stack.
        raise BundleError("bundle is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"bundle is not valid JSON: {exc}") from None


def _keys(obj: Any, expected: frozenset[str], where: str, optional: frozenset[str] = frozenset()) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise BundleError(f"{where} must be an object")
    missing = expected - obj.keys()
    if missing:
        raise BundleError(f"{where} is missing {', '.join(sorted(missing))}")
    extra = obj.keys() - expected - optional
    if extra:
        raise BundleError(f"{where} has unexpected keys: {', '.join(sorted(extra))}")
    return obj


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hash(obj: Any, kind: str, where: str) -> Hash:
    data = _keys(obj, _HASH_KEYS, where)
    signal, value, quality, variant = data["signal"], data["value"], data["quality"], data["variant"]
    if not isinstance(signal, str) or signal not in SIGNAL_TYPES:
        raise BundleError(f"{where}: unknown signal type {signal!r}; known: {', '.join(sorted(SIGNAL_TYPES))}")
    signal_type = SIGNAL_TYPES[signal]
    if not isinstance(value, str):
        raise BundleError(f"{where}: value must be a string")
    try:
        normal = signal_type.normalize(value)
    except InvalidHashError as exc:
        raise BundleError(f"{where}: {exc}") from None
    if normal != value:
        raise BundleError(f"{where}: value must be lowercase hex without spaces")
    if signal == PdqSignal.name:
        if not _is_int(quality) or not 0 <= quality <= 100:
            raise BundleError(f"{where}: pdq quality must be an integer 0-100")
    elif quality is not None:
        raise BundleError(f"{where}: quality must be null for {signal}")
    if not isinstance(variant, str):
        raise BundleError(f"{where}: variant must be a string")
    if not signal_type.perceptual:
        if variant != FILE:
            raise BundleError(f"{where}: {signal} hashes the file; variant must be 'file'")
    elif kind == "video":
        if signal != PdqSignal.name or variant != FRAME:
            raise BundleError(f"{where}: video items carry only pdq hashes with variant 'frame'")
    elif variant not in IMAGE_VARIANTS:
        raise BundleError(f"{where}: unknown image variant {variant!r}")
    elif signal != PdqSignal.name and variant != ORIGINAL:
        raise BundleError(f"{where}: {signal} is only registered for the original")
    return Hash(signal, value, quality, variant)


def _item(obj: Any, where: str, budget: list[int]) -> BundleItem:
    data = _keys(obj, _ITEM_KEYS, where)
    item_id, kind, hashes = data["id"], data["kind"], data["hashes"]
    if not isinstance(item_id, str) or not _ID_RE.fullmatch(item_id):
        raise BundleError(f"{where}: id must be 32 lowercase hex characters")
    if not isinstance(kind, str) or kind not in KINDS:  # a list or object is unhashable
        raise BundleError(f"{where}: kind must be 'image' or 'video'")
    if not isinstance(hashes, list) or not hashes:
        raise BundleError(f"{where}: hashes must be a non-empty list")
    if len(hashes) > MAX_HASHES_PER_ITEM:
        raise BundleError(f"{where}: {len(hashes)} hashes; the limit per item is {MAX_HASHES_PER_ITEM}")
    budget[0] += len(hashes)
    if budget[0] > MAX_TOTAL_HASHES:
        raise BundleError(f"bundle has more than {MAX_TOTAL_HASHES} hashes in total")
    parsed = [_hash(h, kind, f"{where}.hashes[{i}]") for i, h in enumerate(hashes)]
    seen: set[tuple[str, str]] = set()
    for i, h in enumerate(parsed):
        key = (h.signal, h.value if h.variant == FRAME else h.variant)
        if key in seen:
            raise BundleError(f"{where}.hashes[{i}]: duplicate {h.signal} {h.variant} hash")
        seen.add(key)
    counts = {s: sum(1 for h in parsed if h.signal == s) for s in SIGNAL_TYPES}
    if counts["sha256"] != 1:
        raise BundleError(f"{where}: needs exactly one sha256 of the file")
    if kind == "image" and (PdqSignal.name, ORIGINAL) not in seen:
        raise BundleError(f"{where}: image items need a pdq hash of the original")
    if kind == "video" and counts["pdq"] == 0:
        raise BundleError(f"{where}: video items need at least one frame hash")
    return BundleItem(item_id, cast(Kind, kind), tuple(parsed))


def load_bundle(source: str | bytes | Mapping[str, Any]) -> Bundle:
    """Parse and validate a bundle from JSON text/bytes or an already parsed dict."""
    data = _parse(source) if isinstance(source, str | bytes) else dict(source)
    top = _keys(data, _TOP_KEYS, "bundle", _OPTIONAL_TOP_KEYS)
    if top["format"] != FORMAT:
        raise BundleError(f"not a hash bundle: format must be {FORMAT!r}")
    if not _is_int(top["version"]) or top["version"] != VERSION:
        raise BundleError(f"unsupported bundle version {top['version']!r}; this reader knows {VERSION}")
    tool = _keys(top["tool"], _TOOL_KEYS, "tool")
    if not isinstance(tool["name"], str) or tool["name"] not in TOOL_NAMES:
        raise BundleError(f"tool.name must be one of {', '.join(sorted(TOOL_NAMES))}")
    if not isinstance(tool["version"], str) or not _TOOL_VERSION_RE.fullmatch(tool["version"]):
        raise BundleError("tool.version must be 1-32 characters of 0-9 A-Z a-z . + -")
    faces = _faces(top.get("faces"))
    items = top["items"]
    if not isinstance(items, list) or not (items or faces):
        raise BundleError("items must be a non-empty list (it may be empty only when faces are given)")
    if len(items) > MAX_ITEMS:
        raise BundleError(f"bundle has {len(items)} items; the limit is {MAX_ITEMS}")
    budget = [0]
    parsed = [_item(obj, f"items[{i}]", budget) for i, obj in enumerate(items)]
    _check_unique(parsed)
    return Bundle(tool["name"], tool["version"], tuple(parsed), VERSION, faces)


def _faces(obj: Any) -> tuple[BundleFace, ...]:
    """The optional face templates: at most 50, each exactly 128 finite numbers within +-1."""
    if obj is None:
        return ()
    if not isinstance(obj, list) or not obj:
        raise BundleError("faces must be a non-empty list when present")
    if len(obj) > MAX_FACE_TEMPLATES:
        raise BundleError(f"bundle has {len(obj)} face templates; the limit is {MAX_FACE_TEMPLATES}")
    out: list[BundleFace] = []
    ids: set[str] = set()
    for i, face in enumerate(obj):
        where = f"faces[{i}]"
        data = _keys(face, _FACE_KEYS, where)
        face_id, model, vector = data["id"], data["model"], data["vector"]
        if not isinstance(face_id, str) or not _ID_RE.fullmatch(face_id):
            raise BundleError(f"{where}: id must be 32 lowercase hex characters")
        if face_id in ids:
            raise BundleError(f"{where}: duplicate id")
        ids.add(face_id)
        if model not in FACE_MODELS:
            raise BundleError(f"{where}: unknown face model {model!r}; known: {', '.join(sorted(FACE_MODELS))}")
        if not isinstance(vector, list) or len(vector) != FACE_VECTOR_LENGTH:
            raise BundleError(f"{where}: vector must be a list of {FACE_VECTOR_LENGTH} numbers")
        for j, x in enumerate(vector):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise BundleError(f"{where}.vector[{j}]: must be a number")
            if not math.isfinite(x) or abs(x) > FACE_VECTOR_BOUND:
                raise BundleError(f"{where}.vector[{j}]: must be a finite number between -1 and 1")
        out.append(BundleFace(face_id, tuple(float(x) for x in vector), model))
    return tuple(out)


def _check_unique(items: Sequence[BundleItem]) -> None:
    ids: set[str] = set()
    files: set[str] = set()
    for i, item in enumerate(items):
        if item.id in ids:
            raise BundleError(f"items[{i}]: duplicate id")
        ids.add(item.id)
        sha = next(h.value for h in item.hashes if h.signal == "sha256")
        if sha in files:
            raise BundleError(f"items[{i}]: the same file appears twice (duplicate sha256)")
        files.add(sha)
