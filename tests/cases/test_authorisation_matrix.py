"""Every case view, every kind of caller: only the allowed one gets through, and refusals change nothing.

Callers: anonymous; the survivor of another case; an advocate of another organisation; a signed-in
user with MFA but no organisation (the stand-in for a platform account until the platform API
issue adds real ones); and the allowed caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from takedown.cases import services
from takedown.cases.models import Case, CaseNote, FaceTemplate, ItemStatus, RegisteredHash, ReportedItem
from takedown.core.access import Actor
from takedown.matching.models import ItemCheck
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Case.objects.values_list("pk", "status", "assignee_id", "contact_preference", "risk_doxxing")),
        sorted(str(c.police_reference) for c in Case.objects.all()),
        CaseNote.objects.count(),
        ItemCheck.objects.count(),
        sorted(ReportedItem.objects.values_list("pk", "status")),
        RegisteredHash.objects.count(),
        FaceTemplate.objects.count(),
    )


def survivor_client(reference: str, pin: str) -> Client:
    client = Client()
    assert client.post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code == 302
    return client


STAFF_REQUESTS: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
    ("get", "/staff/cases/{id}/", lambda _u: {}),
    ("post", "/staff/cases/{id}/notes/", lambda _u: {"body": "x"}),
    ("post", "/staff/cases/{id}/assign/", lambda u: {"assignee": u}),
    ("post", "/staff/cases/{id}/status/", lambda _u: {"status": "closed"}),
    ("post", "/staff/cases/{id}/details/", lambda _u: {"police_reference": "PR-1", "risk_doxxing": "on"}),
    ("post", "/staff/cases/bulk/", lambda u: {"case_ids": ["{id}"], "action": "close"}),
    ("get", "/staff/cases/{id}/items/{item}/", lambda _u: {}),
    ("post", "/staff/cases/{id}/items/{item}/check/", lambda _u: {}),
    ("get", "/staff/cases/{id}/evidence.json", lambda _u: {}),
    ("post", "/staff/cases/{id}/items/{item}/review/", lambda _u: {"decision": "dismiss"}),
]


@pytest.fixture
def world(org_a: Organization, org_b: Organization) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    target = services.case_open(
        actor=Actor.system(), signature_name="T", organization=org_a, urls=["https://a.example/1"]
    )
    other = services.case_open(
        actor=Actor.system(), signature_name="O", organization=org_b, urls=["https://b.example/1"]
    )
    # The target's link waits for review (detectors flagged it), so the review endpoint can act.
    ReportedItem.objects.filter(case=target.case).update(status=ItemStatus.NEEDS_REVIEW)
    callers = {
        "anonymous": Client(),
        "other_survivor": survivor_client(other.case.reference, other.pin),
        "other_org_advocate": staff_client(org_b, "adv@b.org"),
        "no_org_user": staff_client(None, "platform@example.org"),
    }
    allowed = staff_client(org_a, "adv@a.org")
    return {
        "target": target.case,
        "callers": callers,
        "allowed": allowed,
        "allowed_user_id": get_user_model().objects.get(email="adv@a.org").pk,
    }


@pytest.mark.parametrize(("method", "path", "data"), STAFF_REQUESTS)
@pytest.mark.parametrize("caller", ["anonymous", "other_survivor", "other_org_advocate", "no_org_user"])
def test_staff_case_views_refuse_everyone_else(
    world: dict[str, Any], caller: str, method: str, path: str, data: Callable[[int], dict[str, Any]]
) -> None:
    case = world["target"]
    payload = {k: ([str(case.pk)] if v == ["{id}"] else v) for k, v in data(world["allowed_user_id"]).items()}
    before = snapshot()
    item = case.items.first()
    response = getattr(world["callers"][caller], method)(path.format(id=case.pk, item=item.pk), payload)
    if caller in {"anonymous", "other_survivor"}:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    elif caller == "no_org_user":
        assert response.status_code == 403
    elif path.endswith("bulk/"):
        assert response.status_code == 302  # the bulk action silently skips cases it cannot reach
    else:
        assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "data"), STAFF_REQUESTS)
def test_staff_case_views_allow_the_organisation(
    world: dict[str, Any], method: str, path: str, data: Callable[[int], dict[str, Any]]
) -> None:
    case = world["target"]
    payload = {k: ([str(case.pk)] if v == ["{id}"] else v) for k, v in data(world["allowed_user_id"]).items()}
    before = snapshot()
    item = case.items.first()
    response = getattr(world["allowed"], method)(path.format(id=case.pk, item=item.pk), payload)
    assert response.status_code in {200, 302}
    if method == "post":
        assert snapshot() != before


@pytest.mark.parametrize("caller", ["anonymous", "other_org_advocate", "no_org_user"])
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/case/", {}),
        ("post", "/case/links/", {"urls": "https://new.example/x"}),
        ("post", "/case/contact/", {"contact_preference": "email", "contact_email": "x@example.org"}),
        ("post", "/case/withdraw/", {"confirm": "on"}),
        ("post", "/case/faces/", {"action": "off", "confirm": "on"}),
        ("post", "/case/links/{item}/review/", {"decision": "confirm"}),
    ],
)
def test_survivor_views_need_the_survivor_session(
    world: dict[str, Any], caller: str, method: str, path: str, data: dict[str, str]
) -> None:
    before = snapshot()
    item = world["target"].items.first()
    response = getattr(world["callers"][caller], method)(path.format(item=item.pk), data)
    assert response.status_code == 302 and response["Location"] == "/case/sign-in/"
    assert snapshot() == before


def test_other_survivor_changes_only_their_own_case(world: dict[str, Any]) -> None:
    target = world["target"]
    before_items = ReportedItem.objects.filter(case=target).count()
    client = world["callers"]["other_survivor"]
    assert client.post("/case/links/", {"urls": "https://new.example/x"}).status_code == 302
    assert ReportedItem.objects.filter(case=target).count() == before_items
    assert target.reference not in client.get("/case/").content.decode()


def test_case_ids_that_do_not_exist_look_like_forbidden_ones(world: dict[str, Any]) -> None:
    allowed = world["allowed"]
    missing = allowed.get("/staff/cases/999999/")
    other = world["callers"]["other_org_advocate"].get(f"/staff/cases/{world['target'].pk}/")
    assert missing.status_code == other.status_code == 404
    assert missing.content.decode().count("We could not find that case.") == 1


def test_another_survivor_cannot_review_this_cases_link(world: dict[str, Any]) -> None:
    item = world["target"].items.first()
    before = snapshot()
    response = world["callers"]["other_survivor"].post(f"/case/links/{item.pk}/review/", {"decision": "confirm"})
    assert response.status_code == 404
    assert snapshot() == before
