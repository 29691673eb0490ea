"""A survivor turns on face matching from a phone, with no terminal: face templates made in Chromium.

At 390x844 the survivor signs in, opens the face-matching page, chooses three portraits of one
person (shared/data/faces, Barack Obama) and a fourth small copy that the page warns about in plain
words (they untick it); the page finds each face, shows it back (on the device only) and sends
only the templates. Every request is recorded: none carries a byte of the pictures. Then a link is
reported whose page serves a face swap made in the test from a fourth photo of the same person
(bench/face_swap.py: landmark alignment and cv2.seamlessClone onto another person's official
portrait); the real check (fetch, hash, face detector, fusion) sends it to review, and an advocate
sees the face similarity in the review queue. axe-core checks each page.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from takedown.cases import services
from takedown.cases.models import Case, FaceTemplate, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.detectors.faces import FACE_MATCH_THRESHOLD, MODELS, face_templates_from_image, model_directory
from takedown.matching.detection import detector_registry
from takedown.organizations.services import organization_create, staff_create
from tests.browser.fixtures import check_accessibility, screenshot
from tests.conftest import totp_code
from tests.detectors.face_page import VENDOR
from tests.matching.conftest import Site, page_with
from tests.matching.conftest import site as site  # the fixture: a local web site

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from face_swap import Face68, swap  # bench/ is not a package

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
OBAMA = sorted((DATA / "faces" / "barack_obama").glob("obama*.jpg"))
#: The survivor's three portraits; the fake is made from their other photo (not among the templates).
PORTRAITS = [OBAMA[0], OBAMA[2], OBAMA[3]]
SOURCE = OBAMA[1]
#: The body the swap is made on: another man's official portrait from the face pairs.
HOST = DATA / "face-pairs" / "C001050" / "gpo2015.jpg"
#: Browser and server templates of the same photo: median 0.077, p99 0.132 apart on all 480 face-pairs
#: photos (bench/faces_browser.py, docs/benchmarks/detectors.md); these three are well inside it.
SAME_PHOTO_TOLERANCE = 0.15
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _settings(settings: Settings, neutral_site: str) -> Iterator[None]:
    if not (VENDOR / "face-api.esm.js").is_file():
        pytest.fail("static/vendor/face-api is missing: run scripts/test (vendor_face_api in scripts/lib.sh) first")
    settings.QUICK_EXIT_URL = neutral_site
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.DETECTORS_ENABLED = True
    settings.DETECTORS_CONFIG = [
        {"name": "face", "class": "takedown.detectors.faces.FaceDetector", "enabled": True, "options": {}},
    ]
    detector_registry.cache_clear()
    yield
    detector_registry.cache_clear()


def assert_accessible(page: Page, name: str) -> None:
    screenshot(page, name)
    assert check_accessibility(page) == [], name


def assert_fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def landmarks68(rgb: np.ndarray) -> Face68:
    models = MODELS.get()
    predictor = models.dlib.shape_predictor(str(model_directory() / "shape_predictor_68_face_landmarks.dat"))
    rect = max(models.detector(rgb, 1), key=lambda r: r.width() * r.height())
    shape = predictor(rgb, rect)
    return Face68(
        (rect.left(), rect.top(), rect.right(), rect.bottom()),
        np.asarray([(p.x, p.y) for p in shape.parts()], dtype=np.float64),
    )


def face_swap_jpeg() -> bytes:
    """The survivor's other photo's face on the host's portrait, as bench/face_swap.py simulates a swap."""
    with Image.open(SOURCE) as im:
        source = np.asarray(im.convert("RGB"), dtype=np.uint8)
    with Image.open(HOST) as im:
        host = np.asarray(im.convert("RGB"), dtype=np.uint8)
    fake = swap(source, landmarks68(source), host, landmarks68(host), np.random.default_rng(16), "similarity")
    out = io.BytesIO()
    Image.fromarray(fake).save(out, "JPEG", quality=85)
    return out.getvalue()


