"""Writes for platforms and notices. Every change writes its audit event in the same transaction.

A notice moves draft -> ready -> approved -> sent -> acknowledged / removed / rejected /
needs_info, only through these functions (`_TRANSITIONS`). It cannot become ready, approved or
sent while its basis's required elements are missing. Sending freezes what was sent and starts
the basis's clock; the case's `next_deadline_at` is kept equal to its earliest open deadline.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Min, Model, Q
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus, ItemStatus, Jurisdiction, ReportedItem
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import ActorKind
from takedown.fetching.domains import normalise_host
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck
from takedown.notices import bases as b
from takedown.notices import delivery, hosting, packets
from takedown.notices.delivery import TransportResult
from takedown.notices.hosting import HostingProvider
from takedown.notices.models import (
    OPEN_STATUSES,
    RUNG_ORDER,
    ChannelKind,
    DeliveryAttempt,
    DeliveryOutcome,
    Escalation,
    EscalationRung,
    EscalationStatus,
    Notice,
    NoticeChannel,
    NoticeStatus,
    Platform,
    PlatformChannel,
    PlatformDomain,
)
from takedown.notices.rendering import NoticeContext, RenderedNotice, notice_context, notice_pdf, render_context
from takedown.notices.selectors import notice_hash_backed, platform_for_host
from takedown.notices.validation import MissingElement, context_missing, elements_digest

logger = logging.getLogger(__name__)

REGISTRY_FORMAT = "takedown-platforms"

# ---------------------------------------------------------------------------------------------------
# Platform registry


@dataclass(frozen=True)
class PlatformsLoadResult:
    version: str
    created: int
    updated: int
    unchanged: int
    deactivated: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def _sync(model: type[Model], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    """update_or_create on `lookup`, but writing only when a value differs.

    Django's update_or_create saves (and bumps `updated_at`) even when nothing changed; loading
    the same registry twice must change nothing, so compare first. The row is locked while
    compared (the caller holds a transaction).
    """
    obj = model._default_manager.select_for_update().filter(**lookup).first()
    if obj is None:
        return model._default_manager.create(**lookup, **values), "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    if any(f.name == "updated_at" for f in model._meta.get_fields()):
        changed.append("updated_at")
    obj.save(update_fields=changed)
    return obj, "updated"


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: expected a list of strings")
    return value


def _platform_values(entry: Mapping[str, Any], version: str) -> dict[str, Any]:
    where = f"platform {entry.get('slug')!r}"
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where}: name is required")
    serves_raw = entry.get("serves", "all")
    serves = list(Jurisdiction.values) if serves_raw == "all" else _str_list(serves_raw, f"{where}.serves")
    unknown = [j for j in serves if j not in Jurisdiction.values]
    if unknown:
        raise InvalidInput(f"{where}: unknown jurisdictions {unknown}")
    bases = _str_list(entry.get("bases"), f"{where}.bases")
    unknown = [code for code in bases if code not in b.BASES]
    if unknown:
        raise InvalidInput(f"{where}: unknown legal bases {unknown}")
    partner = entry.get("stopncii_partner")
    if partner is not None and not isinstance(partner, bool):
        raise InvalidInput(f"{where}: stopncii_partner must be true, false or null")
    return {
        "name": name.strip(),
        "serves": serves,
        "supported_bases": bases,
        "stopncii_partner": partner,
        "confidence": str(entry.get("confidence") or ""),
        "source_url": str(entry.get("source_url") or ""),
        "notes": str(entry.get("notes") or ""),
        "data_version": version,
        "is_active": True,
    }


def _sync_domains(platform: Platform, domains: list[str]) -> bool:
    wanted = []
    for raw in domains:
        try:
            wanted.append(normalise_host(raw))
        except ValueError as exc:
            raise InvalidInput(f"platform {platform.slug!r}: {exc}") from exc
    changed = False
    for domain in wanted:
        _row, outcome = _sync(PlatformDomain, {"domain": domain}, {"platform": platform})
        changed |= outcome != "unchanged"
    deleted, _detail = platform.domains.exclude(domain__in=wanted).delete()
    return changed or bool(deleted)


def _sync_channels(platform: Platform, channels: Any) -> bool:
    if channels is None:
        channels = []
    if not isinstance(channels, list):
        raise InvalidInput(f"platform {platform.slug!r}: channels must be a list")
    changed = False
    keep: list[int] = []
    for position, entry in enumerate(channels):
        where = f"platform {platform.slug!r} channel {position + 1}"
        if not isinstance(entry, dict) or entry.get("kind") not in ChannelKind.values:
            raise InvalidInput(f"{where}: kind must be one of {ChannelKind.values}")
        address = entry.get("address") if entry["kind"] == ChannelKind.EMAIL else entry.get("url")
        if not isinstance(address, str) or not address.strip():
            raise InvalidInput(f"{where}: an email channel needs an address, the others a url")
        bases = _str_list(entry.get("bases"), f"{where}.bases")
        if any(code not in b.BASES for code in bases):
            raise InvalidInput(f"{where}: unknown legal bases")
        row, outcome = _sync(
            PlatformChannel,
            {"platform": platform, "kind": entry["kind"], "address": address.strip()},
            {
                "bases": bases,
                "fields": _str_list(entry.get("fields"), f"{where}.fields"),
                "note": str(entry.get("note") or ""),
                "position": position,
            },
        )
        keep.append(row.pk)
        changed |= outcome != "unchanged"
    deleted, _detail = platform.channels.exclude(pk__in=keep).delete()
    return changed or bool(deleted)


@transaction.atomic
def platforms_load(*, actor: Actor, data: Mapping[str, Any]) -> PlatformsLoadResult:
    """Load the platform registry (the parsed `data/platforms.yaml`), idempotently.

    Platforms are matched by slug; their domains and channels become exactly those in the file.
    A platform that came from an earlier version of the file and is no longer in it is
    deactivated, not deleted (notices refer to it); platforms added in the admin are left alone.
    """
    if data.get("format") != REGISTRY_FORMAT:
        raise InvalidInput(f"not a platform registry (format must be {REGISTRY_FORMAT!r})")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise InvalidInput("the registry needs a version")
    entries = data.get("platforms")
    if not isinstance(entries, list):
        raise InvalidInput("platforms must be a list")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    slugs: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
            raise InvalidInput("every platform needs a slug")
        slug = entry["slug"]
        if slug in slugs:
            raise InvalidInput(f"platform {slug!r} is listed twice")
        slugs.append(slug)
        platform, outcome = _sync(Platform, {"slug": slug}, _platform_values(entry, version))
        domains_changed = _sync_domains(platform, _str_list(entry.get("domains"), f"platform {slug!r}.domains"))
        channels_changed = _sync_channels(platform, entry.get("channels"))
        if outcome == "unchanged" and (domains_changed or channels_changed):
            outcome = "updated"
        counts[outcome] += 1
    deactivated = (
        Platform.objects.filter(is_active=True).exclude(data_version="").exclude(slug__in=slugs).update(is_active=False)
    )
    result = PlatformsLoadResult(version=version, deactivated=deactivated, **counts)
    if result.changed:
        audit_record(
            actor=actor,
            action="platforms.loaded",
            subject_type="platform_registry",
            subject_id=version[:64],
            data={"version": version, **counts, "deactivated": deactivated},
        )
    return result


# ---------------------------------------------------------------------------------------------------
# Notices

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
_EDITABLE = {NoticeStatus.DRAFT, NoticeStatus.READY, NoticeStatus.APPROVED, NoticeStatus.DELIVERY_FAILED}
REPLY_OUTCOMES = (NoticeStatus.ACKNOWLEDGED, NoticeStatus.REMOVED, NoticeStatus.REJECTED, NoticeStatus.NEEDS_INFO)


def _audit(actor: Actor, notice: Notice, action: str, data: dict[str, Any] | None = None) -> None:
    """Notice events are case events (subject "case"), so they appear on the case's timeline."""
    audit_record(
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=notice.case_id,
        organization_id=notice.case.organization_id,
        data={"notice_id": notice.pk, **(data or {})},
    )


