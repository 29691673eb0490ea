"""Sending notices: queue, deliver once by email or webhook, record every attempt, or a form packet.

A queued notice is claimed by the `deliver` task before anything is sent, so a redelivered task
message finds it claimed or sent and sends nothing twice; PostgreSQL, not the broker, is the record
of what is queued (`deliveries_resume`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import CaseStatus
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import ActorKind
from takedown.core.queue import task_on_commit, task_send
from takedown.core.transport import TransportResult, email_send, webhook_post
from takedown.notices.models import DeliveryAttempt, DeliveryOutcome, Notice, NoticeChannel, NoticeStatus
from takedown.notices.rendering import NoticeContext, RenderedNotice, notice_context, notice_pdf, render_context
from takedown.notices.services._base import lock_notice, notice_audit, refuse_missing, transition
from takedown.notices.services.lifecycle import notice_mark_sent
from takedown.notices.validation import context_missing, elements_digest
from takedown.registry.models import ChannelKind, PlatformChannel

logger = logging.getLogger(__name__)

DELIVER_TASK = "takedown.notices.tasks.deliver_notice"

DeliveryResult = Literal["skipped", "delivered", "retry", "failed"]


def delivery_key(notice_id: int) -> str:
    """The idempotency key of a notice: stable across its attempts, unguessable, not the case reference."""
    return "tdn-" + keyed_digest("notice-delivery", str(notice_id))[:40]


def _check_sendable(ctx: NoticeContext, rendered: RenderedNotice) -> None:
    refuse_missing(context_missing(ctx, rendered.text))
    if elements_digest(ctx) != ctx.notice.approved_digest:
        raise Conflict(
            _("The notice changed after it was approved (for example the case's contact). Approve it again.")
        )


@transaction.atomic
def notice_send(*, actor: Actor, notice: Notice) -> Notice:
    """Queue an approved notice for delivery by email or webhook; the `deliver` task sends it.

    The notice is checked now, so the advocate hears at once if something changed since approval;
    the task checks again before it sends. A form packet is not sent by us: the advocate submits
    it and marks it submitted (`notice_mark_submitted`).
    """
    if actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate can send a notice."))
    notice = lock_notice(notice)
    if notice.channel == NoticeChannel.FORM:
        raise Conflict(_("This platform takes notices through its web form. Use the form packet."))
    previous = notice.status
    transition(notice, NoticeStatus.QUEUED)
    ctx = notice_context(notice)
    _check_sendable(ctx, render_context(ctx))
    notice.delivery_claimed_at = None
    notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
    notice_audit(actor, notice, "notice.queued", {"channel": notice.channel, "from": previous})
    notice_id = notice.pk
    # robust: a broker that is down must not undo the advocate's send; `deliveries_resume`
    # publishes the notice again later.
    task_on_commit(DELIVER_TASK, notice_id)
    return notice


def _claim_for_delivery(notice_id: int) -> bool:
    """Take a queued notice; a claim older than a task may run was abandoned (worker killed)."""
    stale = timezone.now() - timedelta(seconds=settings.TASK_CLAIM_STALE_SECONDS)
    return (
        Notice.objects.filter(pk=notice_id, status=NoticeStatus.QUEUED)
        .exclude(case__status=CaseStatus.WITHDRAWN)  # withdrawn: nothing more is sent; a task erases it
        .filter(Q(delivery_claimed_at__isnull=True) | Q(delivery_claimed_at__lt=stale))
        .update(delivery_claimed_at=timezone.now())
        == 1
    )


#: How many times a notice's delivery may be abandoned (its worker killed, or its task failing
#: after the claim) before it is marked failed for the advocate, rather than sent yet again.
MAX_ABANDONED_DELIVERIES = 3

ABANDONED_DETAIL = "The delivery stopped before its outcome was recorded; the receiver may already have it."


def deliveries_resume(*, limit: int = 200) -> int:
    """Publish again the queued notices whose task message was lost; returns how many were published.

    PostgreSQL, not the broker, is the record of what is queued: a message is lost when Redis
    restarts without persistence or was down when the notice was sent, or when the task failed
    on the database restarting under it. A queued notice not claimed for a while is published
    again. A claim gone stale (its worker died mid-delivery) is recorded as an attempt, since the
    receiver may have the notice; after MAX_ABANDONED_DELIVERIES the notice is marked failed,
    so a task that keeps dying after sending cannot resend it forever.
    """
    now = timezone.now()
    waited = now - timedelta(seconds=settings.TASK_RESUME_AFTER_SECONDS)
    stale = now - timedelta(seconds=settings.TASK_CLAIM_STALE_SECONDS)
    queued = Notice.objects.filter(status=NoticeStatus.QUEUED)
    abandoned = list(queued.filter(delivery_claimed_at__lt=stale).order_by("id").values_list("id", flat=True)[:limit])
    unclaimed = queued.filter(delivery_claimed_at__isnull=True, updated_at__lt=waited).order_by("id")
    to_publish = [n for n in abandoned if _release_abandoned(n, stale)]
    to_publish += [n for n in unclaimed.values_list("id", flat=True)[:limit] if n not in to_publish]
    count = 0
    try:
        for notice_id in to_publish:
            task_send(DELIVER_TASK, notice_id)
            count += 1
    except Exception:  # the broker is down: the next run tries again
        logger.warning("deliveries_resume: publishing failed after %d notice(s)", count, exc_info=True)
    return count


@transaction.atomic
def _release_abandoned(notice_id: int, stale: datetime) -> bool:
    """Record an abandoned delivery and free the notice for another try; False if it failed for good."""
    notice = Notice.objects.select_for_update(of=("self",)).select_related("case__organization").get(pk=notice_id)
    if (
        notice.status != NoticeStatus.QUEUED
        or notice.delivery_claimed_at is None
        or notice.delivery_claimed_at >= stale
    ):
        return False  # delivered, or taken again meanwhile
    earlier = DeliveryAttempt.objects.filter(notice=notice, detail=ABANDONED_DETAIL).count()
    last = earlier + 1 >= MAX_ABANDONED_DELIVERIES
    attempt = DeliveryAttempt.objects.create(
        notice=notice,
        channel=notice.channel,
        started_at=notice.delivery_claimed_at,
        finished_at=timezone.now(),
        outcome=DeliveryOutcome.PERMANENT_FAILURE if last else DeliveryOutcome.TRANSIENT_FAILURE,
        detail=ABANDONED_DETAIL,
        idempotency_key=delivery_key(notice.pk),
    )
    system = Actor.system()
    notice_audit(system, notice, "notice.delivery_attempted", {"attempt_id": attempt.pk, "outcome": attempt.outcome})
    notice.delivery_claimed_at = None
    if last:
        transition(notice, NoticeStatus.DELIVERY_FAILED)
        notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
        notice_audit(system, notice, "notice.delivery_failed", {"attempt_id": attempt.pk})
        return False
    notice.save(update_fields=["delivery_claimed_at", "updated_at"])
    return True


def _transport(
    notice: Notice, ctx: NoticeContext, rendered: RenderedNotice, key: str
) -> tuple[TransportResult, int | None]:
    kind = ChannelKind.API if notice.channel == NoticeChannel.WEBHOOK else ChannelKind.EMAIL
    channel = PlatformChannel.objects.filter(
        platform_id=notice.platform_id, kind=kind, address=notice.recipient
    ).first()
    if channel is None:
        return TransportResult(delivered=False, detail="The platform no longer lists this channel."), None
    if notice.channel == NoticeChannel.WEBHOOK:
        return (
            webhook_post(
                url=channel.address, secret=channel.webhook_secret, payload=rendered.json, idempotency_key=key
            ),
            channel.pk,
        )
    language = ctx.basis.language if ctx.basis.language != "en" else settings.NOTICES_LANGUAGE
    with translation.override(language):
        # The subject a reviewer triages by: what it is and the reference; no name, no case.
        subject = (
            f"Imagem íntima não consensual: pedido de remoção {notice.reference}"
            if ctx.basis.language == "pt-br"
            else _("Non-consensual intimate image: removal request %(reference)s") % {"reference": notice.reference}
        )
    return (
        email_send(
            subject=subject,
            text=rendered.text,
            html=rendered.html,
            recipient=channel.address,
            # The notice's own contact: the survivor's email only if they chose it for this notice.
            reply_to=ctx.contact.email if ctx.contact else "",
            idempotency_key=key,
            pdf=notice_pdf(rendered.html) if settings.NOTICES_ATTACH_PDF else None,
            pdf_name=f"notice-{notice.reference}.pdf",
        ),
        channel.pk,
    )


def notice_deliver(*, notice_id: int, final_attempt: bool = False) -> DeliveryResult:
    """Send a queued notice once (the `deliver_notice` task's body). No transaction is held while sending.

    Claiming first makes a redelivered task message harmless: the notice is then claimed, sent or
    failed, and nothing is sent again. A transient failure releases the claim for the retry unless
    this was the final attempt; a permanent one (or the last) marks the notice failed for the
    advocate to fix and send again. What is frozen as sent is exactly what was sent.
    """
    if not _claim_for_delivery(notice_id):
        return "skipped"
    notice = Notice.objects.select_related("platform", "case__organization").filter(pk=notice_id).first()
    if notice is None:
        return "skipped"
    key = delivery_key(notice.pk)
    started = timezone.now()
    ctx = notice_context(notice)
    rendered = render_context(ctx)
    channel_id: int | None = None
    try:
        _check_sendable(ctx, rendered)
    except (InvalidInput, Conflict) as exc:
        result = TransportResult(delivered=False, detail=exc.message)
    else:
        result, channel_id = _transport(notice, ctx, rendered, key)
    return _waiting_out_database_outage(
        lambda: _record_attempt(
            notice_id=notice.pk,
            result=result,
            started=started,
            key=key,
            channel_id=channel_id,
            rendered=rendered,
            final_attempt=final_attempt,
        )
    )


def _waiting_out_database_outage(record: Callable[[], DeliveryResult]) -> DeliveryResult:
    """Record a delivery's outcome, retrying through a short database outage (a restart).

    The notice has been handed over by now: failing to record it would leave the claim to go
    stale and the notice to be sent a second time. Past about 7 s the error is raised.
    """
    for delay in (0.5, 1.0, 2.0, 4.0):
        try:
            return record()
        except (OperationalError, InterfaceError):
            logger.warning("notice_deliver: the database is unreachable; recording again in %.1f s", delay)
            db_connection.close()
            time.sleep(delay)
    return record()


@transaction.atomic
def _record_attempt(
    *,
    notice_id: int,
    result: TransportResult,
    started: datetime,
    key: str,
    channel_id: int | None,
    rendered: RenderedNotice,
    final_attempt: bool,
) -> DeliveryResult:
    notice = (
        Notice.objects.select_for_update(of=("self",))
        .select_related("case__organization", "platform")
        .get(pk=notice_id)
    )
    if result.delivered:
        outcome = DeliveryOutcome.DELIVERED
    elif result.transient and not final_attempt:
        outcome = DeliveryOutcome.TRANSIENT_FAILURE
    else:
        outcome = DeliveryOutcome.PERMANENT_FAILURE
    attempt = DeliveryAttempt.objects.create(
        notice=notice,
        channel=notice.channel,
        platform_channel_id=channel_id,
        started_at=started,
        finished_at=timezone.now(),
        outcome=outcome,
        detail=result.detail,
        http_status=result.http_status,
        response_excerpt=result.response_excerpt,
        idempotency_key=key,
    )
    system = Actor.system()
    notice_audit(system, notice, "notice.delivery_attempted", {"attempt_id": attempt.pk, "outcome": outcome})
    if outcome == DeliveryOutcome.DELIVERED:
        notice_mark_sent(actor=system, notice=notice, sent_at=attempt.finished_at, rendered=rendered)
        return "delivered"
    if outcome == DeliveryOutcome.TRANSIENT_FAILURE:
        notice.delivery_claimed_at = None
        notice.save(update_fields=["delivery_claimed_at", "updated_at"])
        return "retry"
    transition(notice, NoticeStatus.DELIVERY_FAILED)
    notice.delivery_claimed_at = None
    notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
    notice_audit(system, notice, "notice.delivery_failed", {"attempt_id": attempt.pk})
    return "failed"


@transaction.atomic
def notice_mark_submitted(
    *, actor: Actor, notice: Notice, platform_ticket: str, submitted_at: datetime | None = None
) -> Notice:
    """The advocate submitted the form packet in the platform's web form: record it as sent.

    The ticket number the platform gave is required: it is what the platform answers to, and what
    a regulator complaint cites.
    """
    if actor.kind not in {ActorKind.STAFF, ActorKind.SURVIVOR}:
        raise Conflict(_("Only the advocate or the survivor can mark a form as submitted."))
    ticket = platform_ticket.strip()
    if not ticket:
        raise InvalidInput(_("Enter the ticket or reference number the platform gave."))
    if len(ticket) > 200:
        raise InvalidInput(_("The ticket number is too long (at most 200 characters)."))
    notice = lock_notice(notice)
    if notice.channel != NoticeChannel.FORM:
        raise Conflict(_("This notice is not sent through a web form."))
    if notice.status != NoticeStatus.APPROVED:
        raise Conflict(_("Approve the notice before marking it submitted."))
    now = submitted_at or timezone.now()
    channel = PlatformChannel.objects.filter(
        platform_id=notice.platform_id, kind=ChannelKind.WEB_FORM, address=notice.recipient
    ).first()
    DeliveryAttempt.objects.create(
        notice=notice,
        channel=notice.channel,
        platform_channel=channel,
        started_at=now,
        finished_at=now,
        outcome=DeliveryOutcome.DELIVERED,
        detail="Submitted through the platform's web form.",
        idempotency_key=delivery_key(notice.pk),
    )
    return notice_mark_sent(actor=actor, notice=notice, sent_at=now, platform_ticket=ticket)
