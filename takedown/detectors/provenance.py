"""Provenance: metadata in the file that *declares* AI generation or AI compositing.

Two sources: a C2PA manifest store (read with ``c2pa-python``; its ``c2pa.actions`` assertions
carry an IPTC ``digitalSourceType``), and the IPTC ``DigitalSourceType`` property in an XMP
packet embedded in a JPEG, PNG or WebP. Both are claims made by whoever produced the file: a
valid C2PA signature says who made the claim (the certificate's issuer is reported), not that
the claim is true, and stripping metadata is trivial, so absence proves nothing. It is evidence
to show a reviewer, never a decision.

Reading is offline: the C2PA reader is told not to fetch remote manifests or OCSP responses
(a fetched file must not make the service contact an address the uploader chose), and XMP is
parsed with defusedxml (no entities, no external references) after a bounded search.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from typing import Any, ClassVar, Final
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from takedown.detectors.base import Detector, DetectorConfigError, DetectorContext, Finding, LazyModel, Medium

#: IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/) that declare the
#: content was generated, or composited with content generated, by a trained model.
AI_SOURCE_TYPES: Final = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicallyEnhanced",
        "compositeSynthetic",
        "algorithmicMedia",
    }
)
_IPTC_PREFIXES: Final = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/",
    "https://cv.iptc.org/newscodes/digitalsourcetype/",
)
#: XMP packets are small; anything bigger is not parsed (a hostile file could be mostly "XMP").
MAX_XMP_BYTES: Final = 512 * 1024
_XMP_OPEN: Final = b"<x:xmpmeta"
_XMP_CLOSE: Final = b"</x:xmpmeta>"
#: Unclosed openings looked at before giving up, so a file stuffed with them costs at most
#: this many bounded searches (no quadratic scan).
_XMP_MAX_ATTEMPTS: Final = 16
_DST_NAMES: Final = frozenset({"DigitalSourceType"})
#: Formats the C2PA reader is asked about (others cannot carry an embedded manifest we read).
_C2PA_MIMES: Final = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/avif",
        "image/heif",
        "image/heic",
        "image/tiff",
        "image/gif",
        "image/jxl",
        "video/mp4",
        "video/quicktime",
        "video/x-m4v",
    }
)
_C2PA_SETTINGS: Final = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


def source_type_name(value: str) -> str:
    """The short IPTC code of a digital source type URI (or the value itself)."""
    value = value.strip()
    for prefix in _IPTC_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _c2pa_context() -> Any:
    import c2pa  # noqa: PLC0415 - native library, loaded only when a manifest is first read

    return c2pa.Context.from_dict(_C2PA_SETTINGS)


_CONTEXT: Final = LazyModel(_c2pa_context)


def _walk_actions(assertions: Any) -> Iterator[Mapping[str, Any]]:
    for assertion in assertions if isinstance(assertions, list) else []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, dict):
                yield action


def read_c2pa(data: bytes, mime: str) -> dict[str, Any] | None:
    """The active manifest's claim generator, signer, validation and source types, or None."""
    import c2pa  # noqa: PLC0415 - native library, loaded only when a manifest is first read

    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, _CONTEXT.get())
    except c2pa.C2paError as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    if reader is None:
        return None
    with reader:
        store = json.loads(reader.json())
    active = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(active) if isinstance(active, str) else None
    if not isinstance(manifest, dict):
        return {"error": "manifest store has no active manifest"}
    generator = manifest.get("claim_generator") or ", ".join(
        " ".join(str(g.get(k, "")) for k in ("name", "version")).strip()
        for g in manifest.get("claim_generator_info") or []
        if isinstance(g, dict)
    )
    raw_signature = manifest.get("signature_info")
    signature: dict[str, Any] = raw_signature if isinstance(raw_signature, dict) else {}
    actions = list(_walk_actions(manifest.get("assertions")))
    source_types = sorted(
        {source_type_name(str(a["digitalSourceType"])) for a in actions if a.get("digitalSourceType")}
    )
    failures = [
        str(s.get("code")) for s in store.get("validation_status") or [] if isinstance(s, dict) and s.get("code")
    ]
    return {
        "claim_generator": str(generator)[:200],
        "issuer": str(signature.get("issuer") or "")[:200],
        "signer": str(signature.get("common_name") or "")[:200],
        "signed_at": str(signature.get("time") or "")[:64],
        "actions": sorted({str(a.get("action")) for a in actions if a.get("action")})[:20],
        "digital_source_types": source_types[:20],
        "validation_state": str(store.get("validation_state") or ""),
        "validation_failures": failures[:20],
    }


