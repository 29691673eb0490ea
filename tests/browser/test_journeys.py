"""Whole journeys in Chromium: a survivor from start to withdrawal, and an advocate with TOTP.

The survivor's photos are hashed by the real browser hasher (static/hashing) inside Chromium;
the privacy test records every request and proves no byte of the photos left the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, Request, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from takedown.cases import services
from takedown.cases.models import Case, FaceTemplate, ItemStatus, RegisteredHash, ReportedItem
from takedown.core.access import Actor
from takedown.hashing.bundle import load_bundle
from takedown.organizations.services import organization_create, staff_create
from tests.browser.fixtures import check_accessibility, screenshot
from tests.browser.report_steps import next_step
from tests.cases.test_face_matching import face, faces_bundle
from tests.conftest import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"
COCO = sorted((PHOTOS / "coco2017_ccby").glob("*.jpg"))


@pytest.fixture(autouse=True)
def _neutral_exit(settings: Settings, neutral_site: str) -> None:
    settings.QUICK_EXIT_URL = neutral_site
    settings.INTAKE_ORGANIZATION_SLUG = "intake"


def assert_accessible(page: Page, name: str) -> None:
    screenshot(page, name)
    assert check_accessibility(page) == [], name


def hash_in_page(page: Page, files: list[Path], expected: int) -> None:
    page.locator("[data-hasher-input]").first.set_input_files([str(f) for f in files])
    expect(page.locator("[data-hasher-status]").first).to_contain_text(f"{expected} file", timeout=60_000)


def test_survivor_journey(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    organization_create(actor=Actor.system(), name="Intake", slug="intake", kind="helpline")
    page.goto(live_server.url + "/")
    assert_accessible(page, "survivor-01-home")
    page.get_by_role("link", name="Start: ask for removal").click()

    assert_accessible(page, "survivor-02-safety")
    page.get_by_role("group", name="Are you in danger right now?").get_by_label("No", exact=True).check()
    page.get_by_role("group", name="Was anyone in the images under 18 when they were taken?").get_by_label(
        "No", exact=True
    ).check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/start/report/")
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    next_step(page)  # the report form comes in steps (static/js/report-steps.js)
    hash_in_page(page, [PHOTOS / "kodak" / "kodim03.png", COCO[0]], expected=2)
    next_step(page)
    page.get_by_label("Links where the images appear (one per line)").fill(
        "https://tube.example/watch?v=1\nhttps://pics.example/p/2"
    )
    next_step(page)
    page.get_by_label("United States").check()
    next_step(page)
    next_step(page)
    page.get_by_label("I believe in good faith that these images were shared without my consent.").check()
    page.get_by_label("Type your name to sign").fill("Sam Doe")
    assert_accessible(page, "survivor-03-report")
    page.get_by_role("button", name="Send my request").click()

    # The answer to the POST shows the PIN in place (no new history entry, no page to ask again).
    expect(page.get_by_role("heading", name="Your case is open")).to_be_visible()
    assert page.url.endswith("/start/report/")
    expect(page.get_by_test_id("device-advice")).to_be_visible()
    expect(page.get_by_test_id("pin")).to_be_hidden()  # the advice comes first
    page.get_by_text("Show my reference and PIN").click()
    assert_accessible(page, "survivor-04-created")
    reference = page.get_by_test_id("reference").inner_text().strip()
    pin = page.get_by_test_id("pin").inner_text().strip()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download them as a text file").click()
    assert pin in Path(download_info.value.path()).read_text()

    case = Case.objects.get(reference=reference)
    assert case.organization is not None and case.organization.slug == "intake"
    assert RegisteredHash.objects.filter(case=case).values("item_id").distinct().count() == 2
    assert ReportedItem.objects.filter(case=case).count() == 2

    page.get_by_role("link", name="I have saved them: go to my case").click()
    page.wait_for_url("**/case/")
    page.get_by_role("button", name="Sign out").click()
    # The sign-out answer moves the page to / by script: wait for it, or it can land after the goto below.
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/case/sign-in/")
    assert_accessible(page, "survivor-05-sign-in")
    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")
    assert_accessible(page, "survivor-06-case")
    expect(page.get_by_role("cell", name="tube.example")).to_be_visible()

    page.locator("#id_urls").fill("https://third.example/x")
    page.get_by_role("button", name="Add links").click()
    expect(page.get_by_role("cell", name="third.example")).to_be_visible()
    assert ReportedItem.objects.filter(case=case).count() == 3

    # Face matching: its own page, its own consent, and turning it off deletes the templates.
    page.get_by_role("link", name="About face matching").click()
    page.wait_for_url("**/case/faces/")
    assert_accessible(page, "survivor-07-faces")
    faces_file = tmp_path / "takedown-faces.json"
    faces_file.write_text(faces_bundle(face(1)))
    page.get_by_label("The file the faces command made (takedown-faces.json)").set_input_files(str(faces_file))
    page.get_by_role("button", name="Turn on face matching").click()
    expect(page.get_by_text("Please tick the box to agree")).to_be_visible()
    assert_accessible(page, "survivor-08-faces-error")
    page.get_by_label("The file the faces command made (takedown-faces.json)").set_input_files(str(faces_file))
    page.get_by_label("I agree that Takedown keeps face templates", exact=False).check()
    page.get_by_role("button", name="Turn on face matching").click()
    expect(page.get_by_test_id("face-status")).to_have_text("Face matching is on, with 1 face template.")
    assert FaceTemplate.objects.filter(case=case).count() == 1
    page.get_by_label("Yes, turn face matching off and delete my face templates.").check()
    page.get_by_role("button", name="Turn off and delete my face templates").click()
    expect(page.get_by_test_id("face-status")).to_have_text("Face matching is off.")
    assert FaceTemplate.objects.filter(case=case).count() == 0
    page.get_by_role("link", name="Back to your case").click()

    page.get_by_role("link", name="Withdraw my case and delete everything").click()
    assert_accessible(page, "survivor-09-withdraw")
    page.get_by_label("Yes, stop everything and delete my case, my photo fingerprints and my contact details.").check()
    page.get_by_role("button", name="Withdraw and delete").click()
    expect(page.get_by_role("heading", name="Your case is deleted")).to_be_visible()
    assert not Case.objects.filter(reference=reference).exists()
    assert not RegisteredHash.objects.filter(case_id=case.pk).exists()


def test_privacy_no_photo_byte_leaves_the_browser(page: Page, live_server: LiveServer) -> None:
    files = [PHOTOS / "kodak" / "kodim01.png", PHOTOS / "kodak" / "kodim12.png", *COCO[1:4]]
    contents = [f.read_bytes() for f in files]
    bodies: list[bytes] = []

    def record(request: Request) -> None:
        body = request.post_data_buffer
        if body:
            bodies.append(body)

    page.on("request", record)
    page.goto(live_server.url + "/start/report/")
    page.get_by_label("I have read what Takedown keeps and who sees it.").check()
    next_step(page)
    hash_in_page(page, files, expected=5)
    bundle_text = page.locator('input[name="bundle"]').first.input_value()
    bundle = load_bundle(bundle_text)
    assert len(bundle.items) == 5
    for _ in range(4):
        next_step(page)
    page.get_by_label("I believe in good faith that these images were shared without my consent.").check()
    page.get_by_label("Type your name to sign").fill("Private Person")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Your case is open")).to_be_visible()

    assert bodies, "the form submission should have been recorded"
    for content in contents:
        fragments = {content[i : i + 64] for i in range(0, len(content) - 64, 997)}
        for body in bodies:
            assert not any(fragment in body for fragment in fragments)
    uploaded = sum(len(b) for b in bodies)
    # The form body is the URL-encoded bundle plus a few fields: a small multiple of the bundle.
    assert uploaded < 4 * len(bundle_text) + 4096, (uploaded, len(bundle_text))
    assert uploaded < min(len(c) for c in contents)
    case = Case.objects.get()
    assert RegisteredHash.objects.filter(case=case).values("item_id").distinct().count() == 5
    stored = {rh.value for rh in RegisteredHash.objects.filter(case=case, signal="sha256")}
    assert stored == {h.value for item in bundle.items for h in item.hashes if h.signal == "sha256"}
    assert json.loads(bundle_text)["tool"]["name"] == "takedown-browser"


def test_advocate_journey(page: Page, live_server: LiveServer) -> None:
    org = organization_create(actor=Actor.system(), name="Helpline A", slug="helpline-a", kind="helpline")
    user = staff_create(
        actor=Actor.system(), organization=org, email="adv@a.org", password="correct horse battery staple"
    )
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    risky = services.case_open(
        actor=Actor.system(),
        signature_name="S",
        organization=org,
        urls=["https://tube.example/1"],
        risk_sextortion=True,
    ).case
    calm = services.case_open(
        actor=Actor.system(), signature_name="S", organization=org, urls=["https://pics.example/2"]
    ).case

    page.goto(live_server.url + "/staff/")
    page.wait_for_url("**/accounts/login/**")
    assert_accessible(page, "advocate-01-login")
    page.get_by_label("Email").fill("adv@a.org")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    assert_accessible(page, "advocate-02-totp")
    page.get_by_role("textbox", name="Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/staff/")

    page.goto(live_server.url + "/staff/cases/")
    assert_accessible(page, "advocate-03-caseload")
    page.get_by_label("Risk").select_option("sextortion")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=risky.reference)).to_be_visible()
    expect(page.get_by_role("link", name=calm.reference)).to_have_count(0)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download_info.value.path()).read_text()
    assert risky.reference in exported and calm.reference not in exported

    page.get_by_role("link", name=risky.reference).click()
    page.wait_for_url(f"**/staff/cases/{risky.pk}/")
    assert_accessible(page, "advocate-04-case")
    page.get_by_label("Internal note (never shown to the survivor or websites)").fill("Called back, safe for now.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Called back, safe for now.")).to_be_visible()

    page.goto(live_server.url + "/staff/cases/metrics/")
    assert_accessible(page, "advocate-05-metrics")

    # A link the detectors flagged (a possible deepfake) waits in the review queue for a person.
    ReportedItem.objects.filter(case=calm).update(status=ItemStatus.NEEDS_REVIEW)
    page.get_by_role("link", name="To review").click()
    page.wait_for_url("**/staff/cases/review/")
    assert_accessible(page, "advocate-06-review")
    page.get_by_role("button", name="Not the survivor").click()
    expect(page.get_by_text("Nothing waiting for review.")).to_be_visible()
    assert ReportedItem.objects.get(case=calm).status == ItemStatus.NO_MATCH
