"""A survivor reads and approves a removal request an advocate prepared, from their case page."""

from __future__ import annotations

import pytest
from django.test import Client

from takedown.core.access import Actor
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.services import notice_draft, notice_mark_ready
from tests.notices.conftest import open_case

pytestmark = pytest.mark.django_db


def survivor_client(case_id: int) -> tuple[Client, str]:
    """A client signed in to the case with a PIN set for the test."""
    from django.contrib.auth.hashers import make_password

    from takedown.cases.models import Case

    Case.objects.filter(pk=case_id).update(pin_hash=make_password("12345678"))
    case = Case.objects.get(pk=case_id)
    client = Client()
    assert client.post("/case/sign-in/", {"reference": case.reference, "pin": "12345678"}).status_code == 302
    return client, case.reference


def ready_notice(case_id: int) -> Notice:
    from takedown.cases.models import Case

    case = Case.objects.get(pk=case_id)
    staff = Actor(kind="staff", mfa_verified=True)
    notice = notice_draft(actor=staff, case=case, items=list(case.items.all()))
    return notice_mark_ready(actor=staff, notice=notice)


def helpline() -> object:
    from takedown.organizations.services import organization_create

    return organization_create(
        actor=Actor.system(),
        name="Helpline",
        slug="helpline",
        kind="helpline",
        notice_contact_email="n@helpline.example",
    )


def test_survivor_reads_and_approves_a_ready_request(registry: None) -> None:
    case = open_case(organization=helpline())  # type: ignore[arg-type]
    notice = ready_notice(case.pk)
    client, _ref = survivor_client(case.pk)
    page = client.get("/case/").content.decode()
    assert "Approve this request" in page and "https://x.com/someone/status/1" in page
    assert client.post(f"/case/requests/{notice.pk}/approve/").status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.APPROVED and notice.approved_by_id is None


def test_survivor_cannot_approve_a_draft_or_another_cases_request(registry: None) -> None:
    org = helpline()
    mine = open_case(organization=org)  # type: ignore[arg-type]
    other = open_case(organization=org, urls=("https://x.com/other/status/2",))  # type: ignore[arg-type]
    draft = notice_draft(actor=Actor(kind="staff", mfa_verified=True), case=mine, items=list(mine.items.all()))
    foreign = ready_notice(other.pk)
    client, _ref = survivor_client(mine.pk)
    client.post(f"/case/requests/{draft.pk}/approve/")
    assert Notice.objects.get(pk=draft.pk).status == NoticeStatus.DRAFT
    response = client.post(f"/case/requests/{foreign.pk}/approve/")
    assert response.status_code == 404
    assert Notice.objects.get(pk=foreign.pk).status == NoticeStatus.READY
    assert Client().post(f"/case/requests/{foreign.pk}/approve/").status_code == 302  # anonymous: sign in
    assert Notice.objects.get(pk=foreign.pk).status == NoticeStatus.READY


def test_survivor_sees_where_sent_requests_stand(registry: None) -> None:
    from takedown.notices.services import notice_approve, notice_mark_sent

    case = open_case(organization=helpline())  # type: ignore[arg-type]
    staff = Actor(kind="staff", mfa_verified=True)
    notice = notice_approve(actor=staff, notice=ready_notice(case.pk))
    notice_mark_sent(actor=staff, notice=notice)
    client, _ref = survivor_client(case.pk)
    page = client.get("/case/").content.decode()
    assert "Removal requests made for you" in page and "X (Twitter)" in page and "Sent" in page
