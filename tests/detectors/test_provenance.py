"""Provenance: a C2PA manifest signed here with a throwaway test certificate, and IPTC XMP tags."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from takedown.detectors.base import DetectorConfigError, DetectorContext
from takedown.detectors.media import medium_from_bytes
from takedown.detectors.provenance import ProvenanceDetector, xmp_packets, xmp_source_types
from tests.detectors.helpers import OBAMA, PHOTOS, c2pa_signed_jpeg, jpeg, xmp_packet


@pytest.fixture(scope="module")
def detector() -> ProvenanceDetector:
    return ProvenanceDetector()


def _photo() -> bytes:
    return (PHOTOS / "coco2017_ccby" / "000000062554.jpg").read_bytes()


def test_c2pa_manifest_declaring_ai_generation(detector: ProvenanceDetector) -> None:
    signed = c2pa_signed_jpeg(_photo(), generator="Example Imagine")
    finding = detector.analyse(medium_from_bytes(signed), DetectorContext())
    assert finding.positive and finding.score == 1.0 and not finding.error
    manifest = finding.details["c2pa"]
    assert manifest["issuer"] == "Example Generative Studio"
    assert manifest["claim_generator"].startswith("Example Imagine 2.1")
    assert manifest["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert "c2pa.created" in manifest["actions"]
    # The test CA is in no trust list: the claim is read and reported, its signer is not vouched for.
    assert "signingCredential.untrusted" in manifest["validation_failures"]
    assert "Example Generative Studio" in finding.explanation and "trainedAlgorithmicMedia" in finding.explanation


def test_c2pa_manifest_without_ai_declaration(detector: ProvenanceDetector) -> None:
    signed = c2pa_signed_jpeg(_photo(), source_type="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")
    finding = detector.analyse(medium_from_bytes(signed), DetectorContext())
    assert not finding.positive and finding.score == 0.0
    assert finding.details["c2pa"]["digital_source_types"] == ["digitalCapture"]
    assert "declares no AI generation" in finding.explanation


def test_xmp_in_jpeg(detector: ProvenanceDetector) -> None:
    data = jpeg(Image.open(OBAMA[0]), xmp=xmp_packet())
    finding = detector.analyse(medium_from_bytes(data), DetectorContext())
    assert finding.positive and finding.details["xmp_digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert finding.details["c2pa"] is None
    assert "XMP" in finding.explanation


def test_xmp_element_form_in_png_composite(detector: ProvenanceDetector) -> None:
    info = PngInfo()
    source = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(source, element_form=True).decode())
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, "PNG", pnginfo=info)
    finding = detector.analyse(medium_from_bytes(buffer.getvalue()), DetectorContext())
    assert finding.positive and finding.details["xmp_digital_source_types"] == ["compositeWithTrainedAlgorithmicMedia"]


@pytest.mark.parametrize("path", [OBAMA[0], PHOTOS / "kodak" / "kodim01.png"], ids=lambda p: p.name)
def test_plain_photo_is_not_flagged(detector: ProvenanceDetector, path: Path) -> None:
    finding = detector.analyse(medium_from_bytes(path.read_bytes()), DetectorContext())
    assert not finding.positive and finding.score == 0.0 and finding.details["c2pa"] is None
    assert "No C2PA manifest" in finding.explanation


def test_xmp_with_entities_is_not_expanded() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        b"<Iptc4xmpExt:DigitalSourceType>&e;</Iptc4xmpExt:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert xmp_source_types(hostile) == set()
    assert xmp_source_types(b"<x:xmpmeta>not xml") == set()


def test_xmp_search_is_bounded() -> None:
    # Unclosed openings are given up after a few bounded searches; a packet after them is not read.
    stuffed = b"<x:xmpmeta " * 100_000 + xmp_packet()
    assert list(xmp_packets(stuffed)) == []
    assert len(list(xmp_packets(xmp_packet() * 10))) == 4
    packet = xmp_packet()
    body = packet[packet.index(b"<x:xmpmeta") : packet.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")]
    assert list(xmp_packets(b"junk" + packet + b"junk")) == [body]


def test_options() -> None:
    only_xmp = ProvenanceDetector(c2pa=False)
    signed = c2pa_signed_jpeg(_photo())
    assert not only_xmp.analyse(medium_from_bytes(signed), DetectorContext()).positive
    with pytest.raises(DetectorConfigError):
        ProvenanceDetector(c2pa=False, xmp=False)
