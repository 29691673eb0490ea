"""Who hosts a site the registry does not know: Cloudflare's ranges first, then RDAP for the address.

A link on an unknown host still needs someone to send the notice to. The address the check
connected to (`ItemCheck.pinned_ip`) is where the content was served from: if it lies in
Cloudflare's published ranges, Cloudflare is the route (its abuse form forwards to the real host
and names it); otherwise the Regional Internet Registry's RDAP record for the address names the
network's holder and, usually, an abuse contact.

RDAP sits behind the `HostingLookup` protocol so tests and other deployments can swap it; the
one implementation here, `RdapHostingLookup`, asks one configured RDAP server (`NOTICES_RDAP_URL`,
e.g. a bootstrap redirector or an RIR's base URL) for `/ip/<address>` (RFC 9083). A lookup never
raises: every failure is an answer with no provider and a reason code, so drafting can tell the
advocate why and the audit trail can record it. This module reads the network and writes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import requests
from django.conf import settings
from django.utils.translation import gettext as _

CLOUDFLARE_RANGES_FILE = Path(__file__).resolve().parent / "data" / "cloudflare_ranges.txt"
# An RDAP answer for one network is a few kilobytes; anything far larger is not one.
MAX_RDAP_BYTES = 1_000_000
MAX_REDIRECTS = 3  # bootstrap servers (rdap.org) redirect once to the registry that holds the record

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class HostingProvider:
    """The holder of the network an address belongs to, and where to report abuse to it."""

    name: str
    abuse_email: str
    handle: str  # the registrant's (or the network's) RDAP handle, stable across lookups
    source_url: str  # the RDAP URL that answered
    network: str  # the network range, "start - end" or CIDR


@dataclass(frozen=True)
class HostingAnswer:
    """A lookup's result: a provider, or none with a reason code and a detail for the advocate."""

    provider: HostingProvider | None
    reason: str = ""  # "" when found; else disabled, bad_address, timeout, unreachable, http_<status>...
    detail: str = ""


class HostingLookup(Protocol):
    def lookup(self, ip: str) -> HostingProvider | None: ...


@runtime_checkable
class ExplainingHostingLookup(Protocol):
    """A lookup that can also say why it found nothing (what services record)."""

    def lookup(self, ip: str) -> HostingProvider | None: ...

    def explain(self, ip: str) -> HostingAnswer: ...


def explain(lookup: HostingLookup, ip: str) -> HostingAnswer:
    """The lookup's answer with its reason, for lookups that give one; a generic reason otherwise."""
    if isinstance(lookup, ExplainingHostingLookup):
        return lookup.explain(ip)
    provider = lookup.lookup(ip)
    return HostingAnswer(provider, "" if provider else "not_found", "" if provider else _("No provider found."))


# ---------------------------------------------------------------------------------------------------
# Cloudflare


@lru_cache(maxsize=1)
def cloudflare_networks() -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for line in CLOUDFLARE_RANGES_FILE.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            networks.append(ipaddress.ip_network(text))
    return tuple(networks)


def is_cloudflare(ip: str) -> bool:
    """Whether the address is one of Cloudflare's (the site is behind Cloudflare's proxy)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address.version == net.version and address in net for net in cloudflare_networks())


# ---------------------------------------------------------------------------------------------------
# RDAP (RFC 9083)


def _vcard(entity: dict[str, Any], prop: str) -> str:
    """The first value of a vCard property (jCard, RFC 7095) of an RDAP entity, or ""."""
    card = entity.get("vcardArray")
    if not isinstance(card, list) or len(card) < 2 or not isinstance(card[1], list):
        return ""
    for entry in card[1]:
        if isinstance(entry, list) and len(entry) >= 4 and entry[0] == prop and isinstance(entry[3], str):
            return entry[3].strip()
    return ""


def _entities(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entity of an RDAP object, nested ones included (ARIN nests the abuse role in the org)."""
    found: list[dict[str, Any]] = []
    stack = [e for e in obj.get("entities") or [] if isinstance(e, dict)]
    while stack:
        entity = stack.pop(0)
        found.append(entity)
        stack.extend(e for e in entity.get("entities") or [] if isinstance(e, dict))
    return found


