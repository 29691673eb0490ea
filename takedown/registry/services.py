"""Writes for the platform registry: loading the data file, platforms for hosting providers and for
sites an advocate found a contact for, and IANA's RDAP bootstrap data.

Every write audits itself in the same transaction. The admin edits the registry through
`registry_row_save` (and its siblings), never by saving models directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.fetching.domains import normalise_host, registrable_domain
from takedown.registry import bases as b
from takedown.registry import hosting
from takedown.registry.hosting import HostingProvider, RdapFailure
from takedown.registry.models import (
    ChannelKind,
    Intake,
    Jurisdiction,
    Platform,
    PlatformChannel,
    PlatformDomain,
    PlatformKind,
    RdapBootstrapFile,
)
from takedown.registry.selectors import platform_for_host

REGISTRY_FORMAT = "takedown-platforms"


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
    kind = entry.get("kind", PlatformKind.SOCIAL)
    if kind not in PlatformKind.values:
        raise InvalidInput(f"{where}: kind must be one of {PlatformKind.values}")
    first_party = entry.get("first_party", kind not in {PlatformKind.HOSTING, PlatformKind.CDN})
    if not isinstance(first_party, bool):
        raise InvalidInput(f"{where}: first_party must be true or false")
    follow_up = entry.get("follow_up_days", 7)
    if not isinstance(follow_up, int) or not 1 <= follow_up <= 90:
        raise InvalidInput(f"{where}: follow_up_days must be a whole number of days from 1 to 90")
    return {
        "name": name.strip(),
        "kind": kind,
        "first_party": first_party,
        "follow_up_days": follow_up,
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
        intake = entry.get("intake", "")
        if intake and intake not in Intake.values:
            raise InvalidInput(f"{where}: intake must be one of {Intake.values}")
        verified = entry.get("verified")
        if verified is not None and not isinstance(verified, dt.date):
            raise InvalidInput(f"{where}: verified must be a date (YYYY-MM-DD)")
        flags = {}
        for flag in ("hashes_vetted", "trusted_flagger_only"):
            value = entry.get(flag, False)
            if not isinstance(value, bool):
                raise InvalidInput(f"{where}: {flag} must be true or false")
            flags[flag] = value
        row, outcome = _sync(
            PlatformChannel,
            {"platform": platform, "kind": entry["kind"], "address": address.strip()},
            {
                "bases": bases,
                "fields": _str_list(entry.get("fields"), f"{where}.fields"),
                "note": str(entry.get("note") or ""),
                "position": position,
                "intake": intake,
                "verified_on": verified,
                **flags,
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


RegistryRow = Platform | PlatformDomain | PlatformChannel


@transaction.atomic
def registry_row_save(*, actor: Actor, row: RegistryRow, changed: list[str]) -> RegistryRow:
    """Save a registry row edited by an administrator, and record who changed what (never values:
    a channel holds a webhook secret)."""
    row.save()
    platform_id = row.pk if isinstance(row, Platform) else row.platform_id
    audit_record(
        actor=actor,
        action="platform.saved",
        subject_type="platform",
        subject_id=platform_id,
        data={"row": type(row).__name__, "row_id": row.pk, "changed": changed},
    )
    return row


@transaction.atomic
def registry_row_delete(*, actor: Actor, row: PlatformDomain | PlatformChannel) -> None:
    """Remove a domain or channel of a platform (platforms themselves are deactivated, not deleted)."""
    platform_id, row_id = row.platform_id, row.pk
    row.delete()
    audit_record(
        actor=actor,
        action="platform.saved",
        subject_type="platform",
        subject_id=platform_id,
        data={"row": type(row).__name__, "row_id": row_id, "deleted": True},
    )


# ---------------------------------------------------------------------------------------------------
# IANA's RDAP bootstrap data, fetched through the SSRF-safe fetcher and kept in the database


def rdap_enabled() -> bool:
    return bool(settings.NOTICES_RDAP_BOOTSTRAP_URL)


def rdap_bootstrap_refresh(*, actor: Actor) -> int:
    """Fetch IANA's RDAP bootstrap files (through the fetcher) and store them; returns how many.

    The network calls run outside any transaction; the files are written together, so a lookup
    never sees half a refresh. Raises RdapFailure when a file cannot be fetched or is not valid
    (the stored copy, if any, stays).
    """
    base = settings.NOTICES_RDAP_BOOTSTRAP_URL
    if not base:
        raise RdapFailure("disabled", _("Hosting provider lookups are not configured on this server."))
    files = hosting.fetch_bootstrap(base.rstrip("/") + "/", hosting.rdap_policy())
    now = timezone.now()
    with transaction.atomic():
        for name, data in files.items():
            RdapBootstrapFile.objects.update_or_create(
                name=name,
                defaults={"data": data, "source_url": base[:500], "fetched_at": now},
            )
        audit_record(
            actor=actor,
            action="platforms.rdap_bootstrap_refreshed",
            subject_type="platform_registry",
            subject_id="rdap-bootstrap",
            data={"files": sorted(files), "source": base},
        )
    return len(files)


def rdap_bootstrap_files(*, actor: Actor) -> dict[str, Any]:
    """The stored bootstrap files; fetched first when none are stored or they are too old.

    This is what makes lookups work out of the box: the first lookup on a fresh install fetches
    the files; `manage.py rdap_bootstrap` (and the beat, if the deployment schedules it) keeps them
    fresh. A refresh that fails while an older copy exists keeps using the older copy.
    """
    rows = {row.name: row for row in RdapBootstrapFile.objects.all()}
    max_age = timedelta(days=settings.NOTICES_RDAP_BOOTSTRAP_MAX_AGE_DAYS)
    complete = all(name in rows for name in hosting.BOOTSTRAP_FILES)
    fresh = complete and all(timezone.now() - rows[n].fetched_at < max_age for n in hosting.BOOTSTRAP_FILES)
    if not fresh:
        try:
            rdap_bootstrap_refresh(actor=actor)
        except RdapFailure:
            if not complete:
                raise
        else:
            rows = {row.name: row for row in RdapBootstrapFile.objects.all()}
    return {name: rows[name].data for name in hosting.BOOTSTRAP_FILES}


# ---------------------------------------------------------------------------------------------------
# Unknown hosts: the hosting provider

HOSTING_BASES = list(b.HOSTING_BASES)
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
            "rdap_server": urlsplit(self.provider.source_url).hostname if self.provider else None,
            "reason": self.reason or None,
        }


def hosting_route(*, address: str | None) -> HostingRoute:
    """Cloudflare's ranges first, then RDAP through IANA's bootstrap. Network calls; writes only the
    bootstrap cache (in its own transaction, so call this outside any other)."""
    if not address:
        return HostingRoute(
            source="", reason="no_address", detail=_("No check has recorded the address the site is served from yet.")
        )
    if hosting.is_cloudflare(address):
        return HostingRoute(source="cloudflare_ranges")
    if not rdap_enabled():
        return HostingRoute(
            source="", reason="disabled", detail=_("Hosting provider lookups are not configured on this server.")
        )
    try:
        files = rdap_bootstrap_files(actor=Actor.system())
    except RdapFailure as failure:
        return HostingRoute(
            source="",
            reason=f"bootstrap_{failure.reason}",
            detail=_("IANA's list of registries could not be fetched: %(detail)s") % {"detail": failure.detail},
        )
    lookup = hosting.RdapHostingLookup(files, hosting.rdap_policy(), allow_http=bool(settings.FETCH_ALLOW_LOOPBACK))
    answer = hosting.explain(lookup, address)
    if answer.provider is None:
        return HostingRoute(source="", reason=answer.reason, detail=answer.detail)
    return HostingRoute(source="rdap", provider=answer.provider)


def _hosting_slug(provider: HostingProvider) -> str:
    """ "host-<handle>": stable across lookups, so the provider's platform is found again and reused."""
    tail = slugify(provider.handle) or hashlib.sha256(provider.handle.encode()).hexdigest()[:16]
    return ("host-" + tail)[:64].rstrip("-")


