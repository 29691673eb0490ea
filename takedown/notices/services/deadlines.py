"""Deadlines: re-check when a notice's time passes, then propose the next step; verify "removed".

Every sent notice has a due time: its legal deadline when it went through the intake that starts
one, else its platform's follow-up window. When it passes unanswered, the links are re-checked and,
if the content is still up, the next step of the ladder is proposed (`escalation`). A platform's
"removed" is re-checked too: confirmed, or flagged as disputed and escalated.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import CaseStatus, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict
from takedown.core.models import ActorKind
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck
from takedown.matching.services import item_check_request
from takedown.notices.models import Escalation, EscalationStatus, Notice, NoticeStatus
from takedown.notices.services._base import notice_audit
from takedown.notices.services.drafting import last_address
from takedown.notices.services.escalation import (
    escalations_on_dispute,
    escalations_on_overdue,
    hosting_step_due,
)
from takedown.registry.services import HostingRoute, hosting_route

# A final reply ends the clock; these are the notices whose deadline can pass unanswered.
_AWAITING = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.NEEDS_INFO)

# Item states that count as "still up" at the deadline: seen there, or the check could not tell.
_STILL_UP = (ItemStatus.LIVE, ItemStatus.UNREACHABLE, ItemStatus.REPORTED, ItemStatus.CHECKING)

_ACTIVE_CASES = [CaseStatus.OPEN, CaseStatus.IN_PROGRESS]


def deadlines_review(*, now: datetime | None = None, limit: int = 200) -> int:
    """The beat task's body: overdue notices get their items re-checked, then a next step proposed;
    notices a platform marked removed are verified against their re-check.

    Two passes for overdue notices: first every newly overdue notice has its items re-checked (each
    in its own transaction, so the checks start on commit); then every notice whose re-check is
    done, or waited for long enough (or could not run), is reviewed. Returns how many were reviewed
    (overdue notices decided plus removals verified or disputed).
    """
    moment = now or timezone.now()
    overdue = Notice.objects.filter(
        status__in=_AWAITING,
        due_at__lt=moment,
        deadline_reviewed_at__isnull=True,
        case__status__in=_ACTIVE_CASES,
    ).order_by("due_at")
    for notice_id in list(overdue.filter(deadline_recheck_at__isnull=True).values_list("pk", flat=True)[:limit]):
        notice_deadline_recheck(notice_id=notice_id, now=moment)
    reviewed = 0
    for notice_id in list(overdue.filter(deadline_recheck_at__isnull=False).values_list("pk", flat=True)[:limit]):
        reviewed += int(notice_deadline_review(notice_id=notice_id, now=moment))
    removed = Notice.objects.filter(
        status=NoticeStatus.REMOVED,
        replied_at__isnull=False,
        removal_verified_at__isnull=True,
        removal_disputed_at__isnull=True,
        case__status__in=_ACTIVE_CASES,
    ).order_by("replied_at")
    for notice_id in list(removed.values_list("pk", flat=True)[:limit]):
        reviewed += int(notice_removal_review(notice_id=notice_id, now=moment))
    return reviewed


@transaction.atomic
def notice_deadline_recheck(*, notice_id: int, now: datetime) -> None:
    """Ask for a re-check of the overdue notice's items (the checks run on commit)."""
    notice = Notice.objects.select_for_update(of=("self",)).select_related("case__organization").get(pk=notice_id)
    if notice.deadline_recheck_at is not None:
        return
    items = list(notice.items.exclude(status=ItemStatus.REMOVED))
    for item in items:
        item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    notice.deadline_recheck_at = now
    notice.save(update_fields=["deadline_recheck_at", "updated_at"])
    notice_audit(
        Actor.system(), notice, "notice.overdue", {"rechecks": len(items), "legal_deadline": notice.legal_deadline}
    )


def notice_deadline_review(*, notice_id: int, now: datetime) -> bool:
    """Decide an overdue notice once its re-check is in: content gone, or propose the next step.

    A check still running is waited for up to NOTICES_RECHECK_WAIT_MINUTES; after that (or when
    the check could not reach the page) the content counts as still up, because a platform that
    let its time pass should not gain time from a slow or blocked check. When the next step is the
    hosting provider, it is looked up first, outside the transaction (a network call).
    """
    route: HostingRoute | None = None
    notice = Notice.objects.select_related("platform").filter(pk=notice_id).first()
    pending = notice is not None and notice.deadline_reviewed_at is None
    if notice is not None and pending and hosting_step_due(notice):
        up = [i for i in notice.items.all() if i.status in _STILL_UP]
        addresses = [a for a in (last_address(i) for i in up) if a]
        if up:
            route = hosting_route(address=addresses[0] if addresses else None)
    return _notice_deadline_review(notice_id=notice_id, now=now, route=route)


