"""Who hosts a site the registry does not know: Cloudflare's ranges first, then RDAP for the address.

A link on an unknown host still needs someone to send the notice to. The address the check
connected to (`ItemCheck.pinned_ip`) is where the content was served from: if it lies in
Cloudflare's published ranges, Cloudflare is the route (its abuse form forwards to the real host
and names it); otherwise the Regional Internet Registry's RDAP record for the address names the
network's holder and, usually, an abuse contact.

Which registry holds an address is in IANA's RDAP bootstrap files (RFC 9224). Every request, to
IANA for the bootstrap and to a registry for the record (RFC 9083), goes through the SSRF-safe
fetcher (`takedown.fetching`) under the project's fetch policy (`core.transport.fetch_policy`):
each redirect hop is resolved and checked again, so a registry answer, a bootstrap entry or a
redirect that points at 127.0.0.1, 169.254.169.254 or a private network is refused before any
connection is made. Bodies are capped at MAX_RDAP_BYTES and must be JSON.

The RDAP client library `whoisit` (PyPI) does the protocol work we would otherwise write: it maps
an address to its registry's RDAP servers from the bootstrap data and parses the answer (jCard
entities, nested roles, `mailto:` emails). Its own HTTP code (requests/httpx sessions that follow
redirects to any address) is never used: we give it bootstrap data and answers fetched here.

A lookup never raises: every failure is an answer with no provider and a reason code, so drafting
can tell the advocate why and the audit trail can record it. This module reads the network and
writes nothing; the registry's services store the bootstrap data it fetches.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urljoin

from django.conf import settings
from django.utils.translation import gettext as _
from whoisit.bootstrap import Bootstrap
from whoisit.errors import BootstrapError, ParseError, UnsupportedError
from whoisit.parser import parse as whoisit_parse

from takedown.core.transport import fetch_policy
from takedown.fetching import FetchError, FetchPolicy, HttpStatusError, fetch
from takedown.fetching.sniff import Kind

_JSON_KINDS: tuple[Kind, ...] = ("other",)  # JSON sniffs as "other"; an HTML page is not an RDAP answer

CLOUDFLARE_RANGES_FILE = Path(__file__).resolve().parent / "data" / "cloudflare_ranges.txt"
# An RDAP answer for one network is a few kilobytes, IANA's largest bootstrap file (dns) about
# 100 KB; anything far larger is not one.
MAX_RDAP_BYTES = 1_000_000
MAX_REDIRECTS = 3  # registries redirect once to the registry that holds the record

# IANA's RDAP bootstrap files (RFC 9224), by the names whoisit knows them under. whoisit wants all
# five loaded, though only ipv4 and ipv6 are used here.
BOOTSTRAP_FILES: dict[str, str] = {
    "asn": "asn.json",
    "dns": "dns.json",
    "ipv4": "ipv4.json",
    "ipv6": "ipv6.json",
    "object": "object-tags.json",
}

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
# Fetching JSON through the SSRF-safe fetcher


class RdapFailure(Exception):
    """A request for RDAP data that failed, with the reason code recorded on the timeline."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def rdap_policy(timeout: float | None = None) -> FetchPolicy:
    """The project's fetch policy, narrowed for RDAP: a short deadline, few redirects, small bodies.

    Loopback (and any port) is allowed only where the fetch policy allows it, i.e. in tests; every
    other refusal (private, link-local, metadata addresses) holds whatever the settings say.
    """
    seconds = float(timeout if timeout is not None else settings.NOTICES_RDAP_TIMEOUT)
    return dataclasses.replace(
        fetch_policy(),
        total_timeout=seconds,
        connect_timeout=min(5.0, seconds),
        read_timeout=seconds,
        max_redirects=MAX_REDIRECTS,
        max_image_bytes=MAX_RDAP_BYTES,
        max_video_bytes=MAX_RDAP_BYTES,
        max_html_bytes=MAX_RDAP_BYTES,
        max_other_bytes=MAX_RDAP_BYTES,
    )


def fetch_json(url: str, policy: FetchPolicy) -> tuple[Any, str]:
    """GET a JSON document through the fetcher; (data, final URL) or RdapFailure with a reason code."""
    try:
        result = fetch(url, policy, accept_kinds=_JSON_KINDS)
    except HttpStatusError as exc:
        raise RdapFailure(
            f"http_{exc.status}", _("The RDAP server answered HTTP %(status)d.") % {"status": exc.status}
        ) from exc
    except FetchError as exc:
        raise RdapFailure(_REASONS.get(exc.reason, exc.reason), _describe(exc)) from exc
    try:
        return json.loads(result.body), result.final_url
    except ValueError as exc:
        raise RdapFailure("invalid_json", _("The RDAP answer is not JSON.")) from exc


# The fetcher's reason codes, as the lookup reports them (the rest pass through unchanged).
_REASONS = {
    "dns_failure": "unreachable",
    "connection_error": "unreachable",
    "tls_error": "unreachable",
    "unexpected_type": "invalid_json",
}