def _transition(notice: Notice, to: str) -> None:
    if to not in _TRANSITIONS[notice.status]:
        raise Conflict(
            _("A notice that is %(from)s cannot become %(to)s.")
            % {"from": NoticeStatus(notice.status).label, "to": NoticeStatus(to).label}
        )
    notice.status = to


def _refuse_missing(missing: list[MissingElement]) -> None:
    if missing:
        raise InvalidInput(
            _("This notice is missing: %(names)s.") % {"names": "; ".join(m.name for m in missing)},
            code="notice_incomplete",
        )


def _locked(notice: Notice) -> Notice:
    return (
        Notice.objects.select_for_update(of=("self",))
        .select_related("case__organization", "platform")
        .get(pk=notice.pk)
    )


def _refresh_next_deadline(case_id: int) -> None:
    """Case.next_deadline_at := the earliest due time among the case's open notices (or none)."""
    earliest = Notice.objects.filter(case_id=case_id, status__in=OPEN_STATUSES, due_at__isnull=False).aggregate(
        earliest=Min("due_at")
    )["earliest"]
    Case.objects.filter(pk=case_id).update(next_deadline_at=earliest)


def _choose_channel(platform: Platform, basis_code: str) -> tuple[str, str]:
    """The first channel (in the registry's order of preference) that takes this basis."""
    for channel in platform.channels.order_by("position", "id"):
        if not channel.serves_basis(basis_code):
            continue
        if channel.kind == ChannelKind.API:
            return NoticeChannel.WEBHOOK, channel.address
        if channel.kind == ChannelKind.EMAIL:
            return NoticeChannel.EMAIL, channel.address
        return NoticeChannel.FORM, channel.address
    return NoticeChannel.FORM, ""


