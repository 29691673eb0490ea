"""A lost PIN: an advocate of the case's organisation records identity checks and issues a new PIN,
shown once; the old PIN and every session signed in with it stop working."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from takedown.cases import services
from takedown.cases.models import Case
from takedown.cases.services.signin import IDENTITY_CHECKS, case_access_recover
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput, NotFound
from takedown.core.models import AuditEvent
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client

pytestmark = pytest.mark.django_db


def opened(org: Organization) -> tuple[Case, str]:
    result = services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="Sam",
        jurisdictions=["UK"],
        content_kind="authentic",
        consent_share_hashes=False,
        contact_preference="none",
        contact_email="",
        urls=["https://example.com/a"],
        organization=org,
    )
    return result.case, result.pin


def sign_in(reference: str, pin: str) -> tuple[Client, int]:
    client = Client()
    return client, client.post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code


def test_an_advocate_gives_a_new_pin_after_two_checks_and_the_old_one_stops_working(
    org_a: Organization,
) -> None:
    case, old_pin = opened(org_a)
    survivor, status = sign_in(case.reference, old_pin)
    assert status == 302 and survivor.get("/case/").status_code == 200
    advocate = staff_client(org_a, "adv@a.org")

    page = advocate.get(f"/staff/cases/{case.pk}/new-pin/")
    assert page.status_code == 200
    assert all(str(label) in page.content.decode() for label in IDENTITY_CHECKS.values())

    # One check is not enough: nothing changes.
    too_few = advocate.post(f"/staff/cases/{case.pk}/new-pin/", {"checks": ["case_details"], "confirm": "on"})
    assert too_few.status_code == 400 and "at least 2" in too_few.content.decode()
    assert sign_in(case.reference, old_pin)[1] == 302
    assert not AuditEvent.objects.filter(action="case.access_recovered").exists()

    done = advocate.post(
        f"/staff/cases/{case.pk}/new-pin/", {"checks": ["case_details", "contact_on_file"], "confirm": "on"}
    )
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    new_pin = re.search(r'data-testid="pin">(\d+)<', done.content.decode()).group(1)  # type: ignore[union-attr]
    assert new_pin != old_pin

    # The old PIN no longer opens the case, and the session signed in with it is over.
    assert sign_in(case.reference, old_pin)[1] == 404
    assert survivor.get("/case/")["Location"] == "/case/sign-in/"
    again, status = sign_in(case.reference, new_pin)
    assert status == 302 and again.get("/case/").status_code == 200

    event = AuditEvent.objects.get(action="case.access_recovered", subject_id=case.pk)
    assert event.data == {"checks": ["case_details", "contact_on_file"]}
    assert event.actor_user is not None and event.actor_user.email == "adv@a.org"
    assert new_pin not in str(event.data) and new_pin not in Case.objects.get(pk=case.pk).pin_hash


def test_only_staff_of_the_case_s_organisation_with_listed_checks(org_a: Organization, org_b: Organization) -> None:
    case, _pin = opened(org_a)
    before = Case.objects.get(pk=case.pk).pin_hash
    outsider = staff_client(org_b, "adv@b.org")
    response = outsider.post(
        f"/staff/cases/{case.pk}/new-pin/", {"checks": ["case_details", "contact_on_file"], "confirm": "on"}
    )
    assert response.status_code == 404
    assert Client().post(f"/staff/cases/{case.pk}/new-pin/", {"checks": ["case_details"]}).status_code == 302

    with pytest.raises(NotFound):
        case_access_recover(actor=Actor(kind="survivor", case_id=case.pk), case=case, checks=list(IDENTITY_CHECKS))
    staff = Actor(kind="staff", mfa_verified=True, organization_ids=frozenset({org_a.pk}))
    with pytest.raises(InvalidInput):
        case_access_recover(actor=staff, case=case, checks=["case_details", "asked_their_star_sign"])
    assert Case.objects.get(pk=case.pk).pin_hash == before
    assert not AuditEvent.objects.filter(action="case.access_recovered").exists()


def test_the_sign_in_page_says_how_to_get_help_with_a_lost_pin(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SURVIVOR_HELP_CONTACT = "0800 000 0000"
    html = client.get("/case/sign-in/").content.decode()
    line = html.split('data-testid="lost-pin">')[1].split("</p>")[0]
    assert "advocate" in line and "0800 000 0000" in line
