"""Drafting notices: which platform, which legal basis, which channel, and no duplicates.

The platform comes from the items' hosts (the registry), or for a host the registry does not
know, from the hosting provider of the address the site was served from (Cloudflare's ranges, or
RDAP: `registry.services.hosting_route`), or from a contact the advocate enters (the site's or its
host's abuse email or report form), which is saved to the registry for every later case. The
advocate can always go on: a lookup that finds nothing is explained and recorded, and the advocate
is asked for the contact instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.cases.services._base import lock_case
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.matching.models import ItemCheck
from takedown.notices.models import Escalation, Notice, NoticeStatus
from takedown.notices.rendering import notice_context, render_context
from takedown.notices.services._base import choose_channel, is_trusted_flagger, notice_audit
from takedown.notices.validation import context_missing
from takedown.registry import bases as b
from takedown.registry.models import MemberState, Platform
from takedown.registry.selectors import platform_for_host
from takedown.registry.services import HostingRoute, hosting_platform, hosting_route, site_contact_record

#: The code of the refusal that asks the advocate for a site's contact (the page shows the fields).
HOST_CONTACT_NEEDED = "host_contact_needed"


def last_address(item: ReportedItem) -> str | None:
    """The address the item was last served from: the latest check that recorded one.

    A failed re-check records no address, but where the content was last seen is still the best
    lead to its host.
    """
    check = ItemCheck.objects.filter(item=item, pinned_ip__isnull=False).order_by("-id").first()
    return check.pinned_ip if check else None


def record_lookup(actor: Actor, case: Case, route: HostingRoute, purpose: str) -> None:
    audit_record(
        actor=actor,
        action="notice.hosting_looked_up",
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
        data={"purpose": purpose, **route.audit_data()},
    )


def _hosting_routes(actor: Actor, case: Case, items: Sequence[ReportedItem]) -> dict[int, HostingRoute]:
    """The hosting route of each item on a host the registry does not know (one lookup per address).

    Runs before the drafting transaction (RDAP is a network call and must not hold the case's
    lock); each lookup is recorded in its own transaction, so a lookup that found nothing stays on
    the timeline even though the draft is then refused.
    """
    routes: dict[int, HostingRoute] = {}
    by_address: dict[str | None, HostingRoute] = {}
    for item in items:
        if platform_for_host(item.host) is not None:
            continue
        address = last_address(item)
        if address not in by_address:
            by_address[address] = hosting_route(address=address)
            with transaction.atomic():
                record_lookup(actor, case, by_address[address], "draft")
        routes[item.pk] = by_address[address]
    return routes


def _platform_of(actor: Actor, items: Sequence[ReportedItem], routes: Mapping[int, HostingRoute]) -> Platform:
    platforms: dict[int, Platform] = {}
    for item in items:
        platform = platform_for_host(item.host)
        route = routes.get(item.pk)
        if platform is None and route is not None and route.found:
            platform = hosting_platform(actor=actor, route=route)
        if platform is None:
            reason = route.detail if route is not None and route.detail else _("It is not in the registry.")
            raise InvalidInput(
                _(
                    "We do not know who runs %(host)s, and its hosting provider was not found: %(reason)s Enter the "
                    "site's abuse email address or the address of its report form (or its hosting provider's) and "
                    "draft again: it is saved to the registry for the next case."
                )
                % {"host": item.host, "reason": reason},
                code=HOST_CONTACT_NEEDED,
            )
        platforms[platform.pk] = platform
    if len(platforms) > 1:
        raise InvalidInput(
            _("A notice covers links on one platform only; these are on %(names)s. Draft one notice for each.")
            % {"names": ", ".join(sorted(p.name for p in platforms.values()))}
        )
    return next(iter(platforms.values()))


def _record_host_contacts(actor: Actor, items: Sequence[ReportedItem], contact: str, name: str, provider: bool) -> None:
    """Save the contact the advocate entered for every host of these items the registry does not know."""
    hosts = sorted({item.host for item in items if platform_for_host(item.host) is None})
    for host in hosts:
        site_contact_record(actor=actor, host=host, contact=contact, name=name, provider=provider)


def notice_draft(
    *,
    actor: Actor,
    case: Case,
    items: Sequence[ReportedItem],
    basis_code: str | None = None,
    member_state: str = "",
    host_contact: str = "",
    host_name: str = "",
    host_is_provider: bool = False,
) -> Notice:
    """Draft a notice for some of a case's items, all on one platform.

    The platform comes from the items' hosts (registry domains). For a host the registry does not
    know: the contact the advocate gives (`host_contact`, an abuse email or a report form URL of
    the site, or of its hosting provider with `host_is_provider`), which is saved to the registry
    first; else the address the site was served from (Cloudflare, or the provider RDAP names; the
    lookup runs first, outside the transaction). When neither gives a recipient the draft is
    refused with code HOST_CONTACT_NEEDED, asking for the contact. The basis is `basis_code` if it
    applies, else the best of `select_bases`. DMCA is used only when asked for by code (opt-in).
    `member_state` names the EU Member State whose offence a DSA notice cites. The draft is
    rendered and validated at once; what is missing is recorded (by code) and shown to the
    advocate, who can complete it before approval.
    """
    if member_state and member_state not in MemberState.values:
        raise InvalidInput(_("Choose an EU Member State from the list."))
    ours = bool(items) and case.is_active and all(i.case_id == case.pk for i in items)
    if ours and host_contact.strip():
        _record_host_contacts(actor, items, host_contact, host_name, host_is_provider)
    routes = _hosting_routes(actor, case, items) if ours else {}  # else refused below, without a lookup
    return _notice_draft(
        actor=actor, case=case, items=items, basis_code=basis_code, routes=routes, member_state=member_state
    )


#: A notice in one of these states is on its way or working: another one for the same link and
#: platform would only be a duplicate (follow-ups go through escalations, which do not pass here).
#: Drafts do not count: an advocate may draft on several legal bases and send one.
_OPEN_NOTICE_STATES = (
    NoticeStatus.READY,
    NoticeStatus.APPROVED,
    NoticeStatus.QUEUED,
    NoticeStatus.DELIVERY_FAILED,
    NoticeStatus.SENT,
    NoticeStatus.ACKNOWLEDGED,
    NoticeStatus.NEEDS_INFO,
)


def _refuse_duplicates(*, items: Sequence[ReportedItem], platform: Platform, exclude_id: int | None = None) -> None:
    """Refuse a second open notice to the same platform for the same link.

    Duplicate notices waste a platform's reviewers and, sent in volume, are how a service like
    this gets its notices ignored. A link can be in a new notice once the earlier one ended
    (removed, rejected) - for example after the content came back.
    """
    others = Notice.objects.filter(platform=platform, status__in=_OPEN_NOTICE_STATES, items__in=list(items))
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    open_notice = others.order_by("id").first()
    if open_notice is not None:
        raise Conflict(
            _("A notice to %(platform)s for this link is already under way (%(reference)s). Use that one.")
            % {"platform": platform.name, "reference": open_notice.reference}
        )


def refuse_duplicate_notice(notice: Notice) -> None:
    """A draft about to go further must not duplicate an open notice (escalation follow-ups may)."""
    if Escalation.objects.filter(draft_notice=notice).exists():
        return
    _refuse_duplicates(items=list(notice.items.all()), platform=notice.platform, exclude_id=notice.pk)


@transaction.atomic
def _notice_draft(
    *,
    actor: Actor,
    case: Case,
    items: Sequence[ReportedItem],
    basis_code: str | None,
    routes: Mapping[int, HostingRoute],
    member_state: str = "",
) -> Notice:
    case = lock_case(case.pk)
    if not case.is_active:
        raise Conflict(_("This case is closed. No notice can be drafted."))
    if not items:
        raise InvalidInput(_("Choose at least one link for the notice."))
    if any(item.case_id != case.pk for item in items):
        raise InvalidInput(_("A notice covers links of its own case only."))
    if any(item.status == ItemStatus.NEEDS_REVIEW for item in items):
        # Detector scores alone (a face like the survivor's, no hash match) are never grounds
        # for a notice: a person confirms the link first (matching.services.item_review_decide).
        raise InvalidInput(_("A link waiting for review cannot go in a notice yet. Review it first."))
    platform = _platform_of(actor, items, routes)
    _refuse_duplicates(items=items, platform=platform)
    hosted = next((r for r in routes.values() if r.found), None)
    choices = b.select_bases(case, platform, include_opt_in=basis_code is not None)
    if basis_code is None:
        choice = choices[0]
    else:
        matching = [c for c in choices if c.basis.code == basis_code]
        if not matching:
            raise InvalidInput(
                _("That legal basis does not apply to this case and platform. Applicable: %(names)s.")
                % {"names": ", ".join(str(c.basis.short_title) for c in choices)}
            )
        choice = matching[0]
    route = choose_channel(platform, choice.basis.code, trusted_flagger=is_trusted_flagger(case))
    notice = Notice.objects.create(
        case=case,
        platform=platform,
        basis=choice.basis.code,
        basis_reason=choice.reason,
        channel=route.channel,
        recipient=route.recipient,
        intake=route.intake,
        member_state=member_state,
        created_by_id=actor.user_id,
    )
    notice.items.set(items)
    ctx = notice_context(notice)
    missing = context_missing(ctx, render_context(ctx).text)
    notice_audit(
        actor,
        notice,
        "notice.drafted",
        {
            "platform": platform.slug,
            "basis": notice.basis,
            "channel": route.channel,
            "intake": route.intake,
            "items": len(items),
            "missing": [m.code for m in missing],
            **({"hosting": hosted.audit_data()} if hosted else {}),
        },
    )
    return notice