def small_copy(path: Path, tmp_path: Path) -> Path:
    """The same portrait shrunk so the face is about 40 px wide: usable, but the page warns."""
    with Image.open(path) as im:
        small = im.convert("RGB").resize((im.width // 8, im.height // 8))
    target = tmp_path / "small-portrait.jpg"
    small.save(target, "JPEG", quality=90)
    return target


def sign_in(page: Page, live_server: LiveServer, reference: str, pin: str) -> None:
    page.goto(live_server.url + "/case/sign-in/")
    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url("**/case/")


def open_case(urls: tuple[str, ...] = ()) -> tuple[Case, str]:
    org = organization_create(actor=Actor.system(), name="Helpline F", slug="helpline-f", kind="helpline")
    opened = services.case_open(
        actor=Actor.system(), signature_name="S", organization=org, content_kind="digital_forgery", urls=urls
    )
    return opened.case, opened.pin


def test_the_face_page_fits_a_phone_and_says_what_happens(page: Page, live_server: LiveServer) -> None:
    case, pin = open_case()
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, case.reference, pin)
    page.get_by_role("link", name="About face matching").click()
    page.wait_for_url("**/case/faces/")
    assert_fits_the_phone(page)
    expect(page.get_by_label("Choose photos of your face")).to_be_attached()
    assert_accessible(page, "faces-01-phone")


def test_the_photo_picker_comes_back_with_the_errors(page: Page, live_server: LiveServer) -> None:
    """Sending the form with nothing chosen shows the errors in place (the page's <main> is swapped
    by static/js/quick-exit.js): the picker must be mounted again, not left hidden."""
    case, pin = open_case()
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, case.reference, pin)
    page.goto(live_server.url + "/case/faces/")
    page.get_by_role("button", name="Turn on face matching").click()
    expect(page.get_by_text("Please tick the box to agree, or leave face matching off.")).to_be_visible()
    assert page.url == live_server.url + "/case/faces/"
    picker = page.get_by_label("Choose photos of your face")
    expect(picker).to_be_visible()
    picker.set_input_files([str(OBAMA[0])])
    expect(page.locator("[data-face-status]")).to_contain_text("Face templates ready: 1.", timeout=120_000)
    assert_fits_the_phone(page)
    assert_accessible(page, "faces-01-errors-then-photo")


