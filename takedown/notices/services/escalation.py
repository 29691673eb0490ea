"""Proposing next steps (the ladder of `notices.ladder`): on sending, when time passes, on rejection,
and when a platform's "removed" is contradicted by a re-check.

Nothing is sent by proposing: a step comes with a draft notice (completed, approved and sent as
usual) or, for a regulator, dispute body, helpline or the police, a packet to file by hand. Each
function runs inside its caller's transaction (the notice locked, case first) and makes no network
call: a hosting-provider lookup is done by the caller beforehand. Proposals are idempotent: one
per (notice, step, addressee), and a route once per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from takedown.cases.models import ReportedItem
from takedown.core.access import Actor
from takedown.notices import ladder, packets
from takedown.notices.models import (
    Escalation,
    EscalationReason,
    EscalationRung,
    Notice,
)
from takedown.notices.services._base import choose_channel, is_trusted_flagger, notice_audit
from takedown.notices.services.drafting import record_lookup
from takedown.registry import bases as b
from takedown.registry.models import Platform, PlatformKind
from takedown.registry.services import HostingRoute, hosting_platform

SEARCH_ENGINES = ("google-search", "bing")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _escalation_draft(
    origin: Notice, items: Sequence[ReportedItem], platform: Platform, details: str, *, keep_basis: bool = True
) -> Notice:
    """A draft notice for a step: same case and links; the origin's basis when it applies here, else
    the best one; the origin's Member State, provision, verification and media links carried over."""
    choices = b.select_bases(origin.case, platform)
    choice = next((c for c in choices if keep_basis and c.basis.code == origin.basis), choices[0])
    route = choose_channel(platform, choice.basis.code, trusted_flagger=is_trusted_flagger(origin.case))
    notice = Notice.objects.create(
        case=origin.case,
        platform=platform,
        basis=choice.basis.code,
        basis_reason=choice.reason,
        channel=route.channel,
        recipient=route.recipient,
        intake=route.intake,
        details=details,
        member_state=origin.member_state,
        national_offence=origin.national_offence,
        requester_verification=origin.requester_verification,
        media_links=list(origin.media_links or []),
    )
    notice.items.set(items)
    notice_audit(
        Actor.system(),
        notice,
        "notice.drafted",
        {
            "platform": platform.slug,
            "basis": notice.basis,
            "channel": route.channel,
            "intake": route.intake,
            "items": len(items),
            "escalation_of": origin.pk,
        },
    )
    return notice


def _propose(
    notice: Notice,
    *,
    rung: str,
    reason: str,
    target: str,
    platform: Platform | None = None,
    items: Sequence[ReportedItem] = (),
    details: str = "",
    note: str = "",
    link: str = "",
    packet: str = "",
    keep_basis: bool = True,
) -> Escalation | None:
    if Escalation.objects.filter(notice=notice, rung=rung, target=target).exists():
        return None
    draft = _escalation_draft(notice, items, platform, details, keep_basis=keep_basis) if platform is not None else None
    return Escalation.objects.create(
        notice=notice,
        rung=rung,
        reason=reason,
        target=target,
        draft_notice=draft,
        note=note,
        link=link,
        packet=packet,
    )


def _routes(notice: Notice, when: str, reason: str, why: str, *, bases: Sequence[str] = ()) -> list[Escalation]:
    """The country's routes for this moment, each once per case, with its packet."""
    case = notice.case
    proposed = set(Escalation.objects.filter(notice__case=case).values_list("target", flat=True))
    # A route tied to a law (the FTC, the Grievance Appellate Committee) needs a notice on it that
    # went through the intake the law designates: only that shows the platform failed the law.
    sent_bases = bases or list(
        case.notices.filter(sent_at__isnull=False, legal_deadline=True).values_list("basis", flat=True)
    )
    notices = list(case.notices.select_related("platform").order_by("sent_at", "id"))
    created = []
    for route in ladder.routes_for(case.jurisdictions or [], when, bases_sent=sent_bases, exclude=proposed):
        escalation = _propose(
            notice,
            rung=route.rung,
            reason=reason,
            target=route.code,
            note=str(route.name),
            link=route.link,
            packet=packets.route_packet(case, route, notices, reason=why),
        )
        if escalation is not None:
            created.append(escalation)
    return created


# ---------------------------------------------------------------------------------------------------
# Day 0


