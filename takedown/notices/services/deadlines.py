"""Deadlines and escalation: re-check at the deadline, then propose the next rung of the ladder.

Nothing is sent by proposing: a rung comes with a draft notice (completed, approved and sent as
usual) or, for regulators, a packet to file by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from takedown.cases.models import CaseStatus, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.core.models import ActorKind
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck
from takedown.matching.services import item_check_request
from takedown.notices import packets
from takedown.notices.models import (
    RUNG_ORDER,
    Escalation,
    EscalationRung,
    EscalationStatus,
    Notice,
    NoticeStatus,
)
from takedown.notices.services._base import choose_channel, notice_audit
from takedown.notices.services.drafting import last_address, record_lookup
from takedown.registry import bases as b
from takedown.registry.models import Platform
from takedown.registry.services import HostingRoute, hosting_platform, hosting_route

# A final reply ends the clock; these are the notices whose deadline can pass unanswered.
_AWAITING = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.NEEDS_INFO)

# Item states that count as "still up" at the deadline: seen there, or the check could not tell.
_STILL_UP = (ItemStatus.LIVE, ItemStatus.UNREACHABLE, ItemStatus.REPORTED, ItemStatus.CHECKING)

SEARCH_ENGINES = ("google-search", "bing")


def deadlines_review(*, now: datetime | None = None, limit: int = 200) -> int:
    """The beat task's body: overdue notices get their items re-checked, then a next step proposed.

    Two passes: first every newly overdue notice has its items re-checked (each in its own
    transaction, so the checks start on commit); then every notice whose re-check is done, or
    waited for long enough (or could not run), is reviewed. Returns how many were reviewed.
    """
    moment = now or timezone.now()
    overdue = Notice.objects.filter(
        status__in=_AWAITING,
        due_at__lt=moment,
        deadline_reviewed_at__isnull=True,
        case__status__in=[CaseStatus.OPEN, CaseStatus.IN_PROGRESS],
    ).order_by("due_at")
    for notice_id in list(overdue.filter(deadline_recheck_at__isnull=True).values_list("pk", flat=True)[:limit]):
        notice_deadline_recheck(notice_id=notice_id, now=moment)
    reviewed = 0
    for notice_id in list(overdue.filter(deadline_recheck_at__isnull=False).values_list("pk", flat=True)[:limit]):
        reviewed += int(notice_deadline_review(notice_id=notice_id, now=moment))
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
    notice_audit(Actor.system(), notice, "notice.overdue", {"rechecks": len(items)})


def notice_deadline_review(*, notice_id: int, now: datetime) -> bool:
    """Decide an overdue notice once its re-check is in: content gone, or propose the next rung.

    A check still running is waited for up to NOTICES_RECHECK_WAIT_MINUTES; after that (or when
    the check could not reach the page) the content counts as still up, because a platform that
    let its deadline pass should not gain time from a slow or blocked check. When the next rung
    is the hosting provider, it is looked up first, outside the transaction (a network call).
    """
    route: HostingRoute | None = None
    notice = Notice.objects.filter(pk=notice_id).first()
    pending = notice is not None and notice.deadline_reviewed_at is None
    if notice is not None and pending and _next_rung(notice) == EscalationRung.HOSTING_PROVIDER:
        up = [i for i in notice.items.all() if i.status in _STILL_UP]
        addresses = [a for a in (last_address(i) for i in up) if a]
        if up:
            route = hosting_route(address=addresses[0] if addresses else None)
    return _notice_deadline_review(notice_id=notice_id, now=now, route=route)


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
    running = ItemCheck.objects.filter(item__in=items, state__in=[CheckState.PENDING, CheckState.FETCHED]).exists()
    waited = now - notice.deadline_recheck_at >= timedelta(minutes=settings.NOTICES_RECHECK_WAIT_MINUTES)
    if running and not waited:
        return False
    still_up = [item for item in items if item.status in _STILL_UP]
    notice.deadline_reviewed_at = now
    notice.save(update_fields=["deadline_reviewed_at", "updated_at"])
    if not still_up:
        notice_audit(Actor.system(), notice, "notice.deadline_content_gone", {"items": len(items)})
        return True
    proposed = _escalation_propose(notice, still_up, route)
    notice_audit(
        Actor.system(),
        notice,
        "notice.escalation_proposed",
        {
            "still_up": len(still_up),
            "escalations": [e.pk for e in proposed],
            "rung": proposed[0].rung if proposed else None,
        },
    )
    return True


def _next_rung(notice: Notice) -> str | None:
    origin = Escalation.objects.filter(draft_notice=notice).first()
    if origin is None:
        return RUNG_ORDER[0]
    index = RUNG_ORDER.index(EscalationRung(origin.rung)) + 1
    return RUNG_ORDER[index] if index < len(RUNG_ORDER) else None


def _escalation_draft(origin: Notice, items: list[ReportedItem], platform: Platform, details: str) -> Notice:
    """A draft notice for a rung: same case and links; the origin's basis when it applies, else the best one."""
    choices = b.select_bases(origin.case, platform)
    basis = next((c for c in choices if c.basis.code == origin.basis), choices[0])
    channel, recipient = choose_channel(platform, basis.basis.code)
    notice = Notice.objects.create(
        case=origin.case,
        platform=platform,
        basis=basis.basis.code,
        basis_reason=basis.reason,
        channel=channel,
        recipient=recipient,
        details=details,
    )
    notice.items.set(items)
    notice_audit(
        Actor.system(),
        notice,
        "notice.drafted",
        {
            "platform": platform.slug,
            "basis": notice.basis,
            "channel": channel,
            "items": len(items),
            "escalation_of": origin.pk,
        },
    )
    return notice


