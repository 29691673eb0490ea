"""Face matching for a case: separate consent, templates from a bundle, deletion on withdrawal of consent,
and the review of links that detectors flagged without a hash match."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from takedown.cases import services
from takedown.cases.models import Case, FaceTemplate, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.hashing.bundle import BundleFace, build_bundle, dump_bundle, make_item
from takedown.hashing.media import hash_file
from takedown.notices.services import notice_draft
from takedown.organizations.models import Organization
from tests.cases.conftest import bundle_text, shared_photo, staff_client
from tests.cases.test_authorisation_matrix import survivor_client

pytestmark = pytest.mark.django_db

PORTRAIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces" / "barack_obama" / "obama1.jpg"


def face(seed: int) -> BundleFace:
    rng = secrets.SystemRandom(seed)
    return BundleFace(secrets.token_hex(16), tuple(round(rng.uniform(-0.3, 0.3), 6) for _ in range(128)))


def faces_bundle(*faces: BundleFace, with_photo: bool = False) -> str:
    items = [make_item("image", hash_file(shared_photo(3)).hashes)] if with_photo else []
    return dump_bundle(build_bundle(items, face_templates=faces))


@pytest.fixture
def opened(org_a: Organization) -> services.OpenedCase:
    return services.case_open(
        actor=Actor.system(), signature_name="S", organization=org_a, urls=["https://fakes.example/p/1"]
    )


def test_face_page_explains_and_starts_off(opened: services.OpenedCase) -> None:
    client = survivor_client(opened.case.reference, opened.pin)
    html = client.get("/case/faces/").content.decode()
    assert "Face matching is off." in html
    assert "128 numbers" in html and "Never use an intimate image" in html
    assert "data-quick-exit" in html
    assert "It is off until you turn it on" in client.get("/case/").content.decode()


def test_templates_need_the_separate_consent_and_are_stored_encrypted(opened: services.OpenedCase) -> None:
    client = survivor_client(opened.case.reference, opened.pin)
    templates = [face(1), face(2)]
    text = faces_bundle(*templates)

    refused = client.post("/case/faces/", {"bundle": text})
    assert refused.status_code == 400
    assert "Please tick the box to agree" in refused.content.decode()
    assert FaceTemplate.objects.count() == 0
    assert not Case.objects.get(pk=opened.case.pk).consent_face_matching

    upload = SimpleUploadedFile("takedown-faces.json", text.encode(), content_type="application/json")
    response = client.post("/case/faces/", {"consent": "on", "bundle_file": upload})
    assert response.status_code == 302
    assert Case.objects.get(pk=opened.case.pk).consent_face_matching
    stored = list(FaceTemplate.objects.filter(case=opened.case).order_by("id"))
    assert [t.template_id for t in stored] == [t.id for t in templates]
    assert stored[0].vector == list(templates[0].vector)
    with connection.cursor() as cursor:
        cursor.execute("SELECT vector FROM cases_facetemplate")
        raw = " ".join(str(row[0]) for row in cursor.fetchall())
    assert str(templates[0].vector[0]) not in raw  # encrypted at rest
    assert "with 2 face templates" in client.get("/case/faces/").content.decode()
    event = AuditEvent.objects.filter(action="case.face_templates_added").get()
    assert event.data == {"templates": 2}

    # Adding the same file again adds nothing; a file without faces is refused with a clear message.
    client.post("/case/faces/", {"consent": "on", "bundle": text})
    assert FaceTemplate.objects.count() == 2
    no_faces = client.post("/case/faces/", {"consent": "on", "bundle": bundle_text(shared_photo(4))})
    assert no_faces.status_code == 400 and "no face templates" in no_faces.content.decode()
    broken = client.post("/case/faces/", {"consent": "on", "bundle": "{not json"})
    assert broken.status_code == 400 and FaceTemplate.objects.count() == 2


def test_a_portrait_chosen_as_the_file_gets_a_plain_answer_and_is_not_kept(opened: services.OpenedCase) -> None:
    """Issue 16: choosing a portrait where the template file goes said "That is not a face template
    file"; it now says what to do instead, and nothing is stored."""
    client = survivor_client(opened.case.reference, opened.pin)
    portrait = PORTRAIT.read_bytes()
    upload = SimpleUploadedFile("me.jpg", portrait, content_type="image/jpeg")
    response = client.post("/case/faces/", {"consent": "on", "bundle_file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    assert "That is a photo, not a face template file." in html and "Choose photos of your face" in html
    assert FaceTemplate.objects.count() == 0 and not Case.objects.get(pk=opened.case.pk).consent_face_matching


def test_templates_made_in_the_browser_arrive_in_their_own_field(opened: services.OpenedCase) -> None:
    client = survivor_client(opened.case.reference, opened.pin)
    page = client.get("/case/faces/")
    # The one page whose policy lets TensorFlow.js compile WebAssembly; every other page stays strict.
    assert "'wasm-unsafe-eval'" in page["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" not in client.get("/case/")["Content-Security-Policy"]
    html = page.content.decode()
    assert 'name="browser_bundle"' in html and "data-face-maker" in html
    assert re.search(r'<input id="face-photos" type="file"[^>]*>', html) and 'name="face-photos"' not in html
    empty = client.post("/case/faces/", {"consent": "on", "browser_bundle": ""})
    assert empty.status_code == 400 and "Choose photos of your face" in empty.content.decode()
    response = client.post("/case/faces/", {"consent": "on", "browser_bundle": faces_bundle(face(1), face(2))})
    assert response.status_code == 302
    assert FaceTemplate.objects.filter(case=opened.case).count() == 2


def test_turning_face_matching_off_deletes_every_template(opened: services.OpenedCase) -> None:
    client = survivor_client(opened.case.reference, opened.pin)
    client.post("/case/faces/", {"consent": "on", "bundle": faces_bundle(face(1), face(2), face(3))})
    assert FaceTemplate.objects.filter(case=opened.case).count() == 3
    unconfirmed = client.post("/case/faces/", {"action": "off"})
    assert unconfirmed.status_code == 400 and FaceTemplate.objects.count() == 3
    response = client.post("/case/faces/", {"action": "off", "confirm": "on"})
    assert response.status_code == 302
    assert FaceTemplate.objects.count() == 0
    assert not Case.objects.get(pk=opened.case.pk).consent_face_matching
    assert AuditEvent.objects.filter(action="case.face_matching_off").get().data == {"templates_deleted": 3}


def test_faces_in_the_first_bundle_are_refused_before_a_case_exists(client: Client) -> None:
    from tests.cases.test_survivor_pages import report_data

    response = client.post("/start/report/", report_data(bundle=faces_bundle(face(1), with_photo=True)))
    assert response.status_code == 200  # the form again, with the reason
    assert "includes face templates" in response.content.decode()
    assert Case.objects.count() == 0


def test_faces_added_with_photo_fingerprints_need_consent(opened: services.OpenedCase) -> None:
    bundle = services.parse_bundle(faces_bundle(face(1), with_photo=True))
    with pytest.raises(InvalidInput, match="Face matching is off"):
        services.case_add_bundle(actor=Actor.system(), case=opened.case, bundle=bundle)
    assert FaceTemplate.objects.count() == 0


def test_withdrawal_deletes_face_templates(opened: services.OpenedCase) -> None:
    services.case_face_matching_set(actor=Actor.system(), case=opened.case, consent=True)
    services.case_add_face_templates(
        actor=Actor.system(), case=opened.case, bundle=services.parse_bundle(faces_bundle(face(1)))
    )
    services.case_withdraw_and_delete(actor=Actor(kind="survivor", case_id=opened.case.pk), case=opened.case)
    assert FaceTemplate.objects.count() == 0


def test_a_survivor_confirms_a_flagged_link_and_only_then_a_notice_can_be_drafted(
    opened: services.OpenedCase,
) -> None:
    item = opened.case.items.get()
    ReportedItem.objects.filter(pk=item.pk).update(status=ItemStatus.NEEDS_REVIEW)
    item.refresh_from_db()
    with pytest.raises(InvalidInput, match="waiting for review"):
        notice_draft(actor=Actor.system(), case=opened.case, items=[item])

    client = survivor_client(opened.case.reference, opened.pin)
    home = client.get("/case/").content.decode()
    assert "may show a fake image of you" in home and "fakes.example" in home
    assert client.post(f"/case/links/{item.pk}/review/", {"decision": "maybe"}).status_code == 302
    assert ReportedItem.objects.get(pk=item.pk).status == ItemStatus.NEEDS_REVIEW
    assert client.post(f"/case/links/{item.pk}/review/", {"decision": "confirm"}).status_code == 302
    item.refresh_from_db()
    assert item.status == ItemStatus.LIVE and item.confirmed_at is not None
    assert AuditEvent.objects.filter(action="item.review_confirmed", subject_id=opened.case.pk).exists()
    # A second answer is refused (it is no longer waiting), and changes nothing.
    client.post(f"/case/links/{item.pk}/review/", {"decision": "dismiss"})
    assert ReportedItem.objects.get(pk=item.pk).status == ItemStatus.LIVE


def test_the_advocate_review_queue_shows_only_their_organisation(
    opened: services.OpenedCase, org_b: Organization
) -> None:
    other = services.case_open(
        actor=Actor.system(), signature_name="O", organization=org_b, urls=["https://x.example/"]
    )
    ReportedItem.objects.update(status=ItemStatus.NEEDS_REVIEW)
    advocate = staff_client(opened.case.organization, "adv@a.org")
    html = advocate.get("/staff/cases/review/").content.decode()
    assert "fakes.example" in html and opened.case.reference in html
    assert "x.example" not in html and other.case.reference not in html

    item = opened.case.items.get()
    response = advocate.post(
        f"/staff/cases/{opened.case.pk}/items/{item.pk}/review/", {"decision": "dismiss", "next": "queue"}
    )
    assert response.status_code == 302 and response["Location"] == "/staff/cases/review/"
    assert ReportedItem.objects.get(pk=item.pk).status == ItemStatus.NO_MATCH
    assert "Nothing waiting for review." in advocate.get("/staff/cases/review/").content.decode()
    event = AuditEvent.objects.filter(action="item.review_dismissed").get()
    assert event.data == {"item_id": item.pk} and event.actor_user is not None


def test_an_advocate_opens_a_case_with_face_templates_only_with_the_survivors_consent(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    form = {
        "organization": org_a.pk,
        "survivor_name": "R. Survivor",
        "authorisation": "Signed authorisation form",
        "authorisation_confirmed": "on",
        "signature_name": "Advocate Name",
        "content_kind": "digital_forgery",
        "bundle": faces_bundle(face(7), with_photo=True),
    }
    refused = client.post("/staff/cases/new/", form)
    assert "includes face templates" in refused.content.decode() and Case.objects.count() == 0
    assert client.post("/staff/cases/new/", {**form, "consent_face_matching": "on"}).status_code == 200
    case = Case.objects.get()
    assert case.consent_face_matching and case.face_templates.count() == 1 and case.registered_hashes.exists()
    assert "On, 1 face template" in client.get(f"/staff/cases/{case.pk}/").content.decode()