def escalations_on_sent(notice: Notice) -> list[Escalation]:
    """When a notice goes: search de-indexing in parallel (links not yet proposed to each engine),
    and the day-0 routes (eSafety for Australians)."""
    created: list[Escalation] = []
    items = list(notice.items.order_by("id"))
    if notice.platform.kind != PlatformKind.SEARCH:
        engines = Platform.objects.filter(slug__in=SEARCH_ENGINES, is_active=True).order_by("slug")
        for engine in engines:
            covered = set(
                Escalation.objects.filter(
                    notice__case=notice.case, rung=EscalationRung.SEARCH_DEINDEX, target=engine.slug
                ).values_list("draft_notice__items", flat=True)
            )
            fresh = [item for item in items if item.pk not in covered]
            if not fresh:
                continue
            with translation.override(settings.NOTICES_LANGUAGE):
                note = _(
                    "De-indexing removes the results from %(engine)s only; the page stays where it is. It can go "
                    "at once, alongside the notice to the platform."
                ) % {"engine": engine.name}
            escalation = _propose(
                notice,
                rung=EscalationRung.SEARCH_DEINDEX,
                reason=EscalationReason.SENT,
                target=engine.slug,
                platform=engine,
                items=fresh,
                note=note,
                keep_basis=False,
            )
            if escalation is not None:
                created.append(escalation)
    with translation.override(settings.NOTICES_LANGUAGE):
        why = _("A notice was sent to %(platform)s on %(sent)s.") % {
            "platform": notice.platform.name,
            "sent": _when(notice.sent_at),
        }
    created += _routes(notice, ladder.DAY0, EscalationReason.SENT, why)
    return created


# ---------------------------------------------------------------------------------------------------
# Time passed with the content up


def hosting_step_due(notice: Notice) -> bool:
    """Whether this overdue notice's next step is the hosting provider (the caller looks it up first)."""
    origin = Escalation.objects.filter(draft_notice=notice).first()
    return (
        origin is not None
        and origin.rung == EscalationRung.FOLLOW_UP
        and not notice.platform.first_party
        and notice.platform.kind not in {PlatformKind.HOSTING, PlatformKind.CDN, PlatformKind.SEARCH}
    )


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


def escalations_on_overdue(
    notice: Notice, still_up: list[ReportedItem], route: HostingRoute | None
) -> list[Escalation]:
    """The next step for a notice whose time passed with content still up.

    An original notice (or a re-filed one) gets a follow-up; a follow-up gets the hosting provider,
    unless the platform hosts its own content, whose next step is the country's routes; a hosting
    provider's or an appeal's lapse goes to the routes too. A missed legal deadline (the intake that
    starts it) also proposes the route that enforces it (the FTC, the Grievance Appellate Committee).
    """
    origin = Escalation.objects.filter(draft_notice=notice).first()
    step = origin.rung if origin is not None else None
    with translation.override(settings.NOTICES_LANGUAGE):
        ticket = f" (ticket {notice.platform_ticket})" if notice.platform_ticket else ""
        earlier = _(
            "We sent a notice about these links on %(sent)s (reference %(reference)s)%(ticket)s. The time for it "
            "passed and they are still online."
        ) % {"sent": _when(notice.sent_at), "reference": notice.reference, "ticket": ticket}
        why = _("The notice to %(platform)s of %(sent)s went unanswered past %(due)s.") % {
            "platform": notice.platform.name,
            "sent": _when(notice.sent_at),
            "due": _when(notice.due_at),
        }
    created: list[Escalation | None] = []
    if notice.legal_deadline:
        created += _routes(notice, ladder.AFTER_LEGAL_DEADLINE, EscalationReason.OVERDUE, why)
    first_round = step is None or step in {
        EscalationRung.REFILE,
        EscalationRung.SEARCH_DEINDEX,
    }
    if first_round:
        created.append(
            _propose(
                notice,
                rung=EscalationRung.FOLLOW_UP,
                reason=EscalationReason.OVERDUE,
                target=notice.platform.slug,
                platform=notice.platform,
                items=still_up,
                details=earlier,
            )
        )
    elif notice.platform.kind == PlatformKind.SEARCH:
        pass  # de-indexing followed up once; the host and the routes are the other steps' business
    elif hosting_step_due(notice):
        route = route or HostingRoute(source="", reason="no_address")
        record_lookup(Actor.system(), notice.case, route, "escalation")
        host = hosting_platform(actor=Actor.system(), route=route) if route.found else None
        if host is not None:
            created.append(
                _propose(
                    notice,
                    rung=EscalationRung.HOSTING_PROVIDER,
                    reason=EscalationReason.OVERDUE,
                    target=f"host:{host.slug}",
                    platform=host,
                    items=still_up,
                    details=earlier,
                    note=_hosting_note(route),
                )
            )
        else:
            note = _(
                "The hosting provider was not found (%(reason)s). Enter the host's abuse contact on the notice page "
                "(it is saved to the registry), or go to the country's routes."
            ) % {"reason": route.detail or _("its platform is not active in the registry")}
            created.append(
                _propose(
                    notice,
                    rung=EscalationRung.HOSTING_PROVIDER,
                    reason=EscalationReason.OVERDUE,
                    target=f"host:{notice.platform.slug}",
                    note=note,
                )
            )
            created += _routes(notice, ladder.AFTER_PLATFORM, EscalationReason.OVERDUE, why)
    else:
        created += _routes(notice, ladder.AFTER_PLATFORM, EscalationReason.OVERDUE, why)
    return [e for e in created if e is not None]