# ---------------------------------------------------------------------------------------------------
# Unknown hosts: the hosting provider

# The bases a notice to a hosting provider found by RDAP may use. The EU DSA's notice-and-action
# duty (Art. 16) is written for hosting services; India's IT Rules bind every intermediary, web
# hosts included (IT Act s. 2(1)(w)); every host has an acceptable-use policy. The TAKE IT DOWN
# Act and the UK OSA reach services that publish user content (a "covered platform", a
# user-to-user service), which a plain web host usually is not, so they are left out: the advocate
# can still send under the platform's policy, and the registry can list a host with more.
HOSTING_BASES = [b.EU_DSA, b.IN_IT_RULES, b.PLATFORM_POLICY]
CLOUDFLARE_SLUG = "cloudflare"


@dataclass(frozen=True)
class HostingRoute:
    """Where notices about a site go when the registry does not know its host, and how that was found.

    `source` is "cloudflare_ranges" (the address is Cloudflare's), "rdap" (a provider was found) or
    "" (nothing found: `reason` is a code, `detail` says it in words).
    """

    source: str
    provider: HostingProvider | None = None
    reason: str = ""
    detail: str = ""

    @property
    def found(self) -> bool:
        return bool(self.source)

    def audit_data(self) -> dict[str, Any]:
        """What is recorded: who was found and how; never the address, the site or the survivor."""
        return {
            "source": self.source or None,
            "provider": self.provider.name if self.provider else ("Cloudflare" if self.source else None),
            "rdap_server": settings.NOTICES_RDAP_URL if self.source == "rdap" else None,
            "reason": self.reason or None,
        }


def _last_address(item: ReportedItem) -> str | None:
    """The address the item was last served from: the latest check that recorded one.

    A failed re-check records no address, but where the content was last seen is still the best
    lead to its host.
    """
    check = ItemCheck.objects.filter(item=item, pinned_ip__isnull=False).order_by("-id").first()
    return check.pinned_ip if check else None


def hosting_route(*, address: str | None) -> HostingRoute:
    """Cloudflare's ranges first, then the configured RDAP lookup. A network call; writes nothing."""
    if not address:
        return HostingRoute(
            source="", reason="no_address", detail=_("No check has recorded the address the site is served from yet.")
        )
    if hosting.is_cloudflare(address):
        return HostingRoute(source="cloudflare_ranges")
    lookup = hosting.hosting_lookup()
    if lookup is None:
        return HostingRoute(
            source="", reason="disabled", detail=_("Hosting provider lookups are not configured on this server.")
        )
    answer = hosting.explain(lookup, address)
    if answer.provider is None:
        return HostingRoute(source="", reason=answer.reason, detail=answer.detail)
    return HostingRoute(source="rdap", provider=answer.provider)


def _hosting_slug(provider: HostingProvider) -> str:
    """ "host-<handle>": stable across lookups, so the provider's platform is found again and reused."""
    tail = slugify(provider.handle) or hashlib.sha256(provider.handle.encode()).hexdigest()[:16]
    return ("host-" + tail)[:64].rstrip("-")