def test_a_survivor_makes_templates_on_a_phone_and_a_reported_swap_goes_to_review(
    page: Page, browser: Browser, live_server: LiveServer, site: Site, tmp_path: Path
) -> None:
    fake = face_swap_jpeg()
    swapped = site.put("/post/1", page_with("/img/1.jpg"))
    site.put("/img/1.jpg", fake, "image/jpeg")
    case, pin = open_case()
    pictures = [p.read_bytes() for p in PORTRAITS]
    small = small_copy(PORTRAITS[0], tmp_path)
    pictures.append(small.read_bytes())
    sent: list[tuple[str, str, bytes]] = []

    def record(request: Request) -> None:
        sent.append((request.method, request.url, request.post_data_buffer or b""))

    page.on("request", record)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, case.reference, pin)
    page.get_by_role("link", name="About face matching").click()
    page.wait_for_url("**/case/faces/")
    page.get_by_label("I agree that Takedown keeps face templates", exact=False).check()

    # Three portraits, then a small copy: each face is shown back with "This is me" ticked.
    page.get_by_label("Choose photos of your face").set_input_files([str(p) for p in PORTRAITS])
    status = page.locator("[data-face-status]")
    expect(status).to_contain_text("Face templates ready: 3.", timeout=300_000)
    page.get_by_label("Choose photos of your face").set_input_files(str(small))
    expect(status).to_contain_text("Face templates ready: 4.", timeout=120_000)
    faces = page.locator(".face-found")
    expect(faces).to_have_count(4)
    expect(page.get_by_role("img", name=re.compile(r"^Face 1 found in obama"))).to_have_count(3)
    # The small copy's warning is in plain words; the survivor leaves it out.
    expect(faces.nth(3)).to_contain_text("Your face is small in this photo. A closer photo will match better.")
    for i in range(3):
        expect(faces.nth(i).locator(".face-warnings")).to_have_count(0)
    faces.nth(3).get_by_label("This is me").uncheck()
    expect(status).to_contain_text("Face templates ready: 3.")
    assert_fits_the_phone(page)
    assert_accessible(page, "faces-02-templates-made")
    page.get_by_role("button", name="Turn on face matching").click()
    expect(page.get_by_test_id("face-status")).to_have_text("Face matching is on, with 3 face templates.")

    # Only numbers left the page: no request carries a fragment of any picture, and the one POST is small.
    posts = [body for method, url, body in sent if method != "GET" and url.endswith("/case/faces/")]
    assert len(posts) == 1 and 0 < len(posts[0]) < 40_000, [len(b) for b in posts]
    assert b'name="browser_bundle"' in posts[0] and b"dlib-resnet-v1" in posts[0]
    for content in pictures:
        fragments = {content[i : i + 64] for i in range(0, len(content) - 64, 499)}
        for _method, url, body in sent:
            assert not any(fragment in body for fragment in fragments), url
    assert all(live_server.url in url for _method, url, _body in sent), {u for _m, u, _b in sent}

    # The templates are the browser's, close to the server's templates of the same photos.
    stored = [np.asarray(t.vector) for t in FaceTemplate.objects.filter(case=case).order_by("id")]
    assert len(stored) == 3
    for path, vector in zip(PORTRAITS, stored, strict=True):
        with Image.open(path) as im:
            (server,) = face_templates_from_image(im.convert("RGB"))
        gap = float(np.linalg.norm(np.asarray(server.vector) - vector))
        assert 0 < gap <= SAME_PHOTO_TOLERANCE, (path.name, gap)

    # A reported link with a face swap of the survivor: checked, and sent to review.
    page.get_by_role("link", name="Back to your case").click()
    page.locator("#id_urls").fill(swapped)
    with page.expect_navigation(timeout=300_000):  # the check runs before the answer (no broker in tests)
        page.get_by_role("button", name="Add links").click()
    (item,) = [i for i in ReportedItem.objects.filter(case=case) if i.url == swapped]  # the URL is encrypted
    assert item.status == ItemStatus.NEEDS_REVIEW, item.status
    check = item.checks.order_by("-id").first()
    assert check is not None
    found = re.search(r"distance (0\.\d\d) \(similarity (0\.\d\d)", check.verdict_text)
    assert found and float(found.group(1)) <= FACE_MATCH_THRESHOLD, check.verdict_text
    page.reload()
    expect(page.get_by_text("may show a fake image of you")).to_be_visible()
    assert_fits_the_phone(page)
    assert_accessible(page, "faces-03-case-review")

    # The advocate sees the face similarity in the review queue.
    user = staff_create(
        actor=Actor.system(), organization=case.organization, email="adv@f.org", password="correct horse battery staple"
    )
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    advocate = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    staff = advocate.new_page()
    staff.goto(live_server.url + "/staff/")
    staff.get_by_label("Email").fill("adv@f.org")
    staff.get_by_label("Password").fill("correct horse battery staple")
    staff.get_by_role("button", name="Sign In").click()
    staff.wait_for_url("**/accounts/2fa/authenticate/**")
    staff.get_by_role("textbox", name="Code").fill(totp_code(secret))
    staff.get_by_role("button", name="Sign In").click()
    staff.wait_for_url("**/staff/")
    staff.goto(live_server.url + "/staff/cases/review/")
    row = staff.get_by_role("row").filter(has_text=case.reference)
    expect(row).to_contain_text(f"similarity {found.group(2)}")
    expect(row).to_contain_text("matches a face template of the case")
    assert_accessible(staff, "faces-04-advocate-review")
    advocate.close()
