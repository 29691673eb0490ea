"""Parse a reported URL into exactly one (scheme, host, port) before anything touches the network.

SSRF bugs live in the gaps between parsers: one component reads ``http://a@b/`` or ``0x7f.1`` one
way and another reads it differently. So the URL is parsed once here, strictly, and anything
ambiguous is refused: userinfo, backslashes, control characters, zone ids, malformed ports. Hosts
that *look like* numbers are read the way browsers and ``inet_aton`` read them (WHATWG IPv4 parser:
``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` are all 127.0.0.1) and treated as IP
literals, so they are checked as addresses and never handed to a resolver that might read them
differently. Names are converted to punycode with UTS #46, as ``requests`` does.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna

from takedown.fetching.addresses import IPAddress
from takedown.fetching.errors import BadPort, BadScheme, BadUrl, ForbiddenHost, UserinfoInUrl

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")

# Names that only ever mean something inside a network: refusing them early gives a clearer reason
# than waiting for their addresses to be refused, and protects against resolvers that map them to
# something surprising.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".corp", ".lan", ".home.arpa", ".arpa")


@dataclass(frozen=True)
class Target:
    """A URL that passed the syntax checks: what to connect to and what to call it on the wire."""

    url: str  # normalised: lower-case scheme and host, punycode, no fragment, explicit path
    scheme: str
    host: str  # ASCII host name, or the IP address in canonical form (no brackets)
    port: int
    ip: IPAddress | None  # set when the URL names an address instead of a host name

    @property
    def host_header(self) -> str:
        """The Host header (and TLS name) for the original host, with the port when not the default."""
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_target(url: str, *, allowed_ports: frozenset[int] | None, allow_loopback: bool = False) -> Target:
    """Parse and check a URL; raise a ``FetchError`` subclass naming the first problem found."""
    if not isinstance(url, str):
        raise BadUrl("The URL must be text.")
    url = url.strip(" \t\r\n\f\v")
    if len(url) > MAX_URL_LENGTH:
        raise BadUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.", url=url[:200])
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    if scheme_match is None:
        raise BadScheme("The URL must start with http:// or https://.", url=url)
    scheme = scheme_match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BadScheme(f"Only http and https URLs are fetched, not {scheme}:.", url=url)
    if _CONTROL_OR_SPACE.search(url):
        raise BadUrl("The URL contains spaces or control characters.", url=url)
    if not url[len(scheme) + 1 :].startswith("//"):
        raise BadUrl("The URL has no host (expected scheme://host/...).", url=url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadUrl(f"The URL cannot be parsed: {exc}.", url=url) from exc
    netloc = parts.netloc
    if "@" in netloc:
        raise UserinfoInUrl("URLs with a user name or password (user@host) are not fetched.", url=url)
    if "\\" in netloc or "\\" in parts.path[:1]:
        raise BadUrl("The URL contains a backslash in its host part.", url=url)
    host_text, port = _split_host_port(netloc, scheme, url)
    if port == 0 or (allowed_ports is not None and port not in allowed_ports):
        allowed = "any port" if allowed_ports is None else ", ".join(str(p) for p in sorted(allowed_ports))
        raise BadPort(f"Port {port} is not fetched (allowed: {allowed}).", url=url)
    host, ip = _normalise_host(host_text, url, allow_loopback=allow_loopback)
    netloc_out = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    if port != DEFAULT_PORTS[scheme]:
        netloc_out = f"{netloc_out}:{port}"
    normalised = urlunsplit((scheme, netloc_out, parts.path or "/", parts.query, ""))
    return Target(url=normalised, scheme=scheme, host=host, port=port, ip=ip)


def _split_host_port(netloc: str, scheme: str, url: str) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            raise BadUrl("The URL has an unterminated [IPv6] host.", url=url)
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BadUrl("The URL has characters after its [IPv6] host.", url=url)
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise BadUrl("The URL's host has more than one ':' (unbracketed IPv6?).", url=url)
    if not host:
        raise BadUrl("The URL has an empty host.", url=url)
    if not port_text:
        return host, DEFAULT_PORTS[scheme]
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
        raise BadUrl(f"The URL's port {port_text!r} is not a number from 1 to 65535.", url=url)
    return host, int(port_text)


def _normalise_host(host: str, url: str, *, allow_loopback: bool) -> tuple[str, IPAddress | None]:
    if host.startswith("["):
        inner = host[1:-1]
        if "%" in inner:
            raise BadUrl("IPv6 zone ids (%...) are not allowed in URLs.", url=url)
        try:
            v6 = ipaddress.IPv6Address(inner)
        except ValueError as exc:
            raise BadUrl(f"The URL's IPv6 host {host} is not valid.", url=url) from exc
        return str(v6), v6
    if "%" in host:
        raise BadUrl("Percent-encoded host names are not fetched.", url=url)
    if host.isascii():
        ascii_host = host.lower()
    else:
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise BadUrl(f"The URL's host {host!r} is not a valid international domain name.", url=url) from exc
    if ascii_host.endswith("."):
        ascii_host = ascii_host[:-1]
    labels = ascii_host.split(".")
    if _ends_in_number(labels):
        v4 = parse_ipv4_loose(ascii_host)
        if v4 is None:
            raise BadUrl(f"The URL's host {host!r} looks like an IPv4 address but is not one.", url=url)
        return str(v4), v4
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise BadUrl(f"The URL's host {host!r} is not a valid host name.", url=url)
    if ascii_host == "localhost":
        if allow_loopback:
            return ascii_host, None
        raise ForbiddenHost("localhost is never fetched.", url=url)
    if len(labels) == 1:
        raise ForbiddenHost(f"Single-label host names like {ascii_host!r} only exist inside networks.", url=url)
    if any(ascii_host.endswith(suffix) for suffix in _INTERNAL_SUFFIXES):
        raise ForbiddenHost(f"{ascii_host!r} is an internal or special-use name.", url=url)
    return ascii_host, None


def _ends_in_number(labels: list[str]) -> bool:
    """WHATWG URL "ends in a number": the last label is decimal digits or a 0x hex number."""
    last = labels[-1] if labels[-1] else (labels[-2] if len(labels) > 1 else "")
    if last.isascii() and last.isdigit():
        return True
    return last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:])


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Parse IPv4 the permissive way browsers and inet_aton do (1 to 4 parts, decimal/octal/hex).

    Returns None when the text is not such an address. This exists so that every spelling of an
    address is checked as that address: 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 are all loopback.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _parse_ipv4_number(part)
        if number is None:
            return None
        numbers.append(number)
    if any(n > 255 for n in numbers[:-1]):
        return None
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_number(part: str) -> int | None:
    # Characters are checked by hand: int() would also accept "_", signs and surrounding spaces.
    if part[:2] in ("0x", "0X"):
        digits = part[2:]
        if not all(c in "0123456789abcdefABCDEF" for c in digits):
            return None
        return int(digits, 16) if digits else 0
    if not part or not all(c in "0123456789" for c in part):
        return None
    if len(part) > 1 and part[0] == "0":
        if not all(c in "01234567" for c in part):
            return None
        return int(part, 8)
    return int(part, 10)
