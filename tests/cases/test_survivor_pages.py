"""The survivor journey over HTTP: routing, opening, reference + PIN, lockout, changes, withdrawal."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from takedown.cases import services
from takedown.cases.models import Case, RegisteredHash, ReportedItem
from takedown.core.models import AuditEvent
from tests.cases.conftest import bundle_text, shared_photo

pytestmark = pytest.mark.django_db


def report_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "consent_understood": "on",
        "bundle": bundle_text(shared_photo(5)),
        "urls": "https://example.com/a\nhttps://example.org/b",
        "content_kind": "authentic",
        "jurisdictions": ["US"],
        "contact_preference": "none",
        "good_faith": "on",
        "signature_name": "Sam",
    }
    data.update(overrides)
    return data


def open_case(client: Client, **overrides: object) -> tuple[str, str]:
    response = client.post("/start/report/", report_data(**overrides))
    # The answer to the report itself shows the reference and PIN (shown once, kept nowhere).
    assert response.status_code == 200 and b'data-testid="pin"' in response.content, response.content.decode()[:2000]
    page = response.content.decode()
    reference = re.search(r'data-testid="reference">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    pin = re.search(r'data-testid="pin">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    return reference, pin


@pytest.mark.parametrize(
    ("answers", "target"),
    [
        ({"in_danger": "no", "under_18": "yes"}, "/start/under-18/"),
        ({"in_danger": "no", "under_18": "unsure"}, "/start/under-18/"),
        ({"in_danger": "yes", "under_18": "no"}, "/start/safety/"),
        ({"in_danger": "no", "under_18": "no"}, "/start/report/"),
    ],
)
def test_safety_questions_route_first_and_keep_nothing(client: Client, answers: dict[str, str], target: str) -> None:
    response = client.post("/start/", answers)
    assert response.status_code == 302 and response["Location"] == target
    assert Case.objects.count() == 0
    assert client.get(target).status_code == 200


def test_under_18_page_points_to_take_it_down(client: Client) -> None:
    html = client.get("/start/under-18/").content.decode()
    assert "https://takeitdown.ncmec.org/" in html and "data-quick-exit" in html


def test_opening_a_case_shows_reference_and_pin_once(client: Client) -> None:
    reference, pin = open_case(client)
    case = Case.objects.get(reference=reference)
    assert RegisteredHash.objects.filter(case=case).exists()
    assert ReportedItem.objects.filter(case=case).count() == 2
    # Shown once: no page can be asked for them again, and the case page never shows the PIN.
    assert client.get("/start/created/").status_code == 404
    assert client.get("/start/created/download/").status_code == 404
    assert pin not in client.get("/case/").content.decode()


def test_report_needs_something_to_act_on_and_keeps_input(client: Client) -> None:
    response = client.post("/start/report/", report_data(bundle="", urls=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Add at least one photo or video, or at least one link." in html
    assert 'value="Sam"' in html  # what was typed is not lost
    assert Case.objects.count() == 0


def test_report_with_broken_bundle_is_a_clear_error(client: Client) -> None:
    response = client.post("/start/report/", report_data(bundle='{"format": "nope"}'))
    assert response.status_code == 200
    assert "The hashes could not be read" in response.content.decode()
    assert Case.objects.count() == 0


def test_report_with_bad_link_is_a_clear_error(client: Client) -> None:
    response = client.post("/start/report/", report_data(urls="javascript:alert(1)"))
    assert response.status_code == 200
    assert "Only web links" in response.content.decode()
    assert Case.objects.count() == 0


def test_sign_in_and_manage_the_case(client: Client) -> None:
    reference, pin = open_case(client)
    other = Client()
    response = other.post("/case/sign-in/", {"reference": reference.lower().replace("-", " "), "pin": pin})
    assert response.status_code == 302 and response["Location"] == "/case/"
    page = other.get("/case/").content.decode()
    assert "example.com" in page and "example.org" in page

    assert other.post("/case/links/", {"urls": "https://example.net/c"}).status_code == 302
    assert ReportedItem.objects.filter(case__reference=reference).count() == 3
    assert (
        other.post("/case/contact/", {"contact_preference": "email", "contact_email": "s@example.org"}).status_code
        == 302
    )
    assert Case.objects.get(reference=reference).contact_details == {"email": "s@example.org"}
    before = RegisteredHash.objects.filter(case__reference=reference).count()
    assert other.post("/case/hashes/", {"bundle": bundle_text(shared_photo(6))}).status_code == 302
    assert RegisteredHash.objects.filter(case__reference=reference).count() > before
    bad = other.post("/case/links/", {"urls": "ftp://nope"})
    assert bad.status_code == 400 and "Only web links" in bad.content.decode()


def test_wrong_reference_and_wrong_pin_get_the_same_answer(client: Client) -> None:
    reference, pin = open_case(client)
    wrong_pin = Client().post(
        "/case/sign-in/", {"reference": reference, "pin": "00000000" if pin != "00000000" else "11111111"}
    )
    wrong_ref = Client().post("/case/sign-in/", {"reference": "TD-0000-0000-0000-0000", "pin": pin})
    assert wrong_pin.status_code == wrong_ref.status_code == 404
    message = "That reference and PIN do not match a case."
    assert message in wrong_pin.content.decode() and message in wrong_ref.content.decode()


def test_pin_lockout_after_five_failures_even_for_the_right_pin(client: Client) -> None:
    reference, pin = open_case(client)
    attacker = Client()
    for _ in range(5):
        assert attacker.post("/case/sign-in/", {"reference": reference, "pin": "12345678"}).status_code == 404
    locked = attacker.post("/case/sign-in/", {"reference": reference, "pin": pin})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    assert "survivor_case" not in attacker.session
    # A reference that does not exist locks the same way, so lockout reveals nothing.
    for _ in range(5):
        attacker.post("/case/sign-in/", {"reference": "TD-ZZZZ-ZZZZ-ZZZZ-ZZZZ", "pin": "12345678"})
    assert attacker.post("/case/sign-in/", {"reference": "TD-ZZZZ-ZZZZ-ZZZZ-ZZZZ", "pin": "1"}).status_code == 429


def test_many_references_from_one_address_are_limited(client: Client) -> None:
    attacker = Client()
    statuses = [
        attacker.post("/case/sign-in/", {"reference": f"TD-AAAA-AAAA-AAAA-{i:04d}", "pin": "12345678"}).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


@override_settings(SURVIVOR_SESSION_IDLE_SECONDS=0)
def test_idle_survivor_session_expires(client: Client) -> None:
    open_case(client)
    response = client.get("/case/")
    assert response.status_code == 302 and response["Location"] == "/case/sign-in/"


def test_an_active_survivor_session_still_ends_after_its_maximum_length(client: Client) -> None:
    from takedown.cases.access import SURVIVOR_SESSION_KEY

    open_case(client)
    assert client.get("/case/").status_code == 200
    session = client.session
    data = session[SURVIVOR_SESSION_KEY]
    data["since"] -= 2 * 3600 + 1  # signed in just over two hours ago, active all along
    session[SURVIVOR_SESSION_KEY] = data
    session.save()
    response = client.get("/case/")
    assert response.status_code == 302 and response["Location"] == "/case/sign-in/"


def test_withdraw_and_delete_everything(client: Client) -> None:
    reference, _pin = open_case(client)
    case_id = Case.objects.get(reference=reference).pk
    assert client.post("/case/withdraw/", {}).status_code == 200  # confirmation needed
    assert Case.objects.filter(pk=case_id).exists()
    response = client.post("/case/withdraw/", {"confirm": "on"})
    assert response.status_code == 200 and "Your case is deleted" in response.content.decode()
    assert Case.objects.get(pk=case_id).status == "withdrawn"  # at once; the rows go in a task
    assert services.case_erase_withdrawn(case_id=case_id)  # what the task runs after commit
    assert not Case.objects.filter(pk=case_id).exists()
    assert not RegisteredHash.objects.filter(case_id=case_id).exists()
    assert AuditEvent.objects.filter(subject_id=str(case_id), action="case.withdrawn").exists()
    assert client.get("/case/").status_code == 302  # signed out


def test_every_survivor_page_has_the_quick_exit(client: Client) -> None:
    open_case(client)
    for path in [
        "/start/",
        "/start/under-18/",
        "/start/safety/",
        "/start/report/",
        "/case/",
        "/case/withdraw/",
        "/case/sign-in/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "data-quick-exit" in response.content.decode(), path


def test_a_bundle_made_by_the_offline_cli_is_accepted(client: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "bundle.json"
    result = subprocess.run(
        [sys.executable, "-m", "takedown.hashing", "hash", str(shared_photo(9)), str(shared_photo(10)), "-o", str(out)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reference, _pin = open_case(client, bundle=out.read_text())
    case = Case.objects.get(reference=reference)
    assert RegisteredHash.objects.filter(case=case).values("item_id").distinct().count() == 2
