"""A notice's life after drafting: edit, ready, approve, sent, and the platform's answers.

It cannot become ready, approved or sent while its basis's required elements are missing.
Sending freezes what was sent and starts its clock: the basis's legal deadline when the notice went
through the intake that starts it, else the platform's follow-up window; the case's
`next_deadline_at` is kept equal to its earliest open one (through the cases app's service).
Sending also proposes the day-0 steps (search de-indexing, eSafety for Australians); a rejection
proposes the appeal, a re-file and the country's routes; a "removed" starts a re-check.
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
from takedown.notices.models import Notice, NoticeStatus, SurvivorAnswer
from takedown.notices.rendering import RenderedNotice, notice_context, render_context, survivor_email
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
from takedown.notices.services.escalation import escalations_on_rejection, escalations_on_sent
from takedown.notices.validation import context_missing, elements_digest
from takedown.registry import bases as b
from takedown.registry.models import MemberState

MAX_MEDIA_LINKS = 50


def _clean_media_links(links: list[dict[str, str]]) -> list[dict[str, str]]:
    if len(links) > MAX_MEDIA_LINKS:
        raise InvalidInput(_("At most %(n)d direct links per notice.") % {"n": MAX_MEDIA_LINKS})
    cleaned = []
    for link in links:
        url = str(link.get("url", "")).strip()
        if not url.lower().startswith(("https://", "http://")) or len(url) > 2000 or any(c.isspace() for c in url):
            raise InvalidInput(_("A direct link must be a web address starting with https:// or http://."))
        time = str(link.get("time", "")).strip()[:20]
        cleaned.append({"url": url, "time": time})
    return cleaned


@transaction.atomic
def notice_edit(
    *,
    actor: Actor,
    notice: Notice,
    details: str,
    dmca_work: str = "",
    dmca_acknowledged: bool = False,
    member_state: str | None = None,
    national_offence: str | None = None,
    requester_verification: str | None = None,
    media_links: list[dict[str, str]] | None = None,
) -> Notice:
    """Change what the advocate adds. An approved notice goes back to draft: approval was for the old text.

    Arguments left as None keep their value: the Member State and national provision (DSA), how
    the requester can be verified (Brazil), and the direct links to the images or videos.
    """
    notice = lock_notice(notice)
    if notice.status not in EDITABLE:
        raise Conflict(_("A notice cannot be changed once it is sent."))
    if len(details) > 5000:
        raise InvalidInput(_("The additional facts are too long (at most 5,000 characters)."))
    if notice.basis != b.US_DMCA and (dmca_work.strip() or dmca_acknowledged):
        raise InvalidInput(_("The copyright fields are only for copyright notices."))
    if member_state is not None and member_state and member_state not in MemberState.values:
        raise InvalidInput(_("Choose an EU Member State from the list."))
    if national_offence is not None and len(national_offence) > 300:
        raise InvalidInput(_("The national provision is too long (at most 300 characters)."))
    if requester_verification is not None and len(requester_verification) > 2000:
        raise InvalidInput(_("The verification text is too long (at most 2,000 characters)."))
    notice.details = details.strip()
    notice.dmca_work = dmca_work.strip()
    notice.dmca_acknowledged = dmca_acknowledged
    if member_state is not None:
        notice.member_state = member_state
    if national_offence is not None:
        notice.national_offence = national_offence.strip()
    if requester_verification is not None:
        notice.requester_verification = requester_verification.strip()
    if media_links is not None:
        notice.media_links = _clean_media_links(media_links)
    previous = notice.status
    notice.status = NoticeStatus.DRAFT
    notice.approved_at = None
    notice.approved_by = None
    notice.approved_digest = ""
    if notice.survivor_answer in (SurvivorAnswer.ASKED, SurvivorAnswer.APPROVED):
        # The survivor was asked about (or approved) the old text; a decline stays in view while
        # the advocate changes the notice in answer to it.
        notice.survivor_answer = ""
        notice.survivor_answer_at = None
    notice.save(
        update_fields=[
            "survivor_answer",
            "survivor_answer_at",
            "details",
            "dmca_work",
            "dmca_acknowledged",
            "member_state",
            "national_offence",
            "requester_verification",
            "media_links",
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
def notice_contact_choose(*, actor: Actor, notice: Notice, use_own_email: bool) -> Notice:
    """The survivor decides, for this notice, whether the platform gets their own email address.

    By default a notice gives the organisation's notice address or a case relay address, never the
    survivor's own details. Only the survivor of the case can choose their own email, for one notice
    at a time, after the page has warned them plainly (platforms forward notices to uploaders, and
    under the DSA may tell the uploader who complained). It needs an email contact on the case, is
    refused for copyright notices (filed by the organisation as agent), and only while the notice can
    still change; a choice on an approved notice sends it back for approval. Choosing false undoes it.
    """
    if actor.kind != ActorKind.SURVIVOR or actor.case_id != notice.case_id:
        raise Conflict(_("Only the survivor can choose to give their own contact details."))
    notice = lock_notice(notice)
    if notice.status not in EDITABLE and notice.status != NoticeStatus.READY:
        raise Conflict(_("This request has already been sent: its contact details cannot change."))
    if use_own_email and notice.basis == b.US_DMCA:
        raise Conflict(
            _("Copyright notices are filed by the organisation as agent; they never carry your own details.")
        )
    if use_own_email and not survivor_email(notice.case):
        raise InvalidInput(_("Add an email address to your contact details first."))
    if notice.use_survivor_contact == use_own_email:
        return notice
    notice.use_survivor_contact = use_own_email
    notice.survivor_contact_chosen_at = timezone.now() if use_own_email else None
    fields = ["use_survivor_contact", "survivor_contact_chosen_at", "updated_at"]
    if notice.status == NoticeStatus.APPROVED:
        # Approval vouched for the old contact: it is needed again.
        notice.status = NoticeStatus.READY
        notice.approved_at = None
        notice.approved_by = None
        notice.approved_digest = ""
        fields += ["status", "approved_at", "approved_by", "approved_digest"]
        if notice.survivor_answer == SurvivorAnswer.APPROVED:
            # The survivor approved the old contact: their approval is asked for again.
            notice.survivor_answer = SurvivorAnswer.ASKED
            notice.survivor_answer_at = timezone.now()
            fields += ["survivor_answer", "survivor_answer_at"]
    notice.save(update_fields=fields)
    notice_audit(actor, notice, "notice.contact_chosen", {"own_email": use_own_email})
    return notice


@transaction.atomic
def notice_mark_ready(*, actor: Actor, notice: Notice) -> Notice:
    """Draft -> ready for approval, only when nothing required is missing: the second person is asked.

    A ready notice is shown to the survivor on their case page, who approves or declines it
    (`notice_approve`, `notice_decline`); another advocate can approve it as well. Asking again
    after a decline clears the earlier answer.
    """
    if actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate can ask for a notice to be approved."))
    notice = lock_notice(notice)
    transition(notice, NoticeStatus.READY)
    refuse_duplicate_notice(notice)
    ctx = notice_context(notice)
    refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.survivor_answer = SurvivorAnswer.ASKED
    notice.survivor_answer_at = timezone.now()
    notice.survivor_comment = ""
    notice.save(update_fields=["status", "survivor_answer", "survivor_answer_at", "survivor_comment", "updated_at"])
    notice_audit(actor, notice, "notice.ready")
    notice_audit(actor, notice, "notice.approval_requested")
    # A survivor who chose email contact hears there is news (the web app's consumer decides).
    outbox_emit("notice.approval_requested", {"notice_id": notice.pk, "case_id": notice.case_id})
    return notice


MAX_SURVIVOR_COMMENT = 2000


@transaction.atomic
def notice_decline(*, actor: Actor, notice: Notice, comment: str = "") -> Notice:
    """The survivor says no to a request an advocate asked them about; it goes back to draft.

    Only the survivor of the case, only while it waits for them (ready). What they write for their
    advocate is kept encrypted with the notice (never in the audit trail) until it is asked again.
    """
    if actor.kind != ActorKind.SURVIVOR or actor.case_id != notice.case_id:
        raise Conflict(_("Only the survivor can decline this request."))
    comment = comment.strip()
    if len(comment) > MAX_SURVIVOR_COMMENT:
        raise InvalidInput(
            _("Please keep your message shorter (at most %(n)d characters).") % {"n": MAX_SURVIVOR_COMMENT}
        )
    notice = lock_notice(notice)
    if notice.status != NoticeStatus.READY:
        raise Conflict(_("This request is not waiting for your answer any more."))
    transition(notice, NoticeStatus.DRAFT)
    notice.survivor_answer = SurvivorAnswer.DECLINED
    notice.survivor_answer_at = timezone.now()
    notice.survivor_comment = comment
    notice.save(update_fields=["status", "survivor_answer", "survivor_answer_at", "survivor_comment", "updated_at"])
    notice_audit(actor, notice, "notice.approval_declined", {"with_message": bool(comment)})
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
    elif notice.survivor_answer == SurvivorAnswer.DECLINED:
        # The survivor said no: an advocate does not override them, but may change it and ask again.
        raise Conflict(_("The survivor declined this notice. Change it if needed and ask them again."))
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
    if actor.kind == ActorKind.SURVIVOR:
        notice.survivor_answer = SurvivorAnswer.APPROVED
        notice.survivor_answer_at = notice.approved_at
    elif notice.survivor_answer == SurvivorAnswer.ASKED:
        notice.survivor_answer = ""  # another advocate answered first: the survivor is no longer asked
        notice.survivor_answer_at = None
    notice.save(
        update_fields=[
            "status",
            "approved_at",
            "approved_by",
            "approved_digest",
            "survivor_answer",
            "survivor_answer_at",
            "updated_at",
        ]
    )
    notice_audit(actor, notice, "notice.approved", {"by_survivor": actor.kind == ActorKind.SURVIVOR})
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
    now = sent_at or timezone.now()
    notice.sent_at = now  # the notice is dated the day it is sent
    ctx = notice_context(notice)
    rendered = rendered or render_context(ctx)
    refuse_missing(context_missing(ctx, rendered.text))
    if elements_digest(ctx) != notice.approved_digest:
        raise Conflict(
            _("The notice changed after it was approved (for example the case's contact). Approve it again.")
        )
    # A legal deadline only through the intake that starts it (TAKE IT DOWN Sec. 3(a)(1)(A): the
    # designated process); every other notice is followed up after the platform's window.
    notice.legal_deadline = b.starts_legal_clock(ctx.basis, notice.intake)
    if notice.legal_deadline and ctx.basis.deadline_hours:
        notice.due_at = now + timedelta(hours=ctx.basis.deadline_hours)
    else:
        notice.due_at = now + timedelta(days=notice.platform.follow_up_days)
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
        {
            "channel": notice.channel,
            "intake": notice.intake,
            "due_at": notice.due_at.isoformat() if notice.due_at else None,
            "legal_deadline": notice.legal_deadline,
        },
    )
    proposed = escalations_on_sent(notice)
    if proposed:
        notice_audit(
            Actor.system(),
            notice,
            "notice.escalation_proposed",
            {"reason": "sent", "escalations": [e.pk for e in proposed], "rungs": sorted({e.rung for e in proposed})},
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
    if outcome == NoticeStatus.REMOVED:
        # Not taken on the platform's word: the links are re-checked (on commit), and the beat
        # confirms the removal or flags it as disputed (`deadlines.notice_removal_review`).
        items_request_checks(actor=actor, items=list(notice.items.all()), trigger=CheckTrigger.RECHECK)
    elif outcome == NoticeStatus.REJECTED:
        proposed = escalations_on_rejection(notice)
        notice_audit(
            Actor.system(),
            notice,
            "notice.escalation_proposed",
            {
                "reason": "rejected",
                "escalations": [e.pk for e in proposed],
                "rungs": sorted({e.rung for e in proposed}),
            },
        )
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

    A removal is not taken on the platform's word: the notice's links are re-checked at once (by
    `notice_record_reply`), and the check's verdict is what marks each link removed.
    """
    if outcome not in RESOLUTIONS:
        raise InvalidInput(_("Unknown outcome."), code="invalid_outcome")
    if outcome == NoticeStatus.REJECTED and not reason.strip():
        raise InvalidInput(_("Please give the reason for rejecting the notice."), code="reason_required")
    if outcome == NoticeStatus.NEEDS_INFO and not reason.strip():
        raise InvalidInput(_("Please say what information you need."), code="question_required")
    return notice_record_reply(actor=actor, notice=notice, outcome=outcome, reason=reason)