def xmp_packets(data: bytes) -> Iterator[bytes]:
    """XMP packets embedded anywhere in the file (JPEG APP1, PNG iTXt, WebP XMP chunk all hold
    plain ``x:xmpmeta`` text), at most 4, each at most :data:`MAX_XMP_BYTES`."""
    pos = found = attempts = 0
    while found < 4 and attempts < _XMP_MAX_ATTEMPTS:
        start = data.find(_XMP_OPEN, pos)
        if start < 0:
            return
        attempts += 1
        end = data.find(_XMP_CLOSE, start, start + MAX_XMP_BYTES)
        if end < 0:
            pos = start + len(_XMP_OPEN)
            continue
        found += 1
        pos = end + len(_XMP_CLOSE)
        yield data[start:pos]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xmp_source_types(packet: bytes) -> set[str]:
    """``DigitalSourceType`` values (element text, rdf:resource or attribute form) in one packet."""
    try:
        root: Element = SafeET.fromstring(packet, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return set()
    found: set[str] = set()
    for element in root.iter():
        for key, value in element.attrib.items():
            if _local(key) in _DST_NAMES and value.strip():
                found.add(source_type_name(value))
        if _local(element.tag) in _DST_NAMES:
            text = (element.text or "").strip()
            resource = next((v for k, v in element.attrib.items() if _local(k) == "resource"), "")
            if text or resource:
                found.add(source_type_name(text or resource))
    return {v[:200] for v in found}


class ProvenanceDetector(Detector):
    """Positive when a C2PA manifest or XMP metadata declares AI generation or compositing."""

    name: ClassVar[str] = "provenance"
    needs: ClassVar[frozenset[str]] = frozenset({"bytes"})

    def __init__(self, *, c2pa: bool = True, xmp: bool = True) -> None:
        if not isinstance(c2pa, bool) or not isinstance(xmp, bool) or not (c2pa or xmp):
            raise DetectorConfigError("provenance: c2pa and xmp must be true or false, and at least one true")
        self.use_c2pa, self.use_xmp = c2pa, xmp
        self.version = f"c2pa-python-{version('c2pa-python')}+xmp-1"

    def analyse(self, medium: Medium, context: DetectorContext) -> Finding:
        details: dict[str, Any] = {"c2pa": None, "xmp_digital_source_types": []}
        if self.use_c2pa and medium.mime in _C2PA_MIMES:
            details["c2pa"] = read_c2pa(medium.data, medium.mime)
        xmp: set[str] = set()
        if self.use_xmp:
            for packet in xmp_packets(medium.data):
                xmp |= xmp_source_types(packet)
        details["xmp_digital_source_types"] = sorted(xmp)
        manifest = details["c2pa"] or {}
        c2pa_ai = sorted(set(manifest.get("digital_source_types", [])) & AI_SOURCE_TYPES)
        xmp_ai = sorted(xmp & AI_SOURCE_TYPES)
        positive = bool(c2pa_ai or xmp_ai)
        details["ai_declared"] = positive
        if c2pa_ai:
            issuer = manifest.get("issuer") or "an unknown issuer"
            generator = manifest.get("claim_generator") or "not named"
            validation = manifest.get("validation_state") or "unknown"
            explanation = (
                f"A C2PA manifest signed by a certificate from {issuer} (claim generator {generator}, "
                f"validation {validation}) declares AI generation: {', '.join(c2pa_ai)}."
            )
        elif xmp_ai:
            explanation = f"The file's XMP metadata declares AI generation: digital source type {', '.join(xmp_ai)}."
        elif manifest.get("error"):
            explanation = (
                "The file carries C2PA data that could not be read; no AI generation is declared in its metadata."
            )
        elif manifest:
            issuer = manifest.get("issuer") or "unknown"
            explanation = f"A C2PA manifest (issuer {issuer}) is present but declares no AI generation."
        else:
            explanation = (
                "No C2PA manifest or XMP metadata declaring AI generation was found (metadata is easily removed)."
            )
        return Finding(self.name, self.version, 1.0 if positive else 0.0, positive, explanation, details)
