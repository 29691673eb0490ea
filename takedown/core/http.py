"""The client's network address, as every per-address limit must see it.

Behind a reverse proxy REMOTE_ADDR is the proxy's own address, so a limit per REMOTE_ADDR is one
limit for everybody: one attacker could lock every survivor out of PIN sign-in (issue 14,
defect 5). The address comes instead from `X-Forwarded-For`, trusting only the hops the operator
runs: with `TRUSTED_PROXY_COUNT = N`, each of the N proxies appends the address it saw, so the
N-th entry from the right was written by the outermost trusted proxy and is the client's. Entries
further left were sent by the client and can say anything; they are never read.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

#: One IPv6 host usually holds a whole /64 (allauth's limits count the same way).
IPV6_PREFIX = 64


def _forwarded_address(request: HttpRequest, trusted: int) -> str | None:
    header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [part.strip() for part in header.split(",") if part.strip()]
    if not hops:
        return None
    # Fewer entries than trusted proxies: the request came in past the outer proxies (or they
    # are misconfigured); the leftmost entry is then the first address a trusted proxy recorded.
    return hops[-min(trusted, len(hops))]


def _normalise(raw: str) -> str | None:
    candidate = raw.strip()
    if candidate.startswith("[") and "]" in candidate:  # "[2001:db8::1]:443"
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # "192.0.2.1:443"
        candidate = candidate.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    return str(address)


def client_ip(request: HttpRequest) -> str:
    """The address a request came from, for limits and nothing else (it is never stored).

    `TRUSTED_PROXY_COUNT` 0 (the default) is REMOTE_ADDR: right when gunicorn faces the
    internet, wrong behind a proxy. An IPv6 client counts as its /64. A value that is not an
    address (a misconfigured proxy) falls back to REMOTE_ADDR rather than letting a client pick
    a fresh key per request.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = _forwarded_address(request, trusted)
        address = _normalise(forwarded) if forwarded else None
        if address:
            return address
    return _normalise(remote) or "unknown"
