"""What every notices service shares: the transition table, the audit event, the lock, the deadline.

A notice moves draft -> ready -> approved -> (queued ->) sent -> acknowledged / removed / rejected /
needs_info, only through `transition` and this table. Lock order (docs/architecture.md): the
case row first, then the notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Min
from django.utils.translation import gettext as _

from takedown.cases.models import Case
from takedown.cases.services import case_next_deadline_set
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.notices.models import OPEN_STATUSES, Notice, NoticeChannel, NoticeStatus
from takedown.notices.validation import MissingElement
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, Platform

_TRANSITIONS: dict[str, set[str]] = {
    NoticeStatus.DRAFT: {NoticeStatus.READY},
    NoticeStatus.READY: {NoticeStatus.APPROVED, NoticeStatus.DRAFT},
    NoticeStatus.APPROVED: {NoticeStatus.SENT, NoticeStatus.DRAFT, NoticeStatus.QUEUED},
    # A queued notice is sent by the delivery task; a failed delivery can be queued again or edited.
    NoticeStatus.QUEUED: {NoticeStatus.SENT, NoticeStatus.DELIVERY_FAILED},
    NoticeStatus.DELIVERY_FAILED: {NoticeStatus.QUEUED, NoticeStatus.DRAFT},
    NoticeStatus.SENT: {
        NoticeStatus.ACKNOWLEDGED,
        NoticeStatus.REMOVED,
        NoticeStatus.REJECTED,
        NoticeStatus.NEEDS_INFO,
    },
    NoticeStatus.ACKNOWLEDGED: {NoticeStatus.REMOVED, NoticeStatus.REJECTED, NoticeStatus.NEEDS_INFO},
    NoticeStatus.NEEDS_INFO: {NoticeStatus.ACKNOWLEDGED, NoticeStatus.REMOVED, NoticeStatus.REJECTED},
    NoticeStatus.REMOVED: set(),
    NoticeStatus.REJECTED: set(),
}

EDITABLE = {NoticeStatus.DRAFT, NoticeStatus.READY, NoticeStatus.APPROVED, NoticeStatus.DELIVERY_FAILED}

REPLY_OUTCOMES = (NoticeStatus.ACKNOWLEDGED, NoticeStatus.REMOVED, NoticeStatus.REJECTED, NoticeStatus.NEEDS_INFO)


def notice_audit(actor: Actor, notice: Notice, action: str, data: dict[str, Any] | None = None) -> None:
    """Notice events are case events (subject "case"), so they appear on the case's timeline."""
    audit_record(
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=notice.case_id,
        organization_id=notice.case.organization_id,
        data={"notice_id": notice.pk, **(data or {})},
    )


def transition(notice: Notice, to: str) -> None:
    if to not in _TRANSITIONS[notice.status]:
        raise Conflict(
            _("A notice that is %(from)s cannot become %(to)s.")
            % {"from": NoticeStatus(notice.status).label, "to": NoticeStatus(to).label}
        )
    notice.status = to


def refuse_missing(missing: list[MissingElement]) -> None:
    if missing:
        raise InvalidInput(
            _("This notice is missing: %(names)s.") % {"names": "; ".join(m.name for m in missing)},
            code="notice_incomplete",
        )


def lock_notice(notice: Notice) -> Notice:
    """The notice, locked, after its case (the project's lock order: case first)."""
    Case.objects.select_for_update(of=("self",)).filter(pk=notice.case_id).first()
    return (
        Notice.objects.select_for_update(of=("self",))
        .select_related("case__organization", "platform")
        .get(pk=notice.pk)
    )


def refresh_next_deadline(case_id: int) -> None:
    """Case.next_deadline_at := the earliest due time among the case's open notices (or none)."""
    earliest = Notice.objects.filter(case_id=case_id, status__in=OPEN_STATUSES, due_at__isnull=False).aggregate(
        earliest=Min("due_at")
    )["earliest"]
    case_next_deadline_set(case_id=case_id, next_deadline_at=earliest)


@dataclass(frozen=True)
class ChannelChoice:
    channel: str  # NoticeChannel
    recipient: str
    intake: str  # registry Intake, or ""


def choose_channel(platform: Platform, basis_code: str, *, trusted_flagger: bool = False) -> ChannelChoice:
    """The channel a notice on this basis goes through: the basis's own intake first.

    Among the channels that take the basis, the one whose intake the basis prefers most wins (a
    TAKE IT DOWN request goes to the platform's designated process, a DSA notice to its DSA form,
    an Indian complaint to the Grievance Officer), then the registry's order of preference.
    Channels reserved for DSA trusted flaggers are used only by one, and preferred for its DSA
    notices. A platform with no channel for the basis gives a form packet with no address.
    """
    basis = b.basis_get(basis_code)
    preference = list(basis.intakes)
    candidates = []
    for channel in platform.channels.order_by("position", "id"):
        if not channel.serves_basis(basis_code):
            continue
        if channel.trusted_flagger_only and not trusted_flagger:
            continue
        flagger_first = 0 if (channel.trusted_flagger_only and basis_code == b.EU_DSA) else 1
        rank = preference.index(channel.intake) if channel.intake in preference else len(preference)
        candidates.append(((flagger_first, rank, channel.position, channel.pk), channel))
    if not candidates:
        return ChannelChoice(NoticeChannel.FORM, "", "")
    channel = min(candidates, key=lambda c: c[0])[1]
    if channel.kind == ChannelKind.API:
        kind = NoticeChannel.WEBHOOK
    elif channel.kind == ChannelKind.EMAIL:
        kind = NoticeChannel.EMAIL
    else:
        kind = NoticeChannel.FORM
    return ChannelChoice(kind, channel.address, channel.intake)


def is_trusted_flagger(case: Case) -> bool:
    return case.organization is not None and case.organization.trusted_flagger


@dataclass(frozen=True)
class NoticeActions:
    """What a person may do with a notice now: the transition table and the channel, read once.

    Pages and templates ask this instead of comparing status strings, so "may this notice be
    sent" has one answer everywhere.
    """

    can_edit: bool
    can_mark_ready: bool
    can_approve: bool
    can_send: bool
    can_mark_submitted: bool
    is_retry: bool


def notice_actions(notice: Notice) -> NoticeActions:
    allowed = _TRANSITIONS[notice.status]
    form = notice.channel == NoticeChannel.FORM
    return NoticeActions(
        can_edit=notice.status in EDITABLE,
        can_mark_ready=NoticeStatus.READY in allowed,
        # A draft is approved through ready in one step (notice_approve).
        can_approve=NoticeStatus.APPROVED in allowed or NoticeStatus.READY in allowed,
        can_send=not form and NoticeStatus.QUEUED in allowed,
        can_mark_submitted=form and notice.status == NoticeStatus.APPROVED,
        is_retry=notice.status == NoticeStatus.DELIVERY_FAILED,
    )
