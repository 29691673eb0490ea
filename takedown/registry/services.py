"""Writes for the platform registry: loading the data file, and platforms for hosting providers.

Every write audits itself in the same transaction. The admin edits the registry through
`platform_save` (and its siblings), never by saving models directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model
from django.utils.text import slugify
from django.utils.translation import gettext as _

from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import InvalidInput
from takedown.fetching.domains import normalise_host
from takedown.registry import bases as b
from takedown.registry import hosting
from takedown.registry.hosting import HostingProvider
from takedown.registry.models import ChannelKind, Jurisdiction, Platform, PlatformChannel, PlatformDomain

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


def hosting_platform(*, actor: Actor, route: HostingRoute) -> Platform | None:
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