def _roles(entity: dict[str, Any]) -> set[str]:
    roles = entity.get("roles")
    return {str(r).lower() for r in roles} if isinstance(roles, list) else set()


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def parse_rdap(data: Any, source_url: str) -> HostingAnswer:
    """The provider in an RDAP IP network object: the abuse entity's email, the registrant's name."""
    if not isinstance(data, dict) or data.get("objectClassName") != "ip network":
        return HostingAnswer(None, "not_rdap", _("The RDAP server's answer is not an IP network record."))
    entities = _entities(data)
    abuse = next((e for e in entities if "abuse" in _roles(e) and _EMAIL.match(_vcard(e, "email"))), None)
    registrant = next((e for e in entities if "registrant" in _roles(e)), None)
    name = (registrant and _vcard(registrant, "fn")) or str(data.get("name") or "").strip()
    handle = str((registrant or {}).get("handle") or data.get("handle") or "").strip()
    if not name or not handle:
        return HostingAnswer(None, "no_holder", _("The RDAP record names no holder of the network."))
    if abuse is None:
        return HostingAnswer(
            None, "no_abuse_contact", _("The RDAP record of %(name)s lists no abuse email address.") % {"name": name}
        )
    start, end = data.get("startAddress"), data.get("endAddress")
    network = f"{start} - {end}" if start and end else ""
    provider = HostingProvider(
        name=name[:200],
        abuse_email=_vcard(abuse, "email")[:254],
        handle=handle[:100],
        source_url=source_url[:500],
        network=network[:100],
    )
    return HostingAnswer(provider)


class RdapHostingLookup:
    """Ask one RDAP server who holds an address. Timeouts bound it; it never raises."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def lookup(self, ip: str) -> HostingProvider | None:
        return self.explain(ip).provider

    def explain(self, ip: str) -> HostingAnswer:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return HostingAnswer(None, "bad_address", _("Not an IP address."))
        if not address.is_global:
            return HostingAnswer(None, "not_public", _("The address is not a public one; no registry holds it."))
        return self.fetch(str(address))

    def fetch(self, address: str) -> HostingAnswer:
        """GET <base>/ip/<address>: one bounded request, up to MAX_RDAP_BYTES read, every failure named."""
        url = f"{self.base_url}/ip/{address}"
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.max_redirects = MAX_REDIRECTS
        try:
            with session.get(
                url,
                headers={"Accept": "application/rdap+json, application/json", "User-Agent": settings.FETCH_USER_AGENT},
                timeout=self.timeout,
                stream=True,
            ) as response:
                if response.status_code != 200:
                    return HostingAnswer(
                        None,
                        f"http_{response.status_code}",
                        _("The RDAP server answered HTTP %(status)d.") % {"status": response.status_code},
                    )
                body = response.raw.read(MAX_RDAP_BYTES + 1, decode_content=True)
                final_url = response.url
        except requests.Timeout:
            return HostingAnswer(None, "timeout", _("The RDAP server did not answer in time."))
        except requests.RequestException as exc:
            return HostingAnswer(
                None,
                "unreachable",
                _("The RDAP server could not be reached (%(error)s).") % {"error": type(exc).__name__},
            )
        finally:
            session.close()
        if len(body) > MAX_RDAP_BYTES:
            return HostingAnswer(None, "too_large", _("The RDAP answer is too large."))
        try:
            data = json.loads(body)
        except ValueError:
            return HostingAnswer(None, "invalid_json", _("The RDAP answer is not JSON."))
        return parse_rdap(data, final_url)


def hosting_lookup() -> HostingLookup | None:
    """The configured lookup, or None when NOTICES_RDAP_URL is empty (lookups disabled)."""
    base = settings.NOTICES_RDAP_URL
    if not base:
        return None
    return RdapHostingLookup(base, float(settings.NOTICES_RDAP_TIMEOUT))