def hosting_platform(*, actor: Actor, route: HostingRoute) -> Platform | None:
    """The platform notices to this host go to: Cloudflare's, or one created (or reused) for the provider.

    A provider's platform is made like an admin-made one (no data version, so the registry
    loader leaves it alone) with an email channel to the abuse address RDAP named, dated today;
    if RDAP later names another address, it is added as the preferred channel and the old one kept.
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
            "kind": PlatformKind.HOSTING,
            "first_party": False,
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
        platform=platform,
        kind=ChannelKind.EMAIL,
        address=provider.abuse_email,
        defaults={"position": 0, "intake": Intake.ABUSE_EMAIL, "verified_on": timezone.localdate()},
    )
    if not channel_created and channel.verified_on != timezone.localdate():
        channel.verified_on = timezone.localdate()  # RDAP named it again just now
        channel.save(update_fields=["verified_on"])
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


# ---------------------------------------------------------------------------------------------------
# Unknown sites: a contact the advocate found


def _site_slug(domain: str) -> str:
    tail = slugify(domain.replace(".", "-")) or hashlib.sha256(domain.encode()).hexdigest()[:16]
    return ("site-" + tail)[:64].rstrip("-")


def _parse_contact(contact: str) -> tuple[str, str]:
    """(channel kind, address) for an abuse email address or an https form URL; InvalidInput otherwise."""
    text = contact.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "@" in text and "/" not in text:
        try:
            EmailValidator()(text)
        except ValidationError as exc:
            raise InvalidInput(_("That is not a valid email address.")) from exc
        return ChannelKind.EMAIL, text.lower()
    try:
        URLValidator(schemes=["https"])(text)
    except ValidationError as exc:
        raise InvalidInput(
            _("Enter the site's abuse email address, or the address of its report form starting with https://.")
        ) from exc
    return ChannelKind.WEB_FORM, text


@transaction.atomic
def site_contact_record(*, actor: Actor, host: str, contact: str, name: str = "", provider: bool = False) -> Platform:
    """Save the contact an advocate found for a site the registry does not know, for every later case.

    `contact` is the abuse email address or the URL of the report form of the site itself, or of
    its hosting provider (`provider`). The platform is registered under the site's registrable
    domain (so every host of that site finds it next time), like an admin-made row (no data
    version: the registry loader leaves it alone), with the channel dated today. A contact for a
    site the registry already knows is added to that platform as its first channel.
    """
    try:
        host = normalise_host(host)
    except ValueError as exc:
        raise InvalidInput(_("That is not a host name.")) from exc
    kind, address = _parse_contact(contact)
    domain = registrable_domain(host) or host
    label = (name.strip() or domain)[:200]
    platform = platform_for_host(host)
    created = False
    if platform is None:
        platform, created = Platform.objects.get_or_create(
            slug=_site_slug(domain),
            defaults={
                "name": label,
                "kind": PlatformKind.HOSTING if provider else PlatformKind.SITE,
                # Who hosts an unknown site is not known: its hosting provider stays a step of the ladder.
                "first_party": False,
                "serves": list(Jurisdiction.values),
                "supported_bases": list(HOSTING_BASES),
                "confidence": "advocate",
                "notes": (
                    f"Hosting provider of {domain}, contact entered by an advocate."
                    if provider
                    else f"Contact of {domain} entered by an advocate."
                ),
            },
        )
        if not platform.is_active:
            raise Conflict(_("This site is switched off in the registry. Ask an administrator."))
        PlatformDomain.objects.get_or_create(domain=domain, defaults={"platform": platform})
    channel, channel_created = PlatformChannel.objects.get_or_create(
        platform=platform,
        kind=kind,
        address=address,
        defaults={
            "position": 0,
            "intake": Intake.ABUSE_EMAIL if kind == ChannelKind.EMAIL else Intake.POLICY_FORM,
            "verified_on": timezone.localdate(),
            "note": "entered by an advocate",
        },
    )
    if channel_created:
        platform.channels.exclude(pk=channel.pk).update(position=F("position") + 1)
    else:
        channel.verified_on = timezone.localdate()
        channel.save(update_fields=["verified_on"])
    audit_record(
        actor=actor,
        action="platform.contact_added",
        subject_type="platform",
        subject_id=platform.pk,
        # No slug or domain: a site can be named after the survivor, and audit events outlive cases.
        data={"kind": kind, "created": created, "provider": provider},
    )
    return platform