def _describe(exc: FetchError) -> str:
    if exc.reason == "timeout":
        return _("The RDAP server did not answer in time.")
    if exc.reason == "forbidden_address":
        return _(
            "The RDAP request was refused: it pointed at an address that is not on the public internet (%(why)s)."
        ) % {"why": str(exc)}
    if exc.reason == "too_large":
        return _("The RDAP answer is too large.")
    if exc.reason == "unexpected_type":
        return _("The RDAP answer is not JSON.")
    return _("The RDAP server could not be reached (%(error)s).") % {"error": exc.reason}


def fetch_bootstrap(base_url: str, policy: FetchPolicy) -> dict[str, Any]:
    """IANA's five RDAP bootstrap files from `base_url` (ending in /), each checked for its shape."""
    files: dict[str, Any] = {}
    for name, filename in BOOTSTRAP_FILES.items():
        data, _final = fetch_json(urljoin(base_url, filename), policy)
        if not isinstance(data, dict) or not isinstance(data.get("services"), list) or not data["services"]:
            raise RdapFailure(
                "bad_bootstrap", _("IANA's RDAP bootstrap file %(name)s is not valid.") % {"name": filename}
            )
        files[name] = data
    return files


# ---------------------------------------------------------------------------------------------------
# RDAP (RFC 9083), parsed by whoisit


def _first_email(entity: Mapping[str, Any]) -> str:
    emails = entity.get("emails") or ([entity["email"]] if entity.get("email") else [])
    for email in emails:
        text = str(email).strip()
        if "@" in text and " " not in text and len(text) <= 254:
            return text
    return ""


def parse_rdap(bootstrap: Bootstrap, data: Any, query: str, source_url: str) -> HostingAnswer:
    """The provider in an RDAP IP network object: the abuse entity's email, the registrant's name."""
    if not isinstance(data, dict) or data.get("objectClassName") != "ip network":
        return HostingAnswer(None, "not_rdap", _("The RDAP server's answer is not an IP network record."))
    try:
        parsed = whoisit_parse(bootstrap, "ip", query, data)
    except (ParseError, BootstrapError, ValueError, TypeError, KeyError, AttributeError):
        return HostingAnswer(None, "not_rdap", _("The RDAP server's answer could not be read."))
    entities = parsed.get("entities") or {}
    registrant = next(iter(entities.get("registrant") or []), None)
    name = str((registrant or {}).get("name") or parsed.get("name") or "").strip()
    handle = str((registrant or {}).get("handle") or parsed.get("handle") or "").strip()
    if not name or not handle:
        return HostingAnswer(None, "no_holder", _("The RDAP record names no holder of the network."))
    abuse_email = next((e for e in (_first_email(a) for a in entities.get("abuse") or []) if e), "")
    if not abuse_email:
        return HostingAnswer(
            None, "no_abuse_contact", _("The RDAP record of %(name)s lists no abuse email address.") % {"name": name}
        )
    start, end = parsed.get("start_address"), parsed.get("end_address")
    network = f"{start} - {end}" if start and end else ""
    return HostingAnswer(
        HostingProvider(
            name=name[:200],
            abuse_email=abuse_email[:254],
            handle=handle[:100],
            source_url=source_url[:500],
            network=network[:100],
        )
    )


def load_bootstrap(files: Mapping[str, Any], *, allow_http: bool = False) -> Bootstrap:
    """A whoisit Bootstrap holding these files (it makes no request of its own)."""
    bootstrap = Bootstrap()
    bootstrap.load_bootstrap_data(
        {"timestamp": int(time.time()), **{name: files[name] for name in BOOTSTRAP_FILES}},
        allow_insecure=allow_http,
        from_json=False,
    )
    return bootstrap


class RdapHostingLookup:
    """Ask the registry that holds an address who holds it, through the SSRF-safe fetcher; never raises.

    `allow_http` admits RDAP servers listed with http:// (only tests serve plain HTTP; IANA lists
    https for every registry).
    """

    def __init__(self, bootstrap_files: Mapping[str, Any], policy: FetchPolicy, *, allow_http: bool = False) -> None:
        self.policy = policy
        self.bootstrap = load_bootstrap(bootstrap_files, allow_http=allow_http)

    def lookup(self, ip: str) -> HostingProvider | None:
        return self.explain(ip).provider

    def explain(self, ip: str) -> HostingAnswer:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return HostingAnswer(None, "bad_address", _("Not an IP address."))
        if not address.is_global:
            return HostingAnswer(None, "not_public", _("The address is not a public one; no registry holds it."))
        try:
            if isinstance(address, ipaddress.IPv4Address):
                endpoints, _exact = self.bootstrap.get_ipv4_endpoints(address)
            else:
                endpoints, _exact = self.bootstrap.get_ipv6_endpoints(address)
        except (BootstrapError, UnsupportedError):
            endpoints = ()
        if not endpoints:
            return HostingAnswer(None, "no_registry", _("No registry's RDAP server is listed for this address."))
        url = urljoin(str(endpoints[0]).rstrip("/") + "/", f"ip/{address}")
        try:
            data, final_url = fetch_json(url, self.policy)
        except RdapFailure as failure:
            return HostingAnswer(None, failure.reason, failure.detail)
        return parse_rdap(self.bootstrap, data, str(address), final_url)
