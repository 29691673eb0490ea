"""Face templates made in Chromium by static/faces/ (face-api's port of dlib's network, WASM backend)
against the server's templates of the same photos, under the strict Content Security Policy.

The page is the module's own test page (tests/detectors/face_page_static/), served from 127.0.0.1
with the project's policy plus 'wasm-unsafe-eval'; the page fixture fails the test on any CSP
violation. Tolerance: on the face pairs, browser and server templates of the same photo are a
median 0.077 apart, 0.103 at p90 and 0.132 at p99 (all 240 people, 480 photos; docs/benchmarks/detectors.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request

from takedown.detectors.faces import FACE_MATCH_THRESHOLD, face_templates_from_image
from takedown.hashing.bundle import load_bundle
from tests.detectors.face_page import CSP, VENDOR, serve_face_page
from tests.detectors.helpers import KLOBUCHAR, OBAMA

pytestmark = pytest.mark.browser

#: Same photo, browser template vs server template: measured median 0.077, p99 0.132 (240 people).
SAME_PHOTO_TOLERANCE = 0.15
PORTRAITS = [OBAMA[0], OBAMA[1], KLOBUCHAR[0]]


@pytest.fixture(scope="module")
def server_templates() -> list[np.ndarray]:
    out = []
    for path in PORTRAITS:
        with Image.open(path) as im:
            (template,) = face_templates_from_image(im.convert("RGB"))
        out.append(np.asarray(template.vector))
    return out


@pytest.fixture(autouse=True)
def _vendored() -> None:
    if not (VENDOR / "face-api.esm.js").is_file():
        pytest.fail("static/vendor/face-api is missing: run scripts/test (vendor_face_api in scripts/lib.sh) first")


def describe_in_page(page: Page, url: str, files: list[Path], timeout: float = 240_000) -> dict[str, Any]:
    page.goto(url)
    page.set_input_files("#files", [str(f) for f in files])
    page.wait_for_selector('body[data-done="1"]', state="attached", timeout=timeout)
    result: dict[str, Any] = json.loads(page.locator("#result").text_content() or "{}")
    return result


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def test_browser_templates_match_the_servers_and_no_picture_leaves_the_page(
    page: Page, server_templates: list[np.ndarray]
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    with serve_face_page() as served:
        out = describe_in_page(page, served.url, PORTRAITS)
        origin = served.url.split("/faces-test/")[0]
        # Every request the page made: a GET to this server, with no body, for a page or static file.
        assert served.requests and all(r.method == "GET" and r.body == b"" for r in served.requests)
        assert all(r.path.startswith(("/faces-test/", "/static/", "/favicon.ico")) for r in served.requests)
    assert requests and all(r.url.startswith(origin + "/") and r.post_data_buffer is None for r in requests)
    fetched = {r.path for r in served.requests}
    assert "/static/vendor/face-api/model/face_recognition_model.bin" in fetched
    # Nothing about the pictures is in any address either (no name, no bytes smuggled in a query).
    assert not any(p.name in r.url or "?" in r.url for r in requests for p in PORTRAITS)

    assert out["backend"] == "wasm"
    results = out["results"]
    assert [r["name"] for r in results] == [p.name for p in PORTRAITS]
    assert all(len(r["faces"]) == 1 for r in results), results
    browser = [np.asarray(r["faces"][0]["vector"]) for r in results]
    obama, obama_other, klobuchar = browser
    s_obama, s_obama_other, s_klobuchar = server_templates

    # The same photo gives nearly the same template on both sides.
    for b, s in zip(browser, server_templates, strict=True):
        assert distance(b, s) < SAME_PHOTO_TOLERANCE
    # And the same decisions as the server: the two Obama portraits match, across sides too ...
    assert distance(s_obama, s_obama_other) <= FACE_MATCH_THRESHOLD
    assert distance(obama, obama_other) <= FACE_MATCH_THRESHOLD
    assert distance(obama, s_obama_other) <= FACE_MATCH_THRESHOLD
    assert distance(obama_other, s_obama) <= FACE_MATCH_THRESHOLD
    # ... and another person does not.
    for b in (obama, obama_other):
        assert distance(b, klobuchar) > FACE_MATCH_THRESHOLD
        assert distance(b, s_klobuchar) > FACE_MATCH_THRESHOLD
    assert distance(klobuchar, s_obama) > FACE_MATCH_THRESHOLD

    # The bundle the page would send is valid, holds the three templates and nothing else.
    bundle = load_bundle(json.dumps(out["bundle"]))
    assert bundle.tool_name == "takedown-browser" and bundle.items == ()
    assert [f.vector for f in bundle.face_templates] == [tuple(r["faces"][0]["vector"]) for r in results]
    assert len({f.id for f in bundle.face_templates}) == 3
    # The crops are shown to the survivor on the page itself.
    assert page.locator("#crops canvas").count() == 3


def test_without_webassembly_the_module_falls_back_to_plain_javascript(
    browser: Browser, server_templates: list[np.ndarray]
) -> None:
    """Under the strict policy alone (no 'wasm-unsafe-eval') the CPU backend gives the same templates.

    Its own context: Chromium reports the refused WebAssembly compile as a CSP violation, which
    is expected here, so the page fixture's check does not apply.
    """
    strict = CSP.replace(" 'wasm-unsafe-eval'", "")
    context = browser.new_context()
    page = context.new_page()
    try:
        with serve_face_page(csp=strict) as served:
            out = describe_in_page(page, served.url, [OBAMA[0]], timeout=600_000)
    finally:
        context.close()
    assert out["backend"] == "cpu"
    vector = np.asarray(out["results"][0]["faces"][0]["vector"])
    assert distance(vector, server_templates[0]) < SAME_PHOTO_TOLERANCE
