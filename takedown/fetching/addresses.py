"""Which IP addresses the fetcher may connect to: the public internet, and nothing else.

The rule is an allow-list in spirit: an address must be globally routable unicast. Explicit tables
name the usual suspects (private, loopback, link-local, shared, metadata...) so a refusal says
*why*; Python's ``is_global`` then catches anything the tables missed, and IPv6 outside 2000::/3
(the only block IANA allocates for global unicast) is refused outright.

Transition forms that smuggle an IPv4 address inside IPv6 are handled on purpose:

* IPv4-mapped (``::ffff:a.b.c.d``) and IPv4-compatible (``::a.b.c.d``): always refused. No public
  site publishes them, and the kernel turns them into a connection to the embedded IPv4 address.
* 6to4 (2002::/16) and Teredo (2001::/32): always refused. Both are deprecated tunnels whose
  relays deliver to an embedded IPv4 address; the message names the embedded address.
* NAT64 well-known prefix (64:ff9b::/96): allowed only when the embedded IPv4 address is itself
  allowed, because an IPv6-only deployment behind DNS64 reaches every IPv4 site that way. The
  local-use prefix 64:ff9b:1::/48 is refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressVerdict:
    """The outcome of checking one address: ``category`` is None when the address is allowed."""

    address: IPAddress
    category: str | None
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.category is None


# Cloud metadata endpoints, named first so the refusal says "cloud_metadata" rather than just
# "link_local". Some are ordinary-looking addresses (Azure's wireserver is in public space), which is
# exactly why they are listed by hand.
CLOUD_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack, Oracle... instance metadata
        "169.254.169.253",  # AWS VPC DNS resolver
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.170.23",  # AWS EKS pod identity agent
        "168.63.129.16",  # Azure wireserver / host agent (a public-looking address)
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud legacy metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "fd00:ec2::253",  # AWS VPC DNS resolver over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity agent over IPv6
    )
)

_V4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), category)
    for net, category in (
        ("255.255.255.255/32", "broadcast"),
        ("0.0.0.0/8", "unspecified"),  # "this network"; connecting to 0.0.0.0 reaches the local host
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "shared"),  # carrier-grade NAT, also used inside clouds (RFC 6598)
        ("169.254.0.0/16", "link_local"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("198.18.0.0/15", "benchmarking"),
        ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_V6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), category)
    for net, category in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "unique_local"),
        ("fe80::/10", "link_local"),
        ("fec0::/10", "site_local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("2001:2::/48", "benchmarking"),
        ("2001::/23", "reserved"),  # IETF protocol assignments (ORCHID, AMT, AS112 ...)
        ("100::/64", "reserved"),  # discard-only
    )
)

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

#: The categories ``allow_loopback`` unlocks, and nothing else: private ranges are never allowed.
LOOPBACK_CATEGORY = "loopback"


def parse_address(text: str) -> IPAddress:
    """Parse an address from a resolver or URL. IPv6 zone ids are dropped: they only mark link-local."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return address


def check_address(address: IPAddress, *, allow_loopback: bool = False) -> AddressVerdict:
    """Decide whether the fetcher may connect to ``address``.

    ``allow_loopback`` admits 127.0.0.0/8 and ::1 only, for the project's own tests that run servers
    on the local machine. It never admits loopback smuggled inside another form (mapped, NAT64...).
    """
    if isinstance(address, ipaddress.IPv4Address):
        return _check_v4(address, allow_loopback=allow_loopback)
    return _check_v6(address, allow_loopback=allow_loopback)


def _check_v4(address: ipaddress.IPv4Address, *, allow_loopback: bool) -> AddressVerdict:
    if address in CLOUD_METADATA_ADDRESSES:
        return AddressVerdict(address, "cloud_metadata")
    for network, category in _V4_RULES:
        if address in network:
            if category == LOOPBACK_CATEGORY and allow_loopback:
                return AddressVerdict(address, None)
            return AddressVerdict(address, category, f"in {network}")
    if not address.is_global:
        return AddressVerdict(address, "reserved", "not globally routable")
    return AddressVerdict(address, None)


def _embedded_detail(embedded: ipaddress.IPv4Address) -> str:
    inner = _check_v4(embedded, allow_loopback=False)
    return f"embeds {embedded} ({inner.category or 'public'})"


def _check_v6(address: ipaddress.IPv6Address, *, allow_loopback: bool) -> AddressVerdict:
    if address.scope_id:
        # A zone id only means something for link-local targets, which are refused anyway.
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    if address in CLOUD_METADATA_ADDRESSES:
        return AddressVerdict(address, "cloud_metadata")
    if address in _MAPPED:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return AddressVerdict(address, "ipv4_mapped", _embedded_detail(embedded))
    if address == ipaddress.IPv6Address("::1"):
        if allow_loopback:
            return AddressVerdict(address, None)
        return AddressVerdict(address, "loopback")
    if address == ipaddress.IPv6Address("::"):
        return AddressVerdict(address, "unspecified")
    if address in _COMPATIBLE:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return AddressVerdict(address, "ipv4_compatible", _embedded_detail(embedded))
    if address in _NAT64:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        inner = _check_v4(embedded, allow_loopback=False)
        if inner.allowed:
            return AddressVerdict(address, None)
        return AddressVerdict(address, "nat64", _embedded_detail(embedded))
    if address in _NAT64_LOCAL:
        return AddressVerdict(address, "nat64", "local-use NAT64 prefix")
    if address in _SIX_TO_FOUR:
        embedded = ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
        return AddressVerdict(address, "6to4", _embedded_detail(embedded))
    if address in _TEREDO:
        server = ipaddress.IPv4Address((int(address) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(address) & 0xFFFFFFFF)
        return AddressVerdict(address, "teredo", f"server {server}, client {client}")
    for network, category in _V6_RULES:
        if address in network:
            return AddressVerdict(address, category, f"in {network}")
    if address not in _GLOBAL_UNICAST:
        return AddressVerdict(address, "reserved", "outside 2000::/3 global unicast")
    if not address.is_global:
        return AddressVerdict(address, "reserved", "not globally routable")
    return AddressVerdict(address, None)
