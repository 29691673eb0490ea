"""The second-person approval loop, end to end over HTTP: an advocate asks, the survivor answers on
their case page, and the advocate sees the answer on the notice, the case page and the caseload."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.notices.models import Notice, NoticeStatus, SurvivorAnswer
from takedown.notices.services import notice_approve, notice_decline, notice_draft, notice_mark_ready
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client
from tests.notices.conftest import open_case

pytestmark = pytest.mark.django_db

COMMENT = "Please leave out the second link, it is my old account."


def survivor_client(case: Case) -> Client:
    Case.objects.filter(pk=case.pk).update(pin_hash=make_password("12345678"))
    client = Client()
    assert client.post("/case/sign-in/", {"reference": case.reference, "pin": "12345678"}).status_code == 302
    return client


@pytest.fixture
def helpline(org_a: Organization) -> Organization:
    org_a.notice_contact_email = "notices@helpline.example.org"
    org_a.save(update_fields=["notice_contact_email"])
    return org_a


def drafted(case: Case, advocate: Client) -> Notice:
    """A notice drafted through the page (so its drafter is the signed-in advocate)."""
    item = case.items.get()
    response = advocate.post(f"/staff/cases/{case.pk}/notices/new/", {"items": [item.pk], "basis": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Notice.objects.get(case=case)


def test_advocate_asks_survivor_declines_then_approves(registry: None, helpline: Organization) -> None:
    case = open_case(organization=helpline)
    advocate = staff_client(helpline, "adv@helpline.example")
    notice = drafted(case, advocate)
    page = advocate.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").content.decode()
    assert "Ask the survivor to approve it" in page
    # No button that would be refused: the drafter is told a second person approves it.
    assert "Approve this notice" not in page and 'data-testid="second-person"' in page
    other = staff_client(helpline, "second@helpline.example")
    assert "Approve this notice" in other.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").content.decode()

    # The drafter cannot approve alone (no hash match backs it): the survivor is the second person.
    advocate.post(f"/staff/cases/{case.pk}/notices/{notice.pk}/approve/")
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT
    assert advocate.post(f"/staff/cases/{case.pk}/notices/{notice.pk}/ask/").status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.READY, SurvivorAnswer.ASKED)
    assert AuditEvent.objects.filter(action="notice.approval_requested", subject_id=str(case.pk)).count() == 1
    caseload = advocate.get("/staff/cases/").content.decode()
    assert "Waiting for the survivor&#x27;s answer" in caseload or "Waiting for the survivor's answer" in caseload

    survivor = survivor_client(case)
    home = survivor.get("/case/").content.decode()
    assert "Approve this request" in home and "Decline this request" in home
    response = survivor.post(f"/case/requests/{notice.pk}/decline/", {"comment": COMMENT})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.DRAFT, SurvivorAnswer.DECLINED)
    assert notice.survivor_comment == COMMENT
    # What the survivor wrote is never in the audit trail.
    declined = AuditEvent.objects.get(action="notice.approval_declined", subject_id=str(case.pk))
    assert COMMENT not in str(declined.data) and declined.data["with_message"] is True
    assert "You said no to the request to X" in survivor.get("/case/").content.decode()

    # The advocate sees the answer everywhere, and cannot override it.
    page = advocate.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").content.decode()
    assert "The survivor declined this notice" in page and "leave out the second link" in page
    assert "Ask the survivor again" in page and "Approve this notice" not in page
    assert "The survivor declined a request" in advocate.get(f"/staff/cases/{case.pk}/").content.decode()
    assert "The survivor declined a request" in advocate.get("/staff/cases/").content.decode()
    advocate.post(f"/staff/cases/{case.pk}/notices/{notice.pk}/approve/")
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT

    # Asked again, the survivor approves; the advocate sees it and can send.
    advocate.post(f"/staff/cases/{case.pk}/notices/{notice.pk}/ask/")
    assert Notice.objects.get(pk=notice.pk).survivor_comment == ""
    assert survivor.post(f"/case/requests/{notice.pk}/approve/").status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.APPROVED, SurvivorAnswer.APPROVED)
    page = advocate.get(f"/staff/cases/{case.pk}/notices/{notice.pk}/").content.decode()
    assert "The survivor approved this notice" in page, page[page.find("<main") :][:3000]
    assert "Send this notice" in page or "form packet" in page
    assert "The survivor approved a request: send it" in advocate.get("/staff/cases/").content.decode()


def test_decline_is_refused_to_others_and_out_of_turn(registry: None, helpline: Organization) -> None:
    staff = Actor(kind="staff", mfa_verified=True)
    mine = open_case(organization=helpline)
    other = open_case(organization=helpline, urls=("https://x.com/other/status/2",))
    draft = notice_draft(actor=staff, case=mine, items=list(mine.items.all()))
    foreign = notice_mark_ready(
        actor=staff, notice=notice_draft(actor=staff, case=other, items=list(other.items.all()))
    )
    survivor = survivor_client(mine)
    survivor.post(f"/case/requests/{draft.pk}/decline/", {"comment": "no"})
    assert Notice.objects.get(pk=draft.pk).survivor_answer == ""  # not asked: nothing to decline
    assert survivor.post(f"/case/requests/{foreign.pk}/decline/").status_code == 404
    assert Client().post(f"/case/requests/{foreign.pk}/decline/").status_code == 302  # anonymous: sign in
    assert staff_client(None, "outsider@example.org").post(
        f"/staff/cases/{other.pk}/notices/{foreign.pk}/ask/"
    ).status_code in {302, 403, 404}
    foreign.refresh_from_db()
    assert (foreign.status, foreign.survivor_answer) == (NoticeStatus.READY, SurvivorAnswer.ASKED)
    # The service refuses an advocate declining for the survivor, and a survivor asking.
    with pytest.raises(Exception, match="Only the survivor"):
        notice_decline(actor=staff, notice=foreign)
    with pytest.raises(Exception, match="Only an advocate"):
        notice_mark_ready(actor=Actor(kind="survivor", case_id=mine.pk), notice=draft)
    too_long = survivor_client(other).post(f"/case/requests/{foreign.pk}/decline/", {"comment": "x" * 2001})
    assert too_long.status_code == 302
    assert Notice.objects.get(pk=foreign.pk).status == NoticeStatus.READY


def test_another_advocate_approving_ends_the_ask(registry: None, helpline: Organization) -> None:
    staff = Actor(kind="staff", mfa_verified=True)
    case = open_case(organization=helpline)
    notice = notice_mark_ready(actor=staff, notice=notice_draft(actor=staff, case=case, items=list(case.items.all())))
    notice = notice_approve(actor=staff, notice=notice)
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.APPROVED, "")
    assert "Approve this request" not in survivor_client(case).get("/case/").content.decode()


def test_changing_the_contact_after_approving_asks_the_survivor_again(registry: None, helpline: Organization) -> None:
    from takedown.cases.models import ContactPreference
    from takedown.notices.services import notice_contact_choose

    staff = Actor(kind="staff", mfa_verified=True)
    case = open_case(organization=helpline, contact_preference=ContactPreference.EMAIL, contact_email="sam@example.net")
    survivor = Actor(kind="survivor", case_id=case.pk)
    notice = notice_mark_ready(actor=staff, notice=notice_draft(actor=staff, case=case, items=list(case.items.all())))
    notice = notice_approve(actor=survivor, notice=notice)
    assert notice.survivor_answer == SurvivorAnswer.APPROVED
    notice = notice_contact_choose(actor=survivor, notice=notice, use_own_email=True)
    assert (notice.status, notice.survivor_answer) == (NoticeStatus.READY, SurvivorAnswer.ASKED)
    assert "Approve this request" in survivor_client(case).get("/case/").content.decode()
