"""Deadlines: when a notice's due time passes unanswered, its links are re-checked and, if still
up, the next rung of the ladder is proposed with its draft (time is moved by setting due_at)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from takedown.cases.models import Case, ItemStatus
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckTrigger, ItemCheck, Verdict
from takedown.notices.models import Escalation, EscalationRung, EscalationStatus, Notice, NoticeStatus
from takedown.notices.services import escalation_decide, notice_approve, notice_mark_submitted
from takedown.notices.tasks import deadlines_due
from takedown.organizations.models import Organization
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, urls=["https://x.com/a/status/1"])


def sent_and_overdue(notice: Notice, ticket: str = "T-1") -> Notice:
    if notice.status != NoticeStatus.APPROVED:
        notice = notice_approve(actor=STAFF, notice=notice)
    notice = notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket=ticket)
    Notice.objects.filter(pk=notice.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    return notice


def run_beat(capture: Callable[..., Any]) -> int:
    """One beat run; the re-checks it requests start on commit (run here, in process)."""
    with capture(execute=True):
        return int(deadlines_due.apply().get())


def test_overdue_notice_is_rechecked_then_a_follow_up_is_proposed(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))
    assert run_beat(django_capture_on_commit_callbacks) == 0  # re-check requested, not finished yet
    notice.refresh_from_db()
    assert notice.deadline_recheck_at is not None and notice.deadline_reviewed_at is None
    check = ItemCheck.objects.get(item__case=case)
    # The test suite resolves no names, so the page cannot be reached: that counts as still up.
    assert check.trigger == CheckTrigger.RECHECK and check.verdict == Verdict.UNREACHABLE

    assert run_beat(django_capture_on_commit_callbacks) == 1
    (escalation,) = Escalation.objects.filter(notice=notice)
    assert escalation.rung == EscalationRung.FOLLOW_UP and escalation.status == EscalationStatus.PROPOSED
    draft = escalation.draft_notice
    assert draft is not None and draft.status == NoticeStatus.DRAFT and draft.platform_id == notice.platform_id
    assert "T-1" in draft.details and list(draft.items.all()) == list(notice.items.all())
    assert AuditEvent.objects.filter(action="notice.escalation_proposed", subject_id=str(case.pk)).count() == 1

    assert run_beat(django_capture_on_commit_callbacks) == 0  # reviewed once, proposed once
    assert Escalation.objects.count() == 1

    escalation_decide(actor=STAFF, escalation=escalation, accept=True)
    assert Escalation.objects.get(pk=escalation.pk).status == EscalationStatus.ACCEPTED


def test_the_ladder_climbs_follow_up_hosting_search_regulator(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))
    rungs: list[str] = []
    for step in range(4):
        run_beat(django_capture_on_commit_callbacks)
        run_beat(django_capture_on_commit_callbacks)
        proposed = list(Escalation.objects.filter(notice=notice).order_by("target"))
        assert proposed, step
        rungs.append(proposed[0].rung)
        if proposed[0].rung == EscalationRung.SEARCH_DEINDEX:
            assert [e.target for e in proposed] == ["bing", "google-search"]
            assert all(e.draft_notice and e.draft_notice.platform.slug == e.target for e in proposed)
        if proposed[0].rung == EscalationRung.REGULATOR:
            (regulator,) = proposed
            assert regulator.target == "ftc_take_it_down" and regulator.draft_notice is None
            assert regulator.link == "https://takeitdown.ftc.gov/"
            assert case.reference in regulator.packet and "https://x.com/a/status/1" in regulator.packet
            assert "X (Twitter), TAKE IT DOWN Act, sent" in regulator.packet
            break
        draft = proposed[-1].draft_notice
        assert draft is not None
        notice = sent_and_overdue(draft, ticket=f"T-{step + 2}")
    assert rungs == [
        EscalationRung.FOLLOW_UP,
        EscalationRung.HOSTING_PROVIDER,
        EscalationRung.SEARCH_DEINDEX,
        EscalationRung.REGULATOR,
    ]
    hosting = Escalation.objects.get(rung=EscalationRung.HOSTING_PROVIDER)
    assert "RDAP" in hosting.note


def test_nothing_is_proposed_when_the_content_is_gone(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))
    case.items.update(status=ItemStatus.REMOVED, removed_at=timezone.now())
    assert run_beat(django_capture_on_commit_callbacks) == 1
    notice.refresh_from_db()
    assert notice.deadline_reviewed_at is not None and not Escalation.objects.exists()
    assert AuditEvent.objects.filter(action="notice.deadline_content_gone").count() == 1


def test_answered_and_not_yet_due_notices_are_left_alone(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from takedown.notices.services import notice_record_reply

    notice = approved_notice(case)
    notice = notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="T-9")  # due in 48 hours
    run_beat(django_capture_on_commit_callbacks)
    assert Notice.objects.get(pk=notice.pk).deadline_recheck_at is None
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REJECTED, reason="Not a violation")
    Notice.objects.filter(pk=notice.pk).update(due_at=timezone.now() - timedelta(hours=1))
    run_beat(django_capture_on_commit_callbacks)
    assert Notice.objects.get(pk=notice.pk).deadline_recheck_at is None and not ItemCheck.objects.exists()