def _checks_running(items: list[ReportedItem]) -> bool:
    return ItemCheck.objects.filter(item__in=items, state__in=[CheckState.PENDING, CheckState.FETCHED]).exists()


@transaction.atomic
def _notice_deadline_review(*, notice_id: int, now: datetime, route: HostingRoute | None) -> bool:
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("case__organization", "platform")
        .get(pk=notice_id)
    )
    if notice.deadline_reviewed_at is not None or notice.deadline_recheck_at is None:
        return False
    items = list(notice.items.all())
    waited = now - notice.deadline_recheck_at >= timedelta(minutes=settings.NOTICES_RECHECK_WAIT_MINUTES)
    if _checks_running(items) and not waited:
        return False
    still_up = [item for item in items if item.status in _STILL_UP]
    notice.deadline_reviewed_at = now
    notice.save(update_fields=["deadline_reviewed_at", "updated_at"])
    if not still_up:
        notice_audit(Actor.system(), notice, "notice.deadline_content_gone", {"items": len(items)})
        return True
    proposed = escalations_on_overdue(notice, still_up, route)
    notice_audit(
        Actor.system(),
        notice,
        "notice.escalation_proposed",
        {
            "reason": "overdue",
            "still_up": len(still_up),
            "escalations": [e.pk for e in proposed],
            "rungs": sorted({e.rung for e in proposed}),
        },
    )
    return True


@transaction.atomic
def notice_removal_review(*, notice_id: int, now: datetime) -> bool:
    """Verify a platform's "removed" against the re-check its answer started.

    When a check finished after the answer still finds a link live, the removal is disputed: each
    such link is flagged on the case's timeline, and a follow-up and the country's routes are
    proposed. When every link's check after the answer found it gone (or could not find it after
    waiting), the removal is verified. Until then, nothing is decided.
    """
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("case__organization", "platform")
        .get(pk=notice_id)
    )
    if notice.removal_verified_at or notice.removal_disputed_at or notice.replied_at is None:
        return False
    items = list(notice.items.order_by("id"))
    after = {
        check.item_id: check
        for check in ItemCheck.objects.filter(
            item__in=items, state=CheckState.DONE, finished_at__gte=notice.replied_at
        ).order_by("finished_at", "id")
    }
    live = [(item, after[item.pk].finished_at) for item in items if item.pk in after and item.status == ItemStatus.LIVE]
    if live:
        notice.removal_disputed_at = now
        notice.save(update_fields=["removal_disputed_at", "updated_at"])
        for item, _checked in live:
            audit_record(
                actor=Actor.system(),
                action="item.removal_disputed",
                subject_type="case",
                subject_id=notice.case_id,
                organization_id=notice.case.organization_id,
                data={"item_id": item.pk, "notice_id": notice.pk},
            )
        proposed = escalations_on_dispute(notice, live)
        notice_audit(
            Actor.system(),
            notice,
            "notice.removal_disputed",
            {"still_up": len(live), "escalations": [e.pk for e in proposed]},
        )
        return True
    waited = now - notice.replied_at >= timedelta(minutes=settings.NOTICES_RECHECK_WAIT_MINUTES)
    if len(after) < len(items) and not waited:
        return False
    notice.removal_verified_at = now
    notice.save(update_fields=["removal_verified_at", "updated_at"])
    notice_audit(Actor.system(), notice, "notice.removal_verified", {"checked": len(after), "items": len(items)})
    return True


@transaction.atomic
def escalation_decide(*, actor: Actor, escalation: Escalation, accept: bool) -> Escalation:
    """The advocate takes up a proposed step (then completes and sends its draft) or sets it aside."""
    if actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate can decide on a next step."))
    escalation = Escalation.objects.select_for_update(of=("self",)).select_related("notice__case").get(pk=escalation.pk)
    if escalation.status != EscalationStatus.PROPOSED:
        raise Conflict(_("This step was already decided."))
    escalation.status = EscalationStatus.ACCEPTED if accept else EscalationStatus.DISMISSED
    escalation.decided_at = timezone.now()
    escalation.decided_by_id = actor.user_id
    escalation.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])
    notice_audit(
        actor,
        escalation.notice,
        "notice.escalation_decided",
        {"escalation_id": escalation.pk, "status": escalation.status},
    )
    return escalation