def _hosting_note(route: HostingRoute) -> str:
    if route.source == "cloudflare_ranges":
        return _(
            "The site is behind Cloudflare (its address is in Cloudflare's published ranges). Cloudflare does not "
            "host the content: its abuse form (category NCSEI) forwards the report to the real host and tells you "
            "who that is."
        )
    provider = route.provider
    assert provider is not None
    return _(
        "Hosting provider found by RDAP: %(name)s (network %(network)s), abuse contact %(email)s. Source: %(source)s."
    ) % {
        "name": provider.name,
        "network": provider.network or "-",
        "email": provider.abuse_email,
        "source": provider.source_url,
    }


def _escalation_propose(notice: Notice, still_up: list[ReportedItem], route: HostingRoute | None) -> list[Escalation]:
    rung = _next_rung(notice)
    if rung is None:
        return []
    sent = notice.sent_at.strftime("%Y-%m-%d %H:%M UTC") if notice.sent_at else "-"
    ticket = f" (ticket {notice.platform_ticket})" if notice.platform_ticket else ""
    with translation.override(settings.NOTICES_LANGUAGE):
        earlier = _(
            "We sent a notice about these links on %(sent)s%(ticket)s. The deadline passed and they are still online."
        ) % {"sent": sent, "ticket": ticket}
    rows: list[tuple[str, Platform | None, str, str, str, str]] = []  # target, platform, details, note, link, packet
    if rung == EscalationRung.FOLLOW_UP:
        rows.append((notice.platform.slug, notice.platform, earlier, "", "", ""))
    elif rung == EscalationRung.HOSTING_PROVIDER:
        route = route or hosting_route(address=None)
        record_lookup(Actor.system(), notice.case, route, "escalation")
        host = hosting_platform(actor=Actor.system(), route=route) if route.found else None
        if host is not None:
            rows.append((f"host:{host.slug}", host, earlier, _hosting_note(route), "", ""))
        else:
            note = _(
                "The hosting provider was not found (%(reason)s): this draft goes to the platform's own abuse "
                "contact. Find the host of the site (an RDAP or WHOIS lookup of its address) and write to its abuse "
                "address as well."
            ) % {"reason": route.detail or _("its platform is not active in the registry")}
            rows.append((f"host:{notice.platform.slug}", notice.platform, earlier, note, "", ""))
    elif rung == EscalationRung.SEARCH_DEINDEX:
        for engine in Platform.objects.filter(slug__in=SEARCH_ENGINES, is_active=True).order_by("slug"):
            rows.append((engine.slug, engine, earlier, "", "", ""))
    else:
        notices = list(notice.case.notices.select_related("platform").order_by("sent_at", "id"))
        for regulator in packets.regulators_for(notice.case):
            packet = packets.regulator_packet(notice.case, regulator, notices)
            rows.append((regulator.code, None, "", regulator.name, regulator.link, packet))
    created: list[Escalation] = []
    for target, platform, details, note, link, packet in rows:
        if Escalation.objects.filter(notice=notice, rung=rung, target=target).exists():
            continue
        draft = _escalation_draft(notice, still_up, platform, details) if platform is not None else None
        created.append(
            Escalation.objects.create(
                notice=notice, rung=rung, target=target, draft_notice=draft, note=note, link=link, packet=packet
            )
        )
    return created


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
