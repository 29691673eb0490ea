"""A notice's life after drafting: edit, ready, approve, sent, and the platform's answers.

It cannot become ready, approved or sent while its basis's required elements are missing.
Sending freezes what was sent and starts the basis's clock; the case's `next_deadline_at` is kept
equal to its earliest open deadline (through the cases app's service).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import CaseStatus
from takedown.cases.services import case_set_status
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import ActorKind
from takedown.core.outbox import outbox_emit
from takedown.matching.models import CheckTrigger
from takedown.matching.services import items_request_checks
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.rendering import RenderedNotice, notice_context, render_context
from takedown.notices.selectors import notice_hash_backed
from takedown.notices.services._base import (
    EDITABLE,
    REPLY_OUTCOMES,
    lock_notice,
    notice_audit,
    refresh_next_deadline,
    refuse_missing,
    transition,
)
from takedown.notices.services.drafting import refuse_duplicate_notice
from takedown.notices.validation import context_missing, elements_digest
from takedown.registry import bases as b


@transaction.atomic
def notice_edit(
    *, actor: Actor, notice: Notice, details: str, dmca_work: str = "", dmca_acknowledged: bool = False
) -> Notice:
    """Change what the advocate adds. An approved notice goes back to draft: approval was for the old text."""
    notice = lock_notice(notice)
    if notice.status not in EDITABLE:
        raise Conflict(_("A notice cannot be changed once it is sent."))
    if len(details) > 5000:
        raise InvalidInput(_("The additional facts are too long (at most 5,000 characters)."))
    if notice.basis != b.US_DMCA and (dmca_work.strip() or dmca_acknowledged):
        raise InvalidInput(_("The copyright fields are only for copyright notices."))
    notice.details = details.strip()
    notice.dmca_work = dmca_work.strip()
    notice.dmca_acknowledged = dmca_acknowledged
    previous = notice.status
    notice.status = NoticeStatus.DRAFT
    notice.approved_at = None
    notice.approved_by = None
    notice.approved_digest = ""
    notice.save(
        update_fields=[
            "details",
            "dmca_work",
            "dmca_acknowledged",
            "status",
            "approved_at",
            "approved_by",
            "approved_digest",
            "updated_at",
        ]
    )
    notice_audit(actor, notice, "notice.edited", {"from": previous, "dmca_acknowledged": dmca_acknowledged})
    return notice


@transaction.atomic
def notice_mark_ready(*, actor: Actor, notice: Notice) -> Notice:
    """Draft -> ready for approval, only when nothing required is missing."""
    notice = lock_notice(notice)
    transition(notice, NoticeStatus.READY)
    refuse_duplicate_notice(notice)
    ctx = notice_context(notice)
    refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.save(update_fields=["status", "updated_at"])
    notice_audit(actor, notice, "notice.ready")
    return notice


@transaction.atomic
def notice_approve(*, actor: Actor, notice: Notice) -> Notice:
    """A person approves the notice (a draft passes through ready). Approval fixes its elements.

    The person is an advocate of the case's organisation or the survivor of the case, signed in
    with reference and PIN (DESIGN: approval is automatic only for hash matches the survivor
    pre-approved, which is a later step with its own service). A survivor approves only notices
    an advocate has marked ready, so they always read the final text.
    """
    notice = lock_notice(notice)
    if actor.kind == ActorKind.SURVIVOR:
        if actor.case_id != notice.case_id or notice.status != NoticeStatus.READY:
            raise Conflict(_("This request cannot be approved now."))
    elif actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate or the survivor can approve a notice."))
    elif actor.user_id is not None and actor.user_id == notice.created_by_id and not notice_hash_backed(notice):
        # Four eyes where no hash match backs the notice: the drafter cannot approve it alone.
        raise Conflict(
            _(
                "This notice is not backed by a hash match, so a second person approves it: another "
                "advocate, or the survivor once you mark it ready."
            )
        )
    if notice.status == NoticeStatus.DRAFT:
        transition(notice, NoticeStatus.READY)
        refuse_duplicate_notice(notice)
    transition(notice, NoticeStatus.APPROVED)
    ctx = notice_context(notice)
    refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.approved_at = timezone.now()
    notice.approved_by_id = actor.user_id
    notice.approved_digest = elements_digest(ctx)
    notice.save(update_fields=["status", "approved_at", "approved_by", "approved_digest", "updated_at"])
    notice_audit(actor, notice, "notice.approved")
    return notice


@transaction.atomic
def notice_mark_sent(
    *,
    actor: Actor,
    notice: Notice,
    sent_at: datetime | None = None,
    platform_ticket: str = "",
    rendered: RenderedNotice | None = None,
) -> Notice:
    """Record that an approved notice went out: freeze what was sent and start the basis's clock.

    The content is rendered once more and must carry exactly the elements that were approved; if
    the case changed since (say the survivor changed how to be contacted), approval is needed
    again. From here on the stored content is the notice: later changes to the case do not
    reach it. `due_at` counts from the sending time (the receipt time for email and webhooks is
    within seconds; a form packet's time is when the advocate submitted it). The delivery task
    passes the `rendered` copy it actually sent, so what is frozen is byte for byte what left.
    """
    notice = lock_notice(notice)
    transition(notice, NoticeStatus.SENT)
    ctx = notice_context(notice)
    rendered = rendered or render_context(ctx)
    refuse_missing(context_missing(ctx, rendered.text))
    if elements_digest(ctx) != notice.approved_digest:
        raise Conflict(
            _("The notice changed after it was approved (for example the case's contact). Approve it again.")
        )
    now = sent_at or timezone.now()
    notice.sent_at = now
    hours = ctx.basis.deadline_hours
    notice.due_at = now + timedelta(hours=hours) if hours else None
    notice.signature = ctx.signature
    notice.contact_kind = ctx.contact.kind if ctx.contact else ""
    notice.contact_email = ctx.contact.email if ctx.contact else None
    notice.relay_token = ctx.contact.relay_token if ctx.contact else ""
    notice.content_text = rendered.text
    notice.content_html = rendered.html
    notice.content_json = rendered.json
    notice.platform_ticket = platform_ticket.strip()[:200]
    notice.delivery_claimed_at = None
    notice.save()
    refresh_next_deadline(notice.case_id)
    notice_audit(
        actor,
        notice,
        "notice.sent",
        {"channel": notice.channel, "due_at": notice.due_at.isoformat() if notice.due_at else None},
    )
    # The platform API (a floor above) tells the platform's webhooks; it follows this event.
    outbox_emit("notice.sent", {"notice_id": notice.pk, "platform_id": notice.platform_id, "case_id": notice.case_id})
    if notice.case.status == CaseStatus.OPEN:
        case_set_status(actor=actor, case=notice.case, status=CaseStatus.IN_PROGRESS)
    return notice


@transaction.atomic
def notice_record_reply(
    *,
    actor: Actor,
    notice: Notice,
    outcome: str,
    reason: str = "",
    platform_ticket: str = "",
    replied_at: datetime | None = None,
) -> Notice:
    """Record the platform's answer: acknowledged, removed, rejected (with its reason) or needs more information.

    Removed and rejected end the notice's deadline; the case's next deadline moves accordingly.
    Whether a removal really happened is verified by re-checking the link (matching app), not by
    taking the platform's word.
    """
    if outcome not in REPLY_OUTCOMES:
        raise InvalidInput(_("Unknown reply."))
    if outcome in {NoticeStatus.REJECTED, NoticeStatus.NEEDS_INFO} and not reason.strip():
        raise InvalidInput(_("Please record what the platform said."))
    notice = lock_notice(notice)
    previous = notice.status
    transition(notice, outcome)
    now = replied_at or timezone.now()
    notice.replied_at = now
    if notice.acknowledged_at is None:
        notice.acknowledged_at = now  # any answer shows the platform received the notice
    if reason.strip():
        notice.reply_reason = reason.strip()
    if platform_ticket.strip():
        notice.platform_ticket = platform_ticket.strip()[:200]
    notice.save(
        update_fields=["status", "replied_at", "acknowledged_at", "reply_reason", "platform_ticket", "updated_at"]
    )
    refresh_next_deadline(notice.case_id)
    notice_audit(actor, notice, "notice.reply_recorded", {"from": previous, "outcome": outcome})
    return notice


# Outcomes a platform may resolve a notice with, and what each requires it to say.
RESOLUTIONS = (NoticeStatus.REMOVED, NoticeStatus.REJECTED, NoticeStatus.NEEDS_INFO)


@transaction.atomic
def notice_acknowledge(*, actor: Actor, notice: Notice, platform_ticket: str) -> Notice:
    """The platform confirms receipt and names its own ticket (API or portal)."""
    if not platform_ticket.strip():
        raise InvalidInput(_("Please give your ticket number."), code="ticket_required")
    return notice_record_reply(
        actor=actor, notice=notice, outcome=NoticeStatus.ACKNOWLEDGED, platform_ticket=platform_ticket
    )


@transaction.atomic
def notice_resolve(*, actor: Actor, notice: Notice, outcome: str, reason: str = "") -> Notice:
    """The platform's decision: removed, rejected (reason required) or needs information (question required).

    A removal is not taken on the platform's word: the notice's links are re-checked at once, and
    the check's verdict is what marks each link removed.
    """
    if outcome not in RESOLUTIONS:
        raise InvalidInput(_("Unknown outcome."), code="invalid_outcome")
    if outcome == NoticeStatus.REJECTED and not reason.strip():
        raise InvalidInput(_("Please give the reason for rejecting the notice."), code="reason_required")
    if outcome == NoticeStatus.NEEDS_INFO and not reason.strip():
        raise InvalidInput(_("Please say what information you need."), code="question_required")
    notice = notice_record_reply(actor=actor, notice=notice, outcome=outcome, reason=reason)
    if outcome == NoticeStatus.REMOVED:
        items_request_checks(actor=actor, items=list(notice.items.all()), trigger=CheckTrigger.RECHECK)
    return notice