def _hosting_platform(actor: Actor, route: HostingRoute) -> Platform | None:
    """The platform notices to this host go to: Cloudflare's, or one created (or reused) for the provider.

    A provider's platform is made like an admin-made one (no data version, so the registry
    loader leaves it alone) with an email channel to the abuse address RDAP named; if RDAP later
    names another address, it is added as the preferred channel and the old one kept.
    """
    if route.source == "cloudflare_ranges":
        return Platform.objects.filter(slug=CLOUDFLARE_SLUG, is_active=True).first()
    provider = route.provider
    if provider is None:
        return None
    platform, created = Platform.objects.get_or_create(
        slug=_hosting_slug(provider),
        defaults={
            "name": provider.name,
            "serves": list(Jurisdiction.values),
            "supported_bases": list(HOSTING_BASES),
            "confidence": "rdap",
            "source_url": provider.source_url,
            "notes": f"Hosting provider found by RDAP; network {provider.network}.",
        },
    )
    if not platform.is_active:
        return None
    channel, channel_created = PlatformChannel.objects.get_or_create(
        platform=platform, kind=ChannelKind.EMAIL, address=provider.abuse_email, defaults={"position": 0}
    )
    if channel_created and not created:
        platform.channels.exclude(pk=channel.pk).update(position=F("position") + 1)
    if created:
        audit_record(
            actor=actor,
            action="platform.hosting_created",
            subject_type="platform",
            subject_id=platform.pk,
            data={"slug": platform.slug, "provider": provider.name, "source": "rdap"},
        )
    return platform


def _record_lookup(actor: Actor, case: Case, route: HostingRoute, purpose: str) -> None:
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
        address = _last_address(item)
        if address not in by_address:
            by_address[address] = hosting_route(address=address)
            with transaction.atomic():
                _record_lookup(actor, case, by_address[address], "draft")
        routes[item.pk] = by_address[address]
    return routes


def _platform_of(actor: Actor, items: Sequence[ReportedItem], routes: Mapping[int, HostingRoute]) -> Platform:
    platforms: dict[int, Platform] = {}
    for item in items:
        platform = platform_for_host(item.host)
        route = routes.get(item.pk)
        if platform is None and route is not None and route.found:
            platform = _hosting_platform(actor, route)
        if platform is None:
            reason = route.detail if route is not None and route.detail else _("It is not in the registry.")
            raise InvalidInput(
                _(
                    "We do not know which platform runs %(host)s, and its hosting provider was not found: "
                    "%(reason)s Add it to the platform registry first."
                )
                % {"host": item.host, "reason": reason}
            )
        platforms[platform.pk] = platform
    if len(platforms) > 1:
        raise InvalidInput(
            _("A notice covers links on one platform only; these are on %(names)s. Draft one notice for each.")
            % {"names": ", ".join(sorted(p.name for p in platforms.values()))}
        )
    return next(iter(platforms.values()))


def notice_draft(*, actor: Actor, case: Case, items: Sequence[ReportedItem], basis_code: str | None = None) -> Notice:
    """Draft a notice for some of a case's items, all on one platform.

    The platform comes from the items' hosts (registry domains); for a host the registry does not
    know, from the address the site was served from (Cloudflare, or the provider RDAP names; the
    lookup runs first, outside the transaction). The basis is `basis_code` if it
    applies, else the best of `select_bases`. DMCA is used only when asked for by code (opt-in).
    The draft is rendered and validated at once; what is missing is recorded (by code) and shown
    to the advocate, who can complete it before approval.
    """
    ours = bool(items) and case.is_active and all(i.case_id == case.pk for i in items)
    routes = _hosting_routes(actor, case, items) if ours else {}  # else refused below, without a lookup
    return _notice_draft(actor=actor, case=case, items=items, basis_code=basis_code, routes=routes)


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
            _("A notice to %(platform)s for this link is already under way (notice %(id)d). Use that one.")
            % {"platform": platform.name, "id": open_notice.pk}
        )


def _refuse_duplicate_notice(notice: Notice) -> None:
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
) -> Notice:
    case = Case.objects.select_for_update(of=("self",)).select_related("organization").get(pk=case.pk)
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
    channel, recipient = _choose_channel(platform, choice.basis.code)
    notice = Notice.objects.create(
        case=case,
        platform=platform,
        basis=choice.basis.code,
        basis_reason=choice.reason,
        channel=channel,
        recipient=recipient,
        created_by_id=actor.user_id,
    )
    notice.items.set(items)
    ctx = notice_context(notice)
    missing = context_missing(ctx, render_context(ctx).text)
    _audit(
        actor,
        notice,
        "notice.drafted",
        {
            "platform": platform.slug,
            "basis": notice.basis,
            "channel": channel,
            "items": len(items),
            "missing": [m.code for m in missing],
            **({"hosting": hosted.audit_data()} if hosted else {}),
        },
    )
    return notice


