"""End to end: a sexual deepfake stand-in found at a reported link is judged a probable forgery for review.

The survivor opens a case through the pages, turns on face matching with face templates made
by the real faces code (dlib) from one portrait, and reports links on a local site. One page
serves a *different* photo of the same person composited onto another picture (the stand-in for
a face swap, built from safe-for-work photos); another serves a different person composited the
same way. Checks run in process against real PostgreSQL with the real face and provenance
detectors.

The explicit-content part is a stand-in, said plainly: no intimate image may exist in this
project, so NudeNet cannot be shown a positive here (it is tested separately on safe-for-work
photos). The operator plug-in plays that role instead: a tiny ONNX classifier, labelled
"explicit", that fires on strongly red pictures, and the composites are put on a red-tinted
background. Everything else (fetching, hashing, face detection and similarity, fusion, the review
queue, the refusal to draft a notice before review) is the real code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image, ImageOps
from pytest_django import Settings

from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.detectors.faces import face_templates_from_image
from takedown.hashing.bundle import BundleFace, build_bundle, dump_bundle
from takedown.matching.detection import detector_registry
from takedown.matching.models import ItemCheck, Verdict
from takedown.notices.services import notice_draft
from tests.cases.conftest import bundle_text, shared_photo
from tests.cases.test_survivor_pages import open_case as open_case_through_pages
from tests.detectors.helpers import KLOBUCHAR, OBAMA, composite, jpeg, tiny_classifier, xmp_packet
from tests.matching.conftest import Site, page_with

pytestmark = pytest.mark.django_db(transaction=True)


def red_background(tmp_path: Path) -> Path:
    """A shared photo, tinted red (what the explicit stand-in classifier responds to)."""
    with Image.open(shared_photo(23)) as im:
        tinted = ImageOps.colorize(im.convert("L"), black=(60, 0, 0), white=(255, 40, 20))
    path = tmp_path / "red.png"
    tinted.save(path)
    return path


@pytest.fixture
def detectors(settings: Settings, tmp_path: Path) -> Iterator[None]:
    model = tiny_classifier(tmp_path / "explicit-standin.onnx")
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.DETECTORS_ENABLED = True
    settings.DETECTORS_CONFIG = [
        {"name": "face", "class": "takedown.detectors.faces.FaceDetector", "enabled": True, "options": {}},
        {"name": "provenance", "class": "takedown.detectors.provenance.ProvenanceDetector", "enabled": True},
        {
            "name": "onnx",
            "class": "takedown.detectors.onnx_classifier.OnnxClassifierDetector",
            "enabled": True,
            "options": {"path": str(model), "input_size": 32, "label": "explicit", "threshold": 0.6},
        },
    ]
    detector_registry.cache_clear()
    yield
    detector_registry.cache_clear()


def templates_bundle(portrait: Path) -> str:
    with Image.open(portrait) as im:
        templates = face_templates_from_image(im)
    assert len(templates) == 1
    faces = [BundleFace(t.id, t.vector, t.model) for t in templates]
    return dump_bundle(build_bundle([], face_templates=faces))


def latest(item: ReportedItem) -> ItemCheck:
    return item.checks.order_by("-id").first()  # type: ignore[return-value]


@pytest.mark.usefixtures("detectors")
def test_a_face_swap_stand_in_is_a_probable_forgery_for_review_and_another_person_is_not(
    site: Site, tmp_path: Path
) -> None:
    background = red_background(tmp_path)
    fake = composite(OBAMA[2], background)  # a different photo of the same person
    stranger = composite(KLOBUCHAR[0], background)  # another person, the same way
    forged = site.put("/post/forged", page_with("/img/forged.jpg"))
    site.put("/img/forged.jpg", jpeg(fake, xmp=xmp_packet()), "image/jpeg")  # also declares AI generation
    other = site.put("/post/other", page_with("/img/other.jpg"))
    site.put("/img/other.jpg", jpeg(stranger), "image/jpeg")

    client = Client()
    reference, _pin = open_case_through_pages(
        client, content_kind="digital_forgery", urls="", bundle=bundle_text(shared_photo(5))
    )
    case = Case.objects.get(reference=reference)
    response = client.post("/case/faces/", {"consent": "on", "bundle": templates_bundle(OBAMA[0])})
    assert response.status_code == 302
    assert client.post("/case/links/", {"urls": f"{forged}\n{other}"}).status_code == 302

    items = {item.url: item for item in ReportedItem.objects.filter(case=case)}
    check = latest(items[forged])
    assert check.verdict == Verdict.PROBABLE_FORGERY
    text = check.verdict_text
    assert text.startswith("Probable digital forgery depicting the survivor. "), text
    assert re.search(r"matches a face template of the case: distance 0\.\d\d \(similarity 0\.\d\d", text), text
    assert "explicit classifier scores 0." in text and "No copy of the survivor's registered images" in text
    assert "declares AI generation: digital source type trainedAlgorithmicMedia" in text
    assert text.endswith("Needs review by a person before any notice.")
    medium = check.media.get()
    assert medium.assessment == Verdict.PROBABLE_FORGERY and not medium.matched
    assert {f["detector"] for f in medium.findings} == {"face", "provenance", "onnx"}
    assert ReportedItem.objects.get(pk=items[forged].pk).status == ItemStatus.NEEDS_REVIEW

    stranger_check = latest(items[other])
    assert stranger_check.verdict == Verdict.NO_MATCH, stranger_check.verdict_text
    assert ReportedItem.objects.get(pk=items[other].pk).status == ItemStatus.NO_MATCH
    face_finding = next(f for f in stranger_check.media.get().findings if f["detector"] == "face")
    assert face_finding["error"] == "" and face_finding["score"] is not None and not face_finding["positive"]

    # Detector-only: no notice until a person has reviewed it; the survivor sees it in plain words.
    item = ReportedItem.objects.get(pk=items[forged].pk)
    with pytest.raises(InvalidInput, match="waiting for review"):
        notice_draft(actor=Actor(kind="staff", mfa_verified=True), case=case, items=[item])
    home = client.get("/case/").content.decode()
    assert "may show a fake image of you" in home
    assert client.post(f"/case/links/{item.pk}/review/", {"decision": "confirm"}).status_code == 302
    assert ReportedItem.objects.get(pk=item.pk).status == ItemStatus.LIVE
