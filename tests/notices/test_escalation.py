"""The escalation ladder: day-0 steps, the time passing (time is moved by setting due_at), rejections,
disputed removals, and each country's real routes (notices-review.md "Regulators").

Sites are never fetched here (the suite resolves no names): a re-check of an x.com link cannot
reach it, which counts as "still up", as a platform that let its time pass gains nothing from a
blocked check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from takedown.cases.models import Case, ItemStatus
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck, Verdict
from takedown.notices.models import (
    Escalation,
    EscalationReason,
    EscalationRung,
    EscalationStatus,
    Notice,
    NoticeStatus,
)
from takedown.notices.services import (
    deadlines_review,
    escalation_decide,
    notice_approve,
    notice_mark_submitted,
    notice_record_reply,
    notice_send,
)
from takedown.notices.tasks import deadlines_due
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, Intake, Platform, PlatformChannel, PlatformDomain
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


@pytest.fixture
def org(org_a: Organization) -> Organization:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return org_a


@pytest.fixture
def case(org: Organization) -> Case:
    return open_case(organization=org, urls=["https://x.com/a/status/1"])


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


def steps(notice: Notice, reason: str | None = None) -> list[tuple[str, str]]:
    rows = Escalation.objects.filter(notice=notice)
    if reason:
        rows = rows.filter(reason=reason)
    return sorted(rows.values_list("rung", "target"))


# ---------------------------------------------------------------------------------------------------
# Legal deadlines run only through the intake that starts them


def send_by_email(notice: Notice, capture: Callable[..., Any]) -> Notice:
    """Deliver an email notice in process (Django's test mail backend keeps the message)."""
    with capture(execute=True):
        notice_send(actor=STAFF, notice=notice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    return notice


def test_a_notice_through_a_non_designated_channel_has_no_legal_deadline(
    org: Organization, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # X: the TAKE IT DOWN form is X's designated process: the Act's 48 hours run.
    x_notice = sent_and_overdue(approved_notice(open_case(organization=org, urls=["https://x.com/a/status/1"])))
    x_notice.refresh_from_db()
    assert x_notice.intake == Intake.TIDA_PROCESS and x_notice.legal_deadline
    assert x_notice.content_json["basis"]["legal_deadline_hours"] == 48
    assert "no later than 48 hours after receiving this request, as Section 3(a)(3) requires" in (
        x_notice.content_text or ""
    )

    # Telegram: only a general abuse address. Same law, no legal deadline: a follow-up window.
    telegram = approved_notice(open_case(organization=org, urls=["https://t.me/somechannel/12"]))
    assert telegram.basis == b.US_TAKE_IT_DOWN and telegram.intake == Intake.ABUSE_EMAIL
    telegram = send_by_email(telegram, django_capture_on_commit_callbacks)
    assert not telegram.legal_deadline and telegram.sent_at is not None and telegram.due_at is not None
    assert telegram.due_at - telegram.sent_at == timedelta(days=7)
    assert telegram.content_json["basis"]["legal_deadline_hours"] is None
    text = telegram.content_text or ""
    assert "48 hours" not in text and "does not reach you through a designated TAKE IT DOWN process" in text

    # The UK's 48-hour duty has no confirmed start: never a legal deadline, never stated as in force.
    uk = approved_notice(open_case(organization=org, jurisdictions=["UK"], urls=["https://x.com/b/status/2"]))
    uk = notice_mark_submitted(actor=STAFF, notice=uk, platform_ticket="UK-1")
    assert uk.basis == b.UK_OSA and not uk.legal_deadline and uk.due_at - uk.sent_at == timedelta(days=7)  # type: ignore[operator]
    assert "whose start date we have not been able to confirm" in (uk.content_text or "")


def test_india_s_reported_two_hours_run_only_for_the_grievance_officer(
    org: Organization, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    platform = Platform.objects.create(
        slug="desi-video", name="Desi Video", serves=["IN"], supported_bases=[b.IN_IT_RULES]
    )
    PlatformDomain.objects.create(platform=platform, domain="desi-video.example")
    PlatformChannel.objects.create(
        platform=platform,
        kind=ChannelKind.WEB_FORM,
        address="https://desi-video.example/report",
        intake=Intake.POLICY_FORM,
    )
    officer = PlatformChannel.objects.create(
        platform=platform,
        kind=ChannelKind.EMAIL,
        address="grievance@desi-video.example",
        intake=Intake.GRIEVANCE_OFFICER,
        position=5,
    )
    case = open_case(organization=org, jurisdictions=["IN"], urls=["https://desi-video.example/v/1"])
    notice = approved_notice(case)
    assert notice.recipient == officer.address and notice.intake == Intake.GRIEVANCE_OFFICER
    notice = send_by_email(notice, django_capture_on_commit_callbacks)
    assert notice.legal_deadline and notice.due_at - notice.sent_at == timedelta(hours=2)  # type: ignore[operator]
    text = notice.content_text or ""
    assert text.startswith("Non-consensual intimate image of an adult, real or AI-generated: please remove globally")
    assert "the Grievance Officer of Desi Video" in text and "as amended in 2026 (G.S.R. 120(E))" in text
    assert "2 hours" not in text and "24 hours" not in text  # a reported number is never asserted


# ---------------------------------------------------------------------------------------------------
# Day 0


def test_sending_proposes_search_deindexing_at_once_for_links_not_yet_proposed(case: Case) -> None:
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    assert steps(notice) == [
        (EscalationRung.SEARCH_DEINDEX, "bing"),
        (EscalationRung.SEARCH_DEINDEX, "google-search"),
    ]
    for escalation in Escalation.objects.filter(notice=notice):
        assert escalation.reason == EscalationReason.SENT and escalation.draft_notice is not None
        draft = escalation.draft_notice
        assert draft.platform.slug == escalation.target and draft.status == NoticeStatus.DRAFT
        # Search engines are not TAKE IT DOWN covered platforms (Sec. 4(3)): the policy is the basis.
        assert draft.basis == b.PLATFORM_POLICY and list(draft.items.all()) == list(notice.items.all())
    # The de-indexing notices themselves propose nothing more; the links are covered.
    google = Escalation.objects.get(notice=notice, target="google-search").draft_notice
    assert google is not None
    google = notice_mark_submitted(actor=STAFF, notice=notice_approve(actor=STAFF, notice=google), platform_ticket="G")
    assert steps(google) == []


# ---------------------------------------------------------------------------------------------------
# Regulators: only the real ones


def regulator_targets(case: Case) -> set[str]:
    return set(
        Escalation.objects.filter(
            notice__case=case, rung__in=[EscalationRung.REGULATOR, EscalationRung.HELPLINE, EscalationRung.POLICE]
        ).values_list("target", flat=True)
    )


def climb(notice: Notice, capture: Callable[..., Any], rounds: int) -> Notice:
    """Let `rounds` due times pass, sending each proposed follow-up or hosting draft in turn."""
    for step in range(rounds):
        run_beat(capture)
        run_beat(capture)
        nxt = (
            Escalation.objects.filter(
                notice=notice, rung__in=[EscalationRung.FOLLOW_UP, EscalationRung.HOSTING_PROVIDER]
            )
            .exclude(draft_notice=None)
            .first()
        )
        if nxt is None or nxt.draft_notice is None:
            break
        notice = sent_and_overdue(nxt.draft_notice, ticket=f"T-{step + 2}")
    return notice


def test_a_uk_case_never_reaches_esafety_and_an_au_case_starts_there(
    org: Organization, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    uk = open_case(organization=org, jurisdictions=["UK"], urls=["https://x.com/uk/status/1"])
    notice = sent_and_overdue(approved_notice(uk))
    assert regulator_targets(uk) == set()  # nothing on day 0 for the UK
    climb(notice, django_capture_on_commit_callbacks, rounds=3)
    # X hosts its own content: no hosting step; then the UK's real routes, never eSafety.
    assert not Escalation.objects.filter(notice__case=uk, rung=EscalationRung.HOSTING_PROVIDER).exists()
    assert regulator_targets(uk) == {"uk_rph", "uk_police"}
    rph = Escalation.objects.get(notice__case=uk, target="uk_rph")
    assert "0345 6000 459" in rph.packet and "https://x.com/uk/status/1" in rph.packet
    assert "esafety" not in str(list(Escalation.objects.values_list("target", "link", "packet")))

    for where in (["IN"], ["BR"], ["other"], ["EU"]):
        other = open_case(organization=org, jurisdictions=where, urls=[f"https://x.com/{where[0]}/status/9"])
        climb(sent_and_overdue(approved_notice(other)), django_capture_on_commit_callbacks, rounds=3)
        assert "esafety" not in regulator_targets(other), where

    au = open_case(organization=org, jurisdictions=["AU"], urls=["https://x.com/au/status/1"])
    first = approved_notice(au)
    assert first.basis == b.AU_OSA
    first = notice_mark_submitted(actor=STAFF, notice=first, platform_ticket="AU-1")
    # The first notice's sending proposes eSafety at once: for Australians it is the first step.
    esafety = Escalation.objects.get(notice=first, target="esafety")
    assert esafety.reason == EscalationReason.SENT and esafety.rung == EscalationRung.REGULATOR
    assert esafety.link == "https://www.esafety.gov.au/report/image-based-abuse"
    assert "24 hours" in esafety.packet and "https://x.com/au/status/1" in esafety.packet
    assert au.reference not in esafety.packet
    text = first.content_text or ""
    assert "Online Safety Act 2021 (Cth), section 75" in text and "section 77" in text


def test_the_ftc_is_proposed_when_the_designated_48_hours_pass(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))  # X's designated TAKE IT DOWN form
    run_beat(django_capture_on_commit_callbacks)
    assert run_beat(django_capture_on_commit_callbacks) == 1
    overdue = steps(notice, EscalationReason.OVERDUE)
    assert overdue == [(EscalationRung.FOLLOW_UP, "x"), (EscalationRung.REGULATOR, "ftc_take_it_down")]
    ftc = Escalation.objects.get(notice=notice, target="ftc_take_it_down")
    assert ftc.link == "https://takeitdown.ftc.gov/" and "legal deadline" in ftc.packet

    # Through an abuse address only, the FTC is not proposed: no request went through the process.
    telegram = open_case(organization=case.organization, urls=["https://t.me/c/1"])
    other = send_by_email(approved_notice(telegram), django_capture_on_commit_callbacks)
    Notice.objects.filter(pk=other.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    run_beat(django_capture_on_commit_callbacks)
    run_beat(django_capture_on_commit_callbacks)
    follow_up = Escalation.objects.get(notice=other, rung=EscalationRung.FOLLOW_UP).draft_notice
    assert follow_up is not None
    follow_up = send_by_email(notice_approve(actor=STAFF, notice=follow_up), django_capture_on_commit_callbacks)
    Notice.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    run_beat(django_capture_on_commit_callbacks)
    run_beat(django_capture_on_commit_callbacks)
    # Telegram hosts its own content: the routes come next, and the FTC is not among them.
    assert Notice.objects.get(pk=follow_up.pk).deadline_reviewed_at is not None
    assert not Escalation.objects.filter(notice=follow_up, rung=EscalationRung.HOSTING_PROVIDER).exists()
    assert "ftc_take_it_down" not in regulator_targets(telegram)


def test_overdue_notice_is_rechecked_then_a_follow_up_is_proposed(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))
    assert run_beat(django_capture_on_commit_callbacks) == 0  # re-check requested, not finished yet
    notice.refresh_from_db()
    assert notice.deadline_recheck_at is not None and notice.deadline_reviewed_at is None
    check = ItemCheck.objects.get(item__case=case, trigger=CheckTrigger.RECHECK)
    assert check.verdict == Verdict.UNREACHABLE

    assert run_beat(django_capture_on_commit_callbacks) == 1
    escalation = Escalation.objects.get(notice=notice, rung=EscalationRung.FOLLOW_UP)
    assert escalation.status == EscalationStatus.PROPOSED and escalation.reason == EscalationReason.OVERDUE
    draft = escalation.draft_notice
    assert draft is not None and draft.status == NoticeStatus.DRAFT and draft.platform_id == notice.platform_id
    assert "T-1" in draft.details and notice.reference in draft.details
    assert list(draft.items.all()) == list(notice.items.all())
    assert AuditEvent.objects.filter(action="notice.escalation_proposed", subject_id=str(case.pk)).count() == 2

    before = Escalation.objects.count()
    assert run_beat(django_capture_on_commit_callbacks) == 0  # reviewed once, proposed once
    assert Escalation.objects.count() == before

    escalation_decide(actor=STAFF, escalation=escalation, accept=True)
    assert Escalation.objects.get(pk=escalation.pk).status == EscalationStatus.ACCEPTED


def test_nothing_is_proposed_when_the_content_is_gone(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = sent_and_overdue(approved_notice(case))
    case.items.update(status=ItemStatus.REMOVED, removed_at=timezone.now())
    assert run_beat(django_capture_on_commit_callbacks) == 1
    notice.refresh_from_db()
    assert notice.deadline_reviewed_at is not None
    assert steps(notice, EscalationReason.OVERDUE) == []
    assert AuditEvent.objects.filter(action="notice.deadline_content_gone").count() == 1


def test_answered_and_not_yet_due_notices_are_left_alone(
    case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notice = approved_notice(case)
    notice = notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="T-9")  # due in 48 hours
    run_beat(django_capture_on_commit_callbacks)
    assert Notice.objects.get(pk=notice.pk).deadline_recheck_at is None
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REJECTED, reason="Not a violation")
    Notice.objects.filter(pk=notice.pk).update(due_at=timezone.now() - timedelta(hours=1))
    run_beat(django_capture_on_commit_callbacks)
    assert Notice.objects.get(pk=notice.pk).deadline_recheck_at is None and not ItemCheck.objects.exists()


# ---------------------------------------------------------------------------------------------------
# Rejected; "removed" but still there


def test_a_rejected_notice_proposes_the_appeal_a_refile_and_the_dispute_routes(org: Organization) -> None:
    case = open_case(organization=org, jurisdictions=["EU"], urls=["https://www.tiktok.com/@a/video/1"])
    notice = approved_notice(case)
    assert notice.basis == b.EU_DSA and notice.intake == Intake.DSA_FORM
    notice = notice_mark_submitted(actor=STAFF, notice=notice, platform_ticket="TT-9")
    notice_record_reply(
        actor=STAFF, notice=notice, outcome=NoticeStatus.REJECTED, reason="We could not find the content."
    )
    rejected = steps(notice, EscalationReason.REJECTED)
    assert rejected == [
        (EscalationRung.APPEAL, "tiktok"),
        (EscalationRung.REFILE, "tiktok"),
        (EscalationRung.REGULATOR, "eu_dsc"),
        (EscalationRung.REGULATOR, "eu_ods"),
    ]
    appeal = Escalation.objects.get(notice=notice, rung=EscalationRung.APPEAL)
    assert appeal.draft_notice is not None and appeal.draft_notice.platform.slug == "tiktok"
    assert "Article 20 of the Digital Services Act" in appeal.draft_notice.details
    assert "We could not find the content." in appeal.draft_notice.details and "TT-9" in appeal.draft_notice.details
    assert appeal.draft_notice.member_state == "DE"  # carried over, so the appeal still names the offence
    refile = Escalation.objects.get(notice=notice, rung=EscalationRung.REFILE)
    assert refile.draft_notice is not None and "direct link" in refile.note
    ods = Escalation.objects.get(notice=notice, target="eu_ods")
    assert "We could not find the content." in ods.packet and notice.reference in ods.packet
    assert AuditEvent.objects.filter(action="notice.escalation_proposed", data__reason="rejected").count() == 1


def test_removed_but_still_found_is_flagged_and_escalated(case: Case) -> None:
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    item = case.items.get()
    case.items.update(status=ItemStatus.LIVE)
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REMOVED)
    # The reply asked for a re-check (it runs on commit); nothing is decided before it is in.
    recheck = ItemCheck.objects.get(item=item, trigger=CheckTrigger.RECHECK)
    assert deadlines_review() == 0
    ItemCheck.objects.filter(pk=recheck.pk).update(
        state=CheckState.DONE, verdict=Verdict.MATCH, finished_at=timezone.now() + timedelta(seconds=1)
    )
    assert deadlines_review() == 1
    notice.refresh_from_db()
    assert notice.removal_disputed_at is not None and notice.removal_verified_at is None
    flagged = AuditEvent.objects.get(action="item.removal_disputed", subject_id=str(case.pk))
    assert flagged.data == {"item_id": item.pk, "notice_id": notice.pk}
    disputed = Escalation.objects.get(notice=notice, reason=EscalationReason.DISPUTED, rung=EscalationRung.FOLLOW_UP)
    assert disputed.draft_notice is not None and "still finds it" in disputed.draft_notice.details
    assert deadlines_review() == 0  # decided once


def test_removed_and_gone_is_verified(case: Case) -> None:
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    notice_record_reply(actor=STAFF, notice=notice, outcome=NoticeStatus.REMOVED)
    ItemCheck.objects.filter(item__case=case, trigger=CheckTrigger.RECHECK).update(
        state=CheckState.DONE, verdict=Verdict.REMOVED, finished_at=timezone.now() + timedelta(seconds=1)
    )
    case.items.update(status=ItemStatus.REMOVED)
    assert deadlines_review() == 1
    notice.refresh_from_db()
    assert notice.removal_verified_at is not None and notice.removal_disputed_at is None
    assert not Escalation.objects.filter(notice=notice, reason=EscalationReason.DISPUTED).exists()