@transaction.atomic
def notice_edit(
    *, actor: Actor, notice: Notice, details: str, dmca_work: str = "", dmca_acknowledged: bool = False
) -> Notice:
    """Change what the advocate adds. An approved notice goes back to draft: approval was for the old text."""
    notice = _locked(notice)
    if notice.status not in _EDITABLE:
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
    _audit(actor, notice, "notice.edited", {"from": previous, "dmca_acknowledged": dmca_acknowledged})
    return notice


@transaction.atomic
def notice_mark_ready(*, actor: Actor, notice: Notice) -> Notice:
    """Draft -> ready for approval, only when nothing required is missing."""
    notice = _locked(notice)
    _transition(notice, NoticeStatus.READY)
    _refuse_duplicate_notice(notice)
    ctx = notice_context(notice)
    _refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.save(update_fields=["status", "updated_at"])
    _audit(actor, notice, "notice.ready")
    return notice


@transaction.atomic
def notice_approve(*, actor: Actor, notice: Notice) -> Notice:
    """A person approves the notice (a draft passes through ready). Approval fixes its elements.

    The person is an advocate of the case's organisation or the survivor of the case, signed in
    with reference and PIN (DESIGN: approval is automatic only for hash matches the survivor
    pre-approved, which is a later step with its own service). A survivor approves only notices
    an advocate has marked ready, so they always read the final text.
    """
    notice = _locked(notice)
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
        _transition(notice, NoticeStatus.READY)
        _refuse_duplicate_notice(notice)
    _transition(notice, NoticeStatus.APPROVED)
    ctx = notice_context(notice)
    _refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.approved_at = timezone.now()
    notice.approved_by_id = actor.user_id
    notice.approved_digest = elements_digest(ctx)
    notice.save(update_fields=["status", "approved_at", "approved_by", "approved_digest", "updated_at"])
    _audit(actor, notice, "notice.approved")
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
    notice = _locked(notice)
    _transition(notice, NoticeStatus.SENT)
    ctx = notice_context(notice)
    rendered = rendered or render_context(ctx)
    _refuse_missing(context_missing(ctx, rendered.text))
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
    _refresh_next_deadline(notice.case_id)
    _audit(
        actor,
        notice,
        "notice.sent",
        {"channel": notice.channel, "due_at": notice.due_at.isoformat() if notice.due_at else None},
    )
    from takedown.platforms.services import notice_sent_announce

    notice_sent_announce(notice_id=notice.pk, platform_id=notice.platform_id)
    if notice.case.status == CaseStatus.OPEN:
        from takedown.cases.services import case_set_status

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
    notice = _locked(notice)
    previous = notice.status
    _transition(notice, outcome)
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
    _refresh_next_deadline(notice.case_id)
    _audit(actor, notice, "notice.reply_recorded", {"from": previous, "outcome": outcome})
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
    from takedown.matching.services import items_request_checks

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


# ---------------------------------------------------------------------------------------------------
# Delivery

DeliveryResult = Literal["skipped", "delivered", "retry", "failed"]


def delivery_key(notice_id: int) -> str:
    """The idempotency key of a notice: stable across its attempts, unguessable, not the case reference."""
    return "tdn-" + keyed_digest("notice-delivery", str(notice_id))[:40]


def _check_sendable(ctx: NoticeContext, rendered: RenderedNotice) -> None:
    _refuse_missing(context_missing(ctx, rendered.text))
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
    from takedown.notices.tasks import deliver_notice

    if actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate can send a notice."))
    notice = _locked(notice)
    if notice.channel == NoticeChannel.FORM:
        raise Conflict(_("This platform takes notices through its web form. Use the form packet."))
    previous = notice.status
    _transition(notice, NoticeStatus.QUEUED)
    ctx = notice_context(notice)
    _check_sendable(ctx, render_context(ctx))
    notice.delivery_claimed_at = None
    notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
    _audit(actor, notice, "notice.queued", {"channel": notice.channel, "from": previous})
    notice_id = notice.pk
    # robust: a broker that is down must not undo the advocate's send; `deliveries_resume`
    # publishes the notice again later.
    transaction.on_commit(lambda: deliver_notice.delay(notice_id), robust=True)
    return notice


