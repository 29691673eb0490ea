"""Writes for platforms and notices. Every change writes its audit event in the same transaction.

A notice moves draft -> ready -> approved -> sent -> acknowledged / removed / rejected /
needs_info, only through these functions (`_TRANSITIONS`). It cannot become ready, approved or
sent while its basis's required elements are missing. Sending freezes what was sent and starts
the basis's clock; the case's `next_deadline_at` is kept equal to its earliest open deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import Case, CaseStatus, Jurisdiction, ReportedItem
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import ActorKind
from takedown.fetching.domains import normalise_host
from takedown.notices import bases as b
from takedown.notices.models import (
    OPEN_STATUSES,
    ChannelKind,
    Notice,
    NoticeChannel,
    NoticeStatus,
    Platform,
    PlatformChannel,
    PlatformDomain,
)
from takedown.notices.rendering import notice_context, render_context
from takedown.notices.selectors import platform_for_host
from takedown.notices.validation import MissingElement, context_missing, elements_digest

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
    NoticeStatus.APPROVED: {NoticeStatus.SENT, NoticeStatus.DRAFT},
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
_EDITABLE = {NoticeStatus.DRAFT, NoticeStatus.READY, NoticeStatus.APPROVED}
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


def _platform_of(items: Sequence[ReportedItem]) -> Platform:
    platforms: dict[int, Platform] = {}
    for item in items:
        platform = platform_for_host(item.host)
        if platform is None:
            raise InvalidInput(
                _("We do not know which platform runs %(host)s yet. Add it to the platform registry first.")
                % {"host": item.host}
            )
        platforms[platform.pk] = platform
    if len(platforms) > 1:
        raise InvalidInput(
            _("A notice covers links on one platform only; these are on %(names)s. Draft one notice for each.")
            % {"names": ", ".join(sorted(p.name for p in platforms.values()))}
        )
    return next(iter(platforms.values()))


@transaction.atomic
def notice_draft(*, actor: Actor, case: Case, items: Sequence[ReportedItem], basis_code: str | None = None) -> Notice:
    """Draft a notice for some of a case's items, all on one platform.

    The platform comes from the items' hosts (registry domains); the basis is `basis_code` if it
    applies, else the best of `select_bases`. DMCA is used only when asked for by code (opt-in).
    The draft is rendered and validated at once; what is missing is recorded (by code) and shown
    to the advocate, who can complete it before approval.
    """
    case = Case.objects.select_for_update(of=("self",)).select_related("organization").get(pk=case.pk)
    if not case.is_active:
        raise Conflict(_("This case is closed. No notice can be drafted."))
    if not items:
        raise InvalidInput(_("Choose at least one link for the notice."))
    if any(item.case_id != case.pk for item in items):
        raise InvalidInput(_("A notice covers links of its own case only."))
    platform = _platform_of(items)
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
    ctx = notice_context(notice)
    _refuse_missing(context_missing(ctx, render_context(ctx).text))
    notice.save(update_fields=["status", "updated_at"])
    _audit(actor, notice, "notice.ready")
    return notice


@transaction.atomic
def notice_approve(*, actor: Actor, notice: Notice) -> Notice:
    """A person approves the notice (a draft passes through ready). Approval fixes its elements.

    Only staff approve: DESIGN section 3 allows automatic approval only for hash matches the
    survivor pre-approved, which is a later issue and will have its own service.
    """
    if actor.kind != ActorKind.STAFF:
        raise Conflict(_("Only an advocate can approve a notice."))
    notice = _locked(notice)
    if notice.status == NoticeStatus.DRAFT:
        _transition(notice, NoticeStatus.READY)
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
    *, actor: Actor, notice: Notice, sent_at: datetime | None = None, platform_ticket: str = ""
) -> Notice:
    """Record that an approved notice went out: freeze what was sent and start the basis's clock.

    The content is rendered once more and must carry exactly the elements that were approved; if
    the case changed since (say the survivor changed how to be contacted), approval is needed
    again. From here on the stored content is the notice: later changes to the case do not
    reach it. `due_at` counts from the sending time (the receipt time for email and webhooks is
    within seconds; a form packet's time is when the advocate submitted it).
    """
    notice = _locked(notice)
    _transition(notice, NoticeStatus.SENT)
    ctx = notice_context(notice)
    rendered = render_context(ctx)
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
    notice.save()
    _refresh_next_deadline(notice.case_id)
    _audit(
        actor,
        notice,
        "notice.sent",
        {"channel": notice.channel, "due_at": notice.due_at.isoformat() if notice.due_at else None},
    )
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