# ---------------------------------------------------------------------------------------------------
# Rejected


def escalations_on_rejection(notice: Notice) -> list[Escalation]:
    """A rejection proposes the appeal (the DSA internal complaint for DSA notices), a re-filed
    notice with what was missing, and the country's routes for a refusal."""
    items = list(notice.items.order_by("id"))
    with translation.override(settings.NOTICES_LANGUAGE):
        ticket = f" (ticket {notice.platform_ticket})" if notice.platform_ticket else ""
        decided = _("your decision of %(when)s on our notice %(reference)s%(ticket)s") % {
            "when": _when(notice.replied_at),
            "reference": notice.reference,
            "ticket": ticket,
        }
        said = _("You said: %(reason)s") % {"reason": notice.reply_reason or "-"}
        appeal = _("We ask you to review %(decided)s. %(said)s") % {"decided": decided, "said": said}
        if notice.basis == b.EU_DSA:
            appeal += " " + _(
                "This is a complaint through your internal complaint-handling system under Article 20 of the "
                "Digital Services Act, which is open to notifiers for at least six months after a decision."
            )
        appeal_note = (
            _("DSA Art. 20: the internal complaint is open for at least six months after the decision.")
            if notice.basis == b.EU_DSA
            else _("Use the platform's appeal or review route for its decision.")
        )
        refile = _("This notice is filed again after %(decided)s. %(said)s") % {"decided": decided, "said": said}
        refile_note = _(
            "Add what the platform said was missing before approving: for example the direct link to each image or "
            "video (and a time in a video), the Member State and its offence (EU), how the platform can verify who "
            "is asking (Brazil), or facts that show the person depicted did not consent."
        )
        why = _("%(platform)s rejected the notice of %(sent)s. %(said)s") % {
            "platform": notice.platform.name,
            "sent": _when(notice.sent_at),
            "said": said,
        }
    created: list[Escalation | None] = [
        _propose(
            notice,
            rung=EscalationRung.APPEAL,
            reason=EscalationReason.REJECTED,
            target=notice.platform.slug,
            platform=notice.platform,
            items=items,
            details=appeal,
            note=appeal_note,
        ),
        _propose(
            notice,
            rung=EscalationRung.REFILE,
            reason=EscalationReason.REJECTED,
            target=notice.platform.slug,
            platform=notice.platform,
            items=items,
            details=refile,
            note=refile_note,
        ),
    ]
    created += _routes(notice, ladder.ON_REJECTION, EscalationReason.REJECTED, why)
    return [e for e in created if e is not None]


# ---------------------------------------------------------------------------------------------------
# "Removed", but a re-check still finds it


def escalations_on_dispute(notice: Notice, still_up: list[tuple[ReportedItem, datetime | None]]) -> list[Escalation]:
    """The platform said removed; our check still finds the content: a follow-up saying so, and the routes."""
    with translation.override(settings.NOTICES_LANGUAGE):
        ticket = f" (ticket {notice.platform_ticket})" if notice.platform_ticket else ""
        found = "; ".join(f"{item.url} ({_('checked')} {_when(checked)})" for item, checked in still_up)
        details = _(
            "On %(replied)s you told us the content of our notice %(reference)s%(ticket)s was removed. Our check "
            "still finds it: %(found)s. Please remove it."
        ) % {"replied": _when(notice.replied_at), "reference": notice.reference, "ticket": ticket, "found": found}
        why = _("%(platform)s said the content was removed on %(replied)s, but a check still finds it.") % {
            "platform": notice.platform.name,
            "replied": _when(notice.replied_at),
        }
    created: list[Escalation | None] = [
        _propose(
            notice,
            rung=EscalationRung.FOLLOW_UP,
            reason=EscalationReason.DISPUTED,
            target=notice.platform.slug,
            platform=notice.platform,
            items=[item for item, _checked in still_up],
            details=details,
        )
    ]
    created += _routes(notice, ladder.AFTER_PLATFORM, EscalationReason.DISPUTED, why)
    return [e for e in created if e is not None]