def _claim_for_delivery(notice_id: int) -> bool:
    """Take a queued notice; a claim older than a task may run was abandoned (worker killed)."""
    stale = timezone.now() - timedelta(seconds=settings.TASK_CLAIM_STALE_SECONDS)
    return (
        Notice.objects.filter(pk=notice_id, status=NoticeStatus.QUEUED)
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
    from takedown.notices.tasks import deliver_notice

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
            deliver_notice.delay(notice_id)
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
    _audit(system, notice, "notice.delivery_attempted", {"attempt_id": attempt.pk, "outcome": attempt.outcome})
    notice.delivery_claimed_at = None
    if last:
        _transition(notice, NoticeStatus.DELIVERY_FAILED)
        notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
        _audit(system, notice, "notice.delivery_failed", {"attempt_id": attempt.pk})
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
            delivery.webhook_post(
                url=channel.address, secret=channel.webhook_secret, payload=rendered.json, idempotency_key=key
            ),
            channel.pk,
        )
    with translation.override(settings.NOTICES_LANGUAGE):
        subject = _("%(basis)s removal request: %(count)s link(s) on %(platform)s") % {
            "basis": ctx.basis.short_title,
            "count": len(ctx.items),
            "platform": notice.platform.name,
        }
    return (
        delivery.email_send(
            subject=subject,
            text=rendered.text,
            html=rendered.html,
            recipient=channel.address,
            reply_to=ctx.contact.email if ctx.contact else "",
            idempotency_key=key,
            pdf=notice_pdf(rendered.html) if settings.NOTICES_ATTACH_PDF else None,
            pdf_name=f"notice-{notice.pk}.pdf",
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
    _audit(system, notice, "notice.delivery_attempted", {"attempt_id": attempt.pk, "outcome": outcome})
    if outcome == DeliveryOutcome.DELIVERED:
        notice_mark_sent(actor=system, notice=notice, sent_at=attempt.finished_at, rendered=rendered)
        return "delivered"
    if outcome == DeliveryOutcome.TRANSIENT_FAILURE:
        notice.delivery_claimed_at = None
        notice.save(update_fields=["delivery_claimed_at", "updated_at"])
        return "retry"
    _transition(notice, NoticeStatus.DELIVERY_FAILED)
    notice.delivery_claimed_at = None
    notice.save(update_fields=["status", "delivery_claimed_at", "updated_at"])
    _audit(system, notice, "notice.delivery_failed", {"attempt_id": attempt.pk})
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
    notice = _locked(notice)
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


# ---------------------------------------------------------------------------------------------------
# Deadlines and escalation

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
    from takedown.matching.services import item_check_request

    notice = Notice.objects.select_for_update(of=("self",)).select_related("case__organization").get(pk=notice_id)
    if notice.deadline_recheck_at is not None:
        return
    items = list(notice.items.exclude(status=ItemStatus.REMOVED))
    for item in items:
        item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    notice.deadline_recheck_at = now
    notice.save(update_fields=["deadline_recheck_at", "updated_at"])
    _audit(Actor.system(), notice, "notice.overdue", {"rechecks": len(items)})


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
        addresses = [a for a in (_last_address(i) for i in up) if a]
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
        _audit(Actor.system(), notice, "notice.deadline_content_gone", {"items": len(items)})
        return True
    proposed = _escalation_propose(notice, still_up, route)
    _audit(
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
    channel, recipient = _choose_channel(platform, basis.basis.code)
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
    _audit(
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
        _record_lookup(Actor.system(), notice.case, route, "escalation")
        host = _hosting_platform(Actor.system(), route) if route.found else None
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
    _audit(
        actor,
        escalation.notice,
        "notice.escalation_decided",
        {"escalation_id": escalation.pk, "status": escalation.status},
    )
    return escalation


# ---------------------------------------------------------------------------------------------------
# Case report


def case_report_render(*, actor: Actor, case: Case) -> bytes:
    """The case report as PDF for police or a court; its download is recorded on the timeline."""
    from takedown.notices.report import case_report_html, case_report_pdf

    pdf = case_report_pdf(case_report_html(case))
    if pdf is None:
        raise Conflict(_("PDF is not available on this server."))
    audit_record(
        actor=actor,
        action="case.report_downloaded",
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
    )
    return pdf
