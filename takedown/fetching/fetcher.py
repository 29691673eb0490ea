"""Fetch one reported URL without letting it reach our own network.

The order of operations is the security argument:

1. The URL is parsed once, strictly (``urls.parse_target``).
2. The host is resolved once, and *every* address is checked (``addresses.check_address``); one bad
   address refuses the host, so a DNS answer mixing public and private addresses cannot win.
3. The connection is made to the checked addresses only. ``requests`` is given a urllib3 pool whose
   connections ignore the host name and connect to the pinned address, while TLS still sends SNI
   for, and verifies the certificate against, the original host name, and the Host header names
   it. A second DNS lookup that answers differently therefore never happens.
4. Redirects are not followed by ``requests``; each Location goes back to step 1.
5. The body is streamed under a total wall-clock deadline enforced inside every socket operation,
   and under a byte cap chosen by the *sniffed* kind, counted after decompression.

Proxies from the environment are ignored: a proxy would make the address checks meaningless.
"""

from __future__ import annotations

import functools
import hashlib
import http
import http.client
import ipaddress
import math
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
import urllib3
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url

from takedown.fetching.addresses import IPAddress, check_address, parse_address
from takedown.fetching.errors import (
    BadEncoding,
    BadUrl,
    ConnectionFailed,
    DnsFailure,
    FetchError,
    FetchTimeout,
    ForbiddenAddress,
    HttpStatusError,
    RedirectHop,
    RedirectLoop,
    TlsError,
    TooLarge,
    TooManyRedirects,
    UnexpectedType,
)
from takedown.fetching.policy import FetchPolicy
from takedown.fetching.sniff import SNIFF_BYTES, Kind, Sniffed, is_mismatch, sniff
from takedown.fetching.urls import Target, parse_target

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

DEFAULT_POLICY = FetchPolicy()

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Response headers kept as evidence. Values are truncated: a hostile server chooses their length.
SELECTED_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
    "last-modified",
    "etag",
    "server",
    "date",
    "location",
    "cache-control",
    "expires",
    "age",
    "retry-after",
    "www-authenticate",
    "x-robots-tag",
    "via",
    "content-range",
    # Cloudflare names its bot challenges here (``challenge``): see takedown.fetching.obstacles.
    "cf-mitigated",
)
MAX_HEADER_VALUE = 2048
ACCEPT = "text/html,application/xhtml+xml,image/avif,image/webp,image/*;q=0.9,video/*;q=0.9,*/*;q=0.5"
_CHUNK = 64 * 1024
#: Addresses tried per host: all are checked, but a host with hundreds of records is not a web site.
_MAX_ADDRESSES_TRIED = 8
#: Statuses whose first bytes are read, because walls and bot challenges answer with them and the
#: page says which one it is (a Cloudflare challenge is a 403 or 503 with a recognisable page).
EXCERPT_STATUSES = frozenset({401, 402, 403, 429, 451, 503})
MAX_EXCERPT_BYTES = 32 * 1024


@dataclass(frozen=True)
class FetchResult:
    """Evidence of one successful fetch. ``body`` is the decoded content; the caller decides whether
    to keep it (usually it hashes it and keeps only ``sha256`` and the perceptual hashes)."""

    requested_url: str
    final_url: str
    redirect_chain: tuple[RedirectHop, ...]
    status: int
    headers: dict[str, str]
    fetched_at: datetime
    elapsed: float
    size: int
    sha256: str
    sniffed_type: str
    kind: Kind
    declared_type: str | None
    type_mismatch: bool
    pinned_ip: str
    body: bytes = field(repr=False)


def fetch(
    url: str,
    policy: FetchPolicy | None = None,
    *,
    accept_kinds: Collection[Kind] | None = None,
    referer: str | None = None,
) -> FetchResult:
    """Fetch ``url`` under ``policy`` (the production defaults when None).

    ``accept_kinds`` stops the download as soon as the sniffed kind is not one of them (raising
    ``UnexpectedType``), so a media candidate that turns out to be a page costs a few KB, not 5 MB.
    Raises a ``FetchError`` subclass for every refusal and failure.
    """
    policy = policy or DEFAULT_POLICY
    return _Fetch(
        policy,
        deadline=time.monotonic() + policy.total_timeout,
        accept_kinds=accept_kinds,
        referer=referer,
    ).run(url)


class _Fetch:
    """State of one fetch: the deadline, the redirect chain so far, and resolutions made."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        deadline: float,
        accept_kinds: Collection[Kind] | None = None,
        referer: str | None = None,
        byte_budget: int | None = None,
        resolutions: dict[str, tuple[IPAddress, ...]] | None = None,
        byte_range: tuple[int, int] | None = None,
    ) -> None:
        self.policy = policy
        # (first, last) byte, inclusive, as in a Range header: a segment inside one big file (HLS
        # EXT-X-BYTERANGE, DASH SegmentBase). A server that ignores the header sends the whole
        # file, which is read under the same caps and sliced.
        self.byte_range = byte_range
        self.deadline = deadline
        self.accept_kinds = None if accept_kinds is None else frozenset(accept_kinds)
        self.referer = referer
        self.byte_budget = byte_budget
        # Shared by the fetches of one page: a host checked a moment ago is not resolved again.
        self.resolutions = {} if resolutions is None else resolutions
        self.chain: list[RedirectHop] = []
        self.current_url: str | None = None

    def run(self, url: str) -> FetchResult:
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        self.current_url = url
        try:
            return self._follow(url, started, fetched_at)
        except FetchError as exc:
            if exc.url is None:
                exc.url = self.current_url
            if not exc.redirect_chain:
                exc.redirect_chain = tuple(self.chain)
            raise

    def _follow(self, url: str, started: float, fetched_at: datetime) -> FetchResult:
        requested_url = url
        visited: set[str] = set()
        while True:
            target = parse_target(
                url, allowed_ports=self.policy.allowed_ports, allow_loopback=self.policy.allow_loopback
            )
            self.current_url = target.url
            if target.url in visited:
                raise RedirectLoop(f"The redirects loop back to {target.url}.")
            visited.add(target.url)
            addresses = self._resolve(target)
            with ExitStack() as stack:
                response, hop = self._send(target, addresses, stack)
                status = response.status_code
                location = response.headers.get("location")
                if status in REDIRECT_STATUSES and location:
                    self.chain.append(RedirectHop(url=target.url, status=status, location=location[:MAX_HEADER_VALUE]))
                    if len(self.chain) > self.policy.max_redirects:
                        raise TooManyRedirects(f"More than {self.policy.max_redirects} redirects.")
                    url = urljoin(target.url, location.strip())
                    continue
                headers = _select_headers(response.headers)
                if not 200 <= status < 300:
                    excerpt = self._read_excerpt(response) if status in EXCERPT_STATUSES else b""
                    raise HttpStatusError(_status_message(status), status=status, headers=headers, body_excerpt=excerpt)
                body, sniffed = self._read_body(response)
                if self.byte_range is not None and status == 200:
                    first, last = self.byte_range
                    body = body[first : last + 1]
                    sniffed = sniff(body[:SNIFF_BYTES])
            finished = time.monotonic()
            declared = response.headers.get("content-type")
            return FetchResult(
                requested_url=requested_url,
                final_url=target.url,
                redirect_chain=tuple(self.chain),
                status=status,
                headers=headers,
                fetched_at=fetched_at,
                elapsed=finished - started,
                size=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
                sniffed_type=sniffed.mime,
                kind=sniffed.kind,
                declared_type=declared[:MAX_HEADER_VALUE] if declared else None,
                type_mismatch=is_mismatch(declared, sniffed),
                pinned_ip=str(hop.connected) if hop.connected is not None else "",
                body=body,
            )

    # --- resolution -------------------------------------------------------------------------

    def _resolve(self, target: Target) -> tuple[IPAddress, ...]:
        """Resolve once and check every address; the answer is then the only place we connect to."""
        if target.ip is not None:
            verdict = check_address(target.ip, allow_loopback=self.policy.allow_loopback)
            if not verdict.allowed:
                raise _forbidden(target.host, target.ip, verdict.category, verdict.detail, literal=True)
            return (target.ip,)
        cached = self.resolutions.get(target.host)
        if cached is not None:
            return cached
        answer = self._run_resolver(target.host)
        addresses: list[IPAddress] = []
        for text in answer:
            try:
                address = parse_address(str(text))
            except ValueError as exc:
                raise DnsFailure(f"The resolver returned {text!r} for {target.host}, which is not an address.") from exc
            verdict = check_address(address, allow_loopback=self.policy.allow_loopback)
            if not verdict.allowed:
                raise _forbidden(target.host, address, verdict.category, verdict.detail, literal=False)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise DnsFailure(f"{target.host} has no addresses.")
        resolved = tuple(addresses)
        self.resolutions[target.host] = resolved
        return resolved

    def _run_resolver(self, host: str) -> list[str]:
        """Call the resolver under the deadline. getaddrinfo cannot be cancelled, so it runs in a
        daemon thread that is abandoned (and finishes on its own) if the deadline passes first."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout("The total time limit was reached before the host was resolved.")
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["answer"] = list(self.policy.resolver(host))
            except (OSError, ValueError, UnicodeError) as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"takedown-resolve-{host}", daemon=True)
        worker.start()
        worker.join(remaining)
        if worker.is_alive():
            raise FetchTimeout(f"Resolving {host} did not finish within the time limit.")
        error = outcome.get("error")
        if isinstance(error, socket.gaierror):
            temporary = error.errno == socket.EAI_AGAIN
            raise DnsFailure(f"{host} could not be resolved: {error.strerror or error}.", temporary=temporary)
        if error is not None:
            raise DnsFailure(f"{host} could not be resolved: {error}.")
        answer: list[str] = outcome["answer"]
        return answer

    # --- one request ------------------------------------------------------------------------

    def _send(
        self, target: Target, addresses: tuple[IPAddress, ...], stack: ExitStack
    ) -> tuple[requests.Response, _Hop]:
        hop = _Hop(
            addresses=addresses[:_MAX_ADDRESSES_TRIED],
            port=target.port,
            deadline=self.deadline,
            connect_timeout=self.policy.connect_timeout,
            read_timeout=self.policy.read_timeout,
        )
        # The adapter is used directly, without a requests.Session: a Session would read proxies,
        # .netrc and CA settings from the environment, and even with allow_redirects=False it reads
        # a redirect response's whole body (uncapped, decompressed) to prepare the next request.
        adapter = _PinnedAdapter(_pinned_pool(target, hop, self.policy))
        stack.callback(adapter.close)
        headers = {
            "Host": target.host_header,
            "User-Agent": self.policy.user_agent,
            "Accept": ACCEPT,
            # Compressed transfer is refused politely; if a server compresses anyway, the body is
            # decoded here under the byte cap (see _BodyDecoder).
            "Accept-Encoding": "identity",
            "Connection": "close",
        }
        if self.referer:
            headers["Referer"] = self.referer
        if self.byte_range is not None:
            headers["Range"] = f"bytes={self.byte_range[0]}-{self.byte_range[1]}"
        try:
            prepared = requests.Request("GET", target.url, headers=headers).prepare()
        except (requests.RequestException, ValueError) as exc:
            raise BadUrl(f"The URL cannot be requested: {exc}.") from exc
        _check_prepared(prepared, target)
        try:
            response = adapter.send(
                prepared,
                stream=True,
                proxies={},
                verify=True,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _translate(exc, target, self.deadline, self.policy) from exc
        stack.callback(response.close)
        return response, hop

    def _cap(self, kind: Kind | None) -> int:
        cap = self.policy.largest_cap if kind is None else self.policy.max_bytes(kind)
        return cap if self.byte_budget is None else min(cap, self.byte_budget)

    def _read_body(self, response: requests.Response) -> tuple[bytes, Sniffed]:
        """Stream the body under the deadline and the byte cap of its sniffed kind.

        Content-Length is used only to refuse early; the cap is enforced on bytes actually received
        and, for compressed bodies, on bytes after decompression.
        """
        encoding = (response.headers.get("content-encoding") or "").strip().lower()
        decoder = _BodyDecoder(encoding)
        declared_length = _parse_length(response.headers.get("content-length"))
        cap = self._cap(None)
        if declared_length is not None and declared_length > cap:
            raise TooLarge(f"The server announced {declared_length} bytes, more than any limit ({cap}).", limit=cap)
        body = bytearray()
        received = 0
        sniffed: Sniffed | None = None
        raw = response.raw
        try:
            while True:
                if time.monotonic() >= self.deadline:
                    raise FetchTimeout(_total_timeout_message(self.policy))
                chunk = raw.read(_CHUNK, decode_content=False)
                if not chunk:
                    break
                received += len(chunk)
                if received > cap:
                    raise TooLarge(
                        self._too_large_message(cap, sniffed, decoder.active), limit=cap, kind=_kind(sniffed)
                    )
                for piece in decoder.feed(chunk):
                    body += piece
                    if sniffed is None and len(body) >= SNIFF_BYTES:
                        sniffed, cap = self._classify(body, declared_length, encoding)
                    if len(body) > cap:
                        raise TooLarge(
                            self._too_large_message(cap, sniffed, decoder.active), limit=cap, kind=_kind(sniffed)
                        )
        except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _translate(exc, None, self.deadline, self.policy) from exc
        decoder.finish()
        if sniffed is None:
            sniffed, cap = self._classify(body, declared_length, encoding)
            if len(body) > cap:
                raise TooLarge(self._too_large_message(cap, sniffed, decoder.active), limit=cap, kind=sniffed.kind)
        return bytes(body), sniffed

    def _read_excerpt(self, response: requests.Response) -> bytes:
        """The first bytes of an error answer (decoded when compressed), for recognising walls and
        challenges; any problem reading them just gives fewer bytes, never a different error."""
        excerpt = bytearray()
        try:
            decoder = _BodyDecoder((response.headers.get("content-encoding") or "").strip().lower())
            while len(excerpt) < MAX_EXCERPT_BYTES and time.monotonic() < self.deadline:
                chunk = response.raw.read(min(_CHUNK, MAX_EXCERPT_BYTES), decode_content=False)
                if not chunk:
                    break
                for piece in decoder.feed(chunk):
                    excerpt += piece
                    if len(excerpt) >= MAX_EXCERPT_BYTES:
                        break
        except (FetchError, requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException):
            pass
        except (OSError, zlib.error):
            pass
        return bytes(excerpt[:MAX_EXCERPT_BYTES])

    def _classify(self, body: bytearray, declared_length: int | None, encoding: str) -> tuple[Sniffed, int]:
        sniffed = sniff(bytes(body[:SNIFF_BYTES]))
        if self.accept_kinds is not None and sniffed.kind not in self.accept_kinds:
            wanted = ", ".join(sorted(self.accept_kinds))
            raise UnexpectedType(
                f"The content is {sniffed.mime} ({sniffed.kind}), not {wanted}.", sniffed_type=sniffed.mime
            )
        cap = self._cap(sniffed.kind)
        if declared_length is not None and encoding in ("", "identity") and declared_length > cap:
            raise TooLarge(
                f"The server announced {declared_length} bytes of {sniffed.kind}, more than the limit of {cap}.",
                limit=cap,
                kind=sniffed.kind,
            )
        return sniffed, cap

    @staticmethod
    def _too_large_message(cap: int, sniffed: Sniffed | None, compressed: bool) -> str:
        what = f"{sniffed.kind} body" if sniffed else "body"
        after = " after decompression" if compressed else ""
        return f"The {what} is larger than the limit of {cap} bytes{after}."


def _kind(sniffed: Sniffed | None) -> Kind | None:
    return None if sniffed is None else sniffed.kind


def _forbidden(host: str, address: IPAddress, category: str | None, detail: str, *, literal: bool) -> ForbiddenAddress:
    label = (category or "forbidden").replace("_", " ")
    where = f"The address {address}" if literal else f"The host {host} resolves to {address}, which"
    message = f"{where} is {label}{f' ({detail})' if detail else ''}; only public internet addresses are fetched."
    return ForbiddenAddress(message, address=str(address), category=category or "forbidden")


def _status_message(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"The server answered {status} {phrase}."


def _select_headers(headers: Any) -> dict[str, str]:
    selected: dict[str, str] = {}
    for name in SELECTED_HEADERS:
        value = headers.get(name)
        if value is not None:
            selected[name] = str(value)[:MAX_HEADER_VALUE]
    return selected


def _parse_length(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.split(",", 1)[0].strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _check_prepared(prepared: requests.PreparedRequest, target: Target) -> None:
    """Belt and braces: ``requests`` must read the URL's host and port exactly as we did.

    The connection goes to the pinned address whatever this says, but a disagreement means the URL
    is ambiguous, and ambiguous URLs are refused rather than interpreted.
    """
    parsed = parse_url(prepared.url or "")
    host = (parsed.host or "").strip("[]").lower()
    if host != target.host or (parsed.port or (443 if parsed.scheme == "https" else 80)) != target.port:
        raise BadUrl(f"The URL's host is ambiguous ({host!r} versus {target.host!r}).")


# --- errors from the transport ------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: requests and urllib3 nest the real cause deeply."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue and len(seen) < 32:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested: list[object] = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        queue.extend(item for item in nested if isinstance(item, BaseException))


def _translate(exc: BaseException, target: Target | None, deadline: float, policy: FetchPolicy) -> FetchError:
    causes = list(_causes(exc))
    if time.monotonic() >= deadline:
        return FetchTimeout(_total_timeout_message(policy))
    if any(_is_timeout(c) for c in causes):
        return FetchTimeout(
            f"The server did not answer within {policy.connect_timeout:g} s (connect)"
            f" or {policy.read_timeout:g} s (read)."
        )
    tls = [c for c in causes if isinstance(c, ssl.SSLError | ssl.CertificateError | urllib3.exceptions.SSLError)]
    if tls:
        where = f" with {target.host}" if target else ""
        return TlsError(f"The TLS connection{where} failed: {_innermost(tls)}.")
    return ConnectionFailed(f"The connection failed: {_innermost(causes)}.")


def _is_timeout(exc: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for old callers; it is a refusal.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, TimeoutError | requests.Timeout | urllib3.exceptions.TimeoutError)


def _total_timeout_message(policy: FetchPolicy) -> str:
    return f"The fetch took longer than the total limit of {policy.total_timeout:g} s."


def _innermost(causes: Sequence[BaseException]) -> str:
    text = str(causes[-1]) or type(causes[-1]).__name__
    return text[:300]


# --- pinned connections -------------------------------------------------------------------------


@dataclass
class _Hop:
    """Where one request may connect, its time limits, and which address it ended up using."""

    addresses: tuple[IPAddress, ...]
    port: int
    deadline: float
    connect_timeout: float
    read_timeout: float
    connected: IPAddress | None = None


def _arm(sock: socket.socket, deadline: float, op_timeout: float | None) -> None:
    """Give the next socket operation at most the smaller of its own timeout and the time left.

    Per-operation timeouts alone let a server trickle one byte per interval forever (slowloris);
    setting the timeout before every operation turns them into a wall-clock deadline, including
    inside http.client's buffered reads of the status line and headers.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the total time limit of the fetch was reached")
    sock.settimeout(remaining if op_timeout is None else min(op_timeout, remaining))


class _DeadlineSocket(socket.socket):
    """A TCP socket whose reads and writes respect the fetch's deadline (see ``_arm``)."""

    takedown_deadline: float = math.inf
    takedown_op_timeout: float | None = None

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS counterpart of ``_DeadlineSocket``, installed as the SSL context's socket class."""

    takedown_deadline: float = math.inf
    takedown_op_timeout: float | None = None

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().recv(buflen, flags)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        _arm(self, self.takedown_deadline, self.takedown_op_timeout)
        super().sendall(data, flags)


def _connect_pinned(conn: HTTPConnection, hop: _Hop) -> socket.socket:
    """Connect to the checked addresses, in resolver order, and to nothing else.

    Replaces urllib3's ``_new_conn``, which would resolve the host name again.
    """
    problems: list[str] = []
    timed_out = False
    for address in hop.addresses:
        remaining = hop.deadline - time.monotonic()
        if remaining <= 0:
            raise urllib3.exceptions.ConnectTimeoutError(conn, "the total time limit was reached while connecting")
        family = socket.AF_INET6 if isinstance(address, ipaddress.IPv6Address) else socket.AF_INET
        sock = _DeadlineSocket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(min(hop.connect_timeout, remaining))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect((str(address), hop.port))
        except TimeoutError:
            sock.close()
            timed_out = True
            problems.append(f"{address}: timed out")
            continue
        except OSError as exc:
            sock.close()
            problems.append(f"{address}: {exc.strerror or exc}")
            continue
        hop.connected = address
        sock.takedown_deadline = hop.deadline
        sock.takedown_op_timeout = hop.read_timeout
        # A TLS handshake runs in OpenSSL on this socket's timeout, measured over the whole handshake.
        sock.settimeout(min(hop.connect_timeout, max(hop.deadline - time.monotonic(), 0.001)))
        return sock
    summary = "; ".join(problems) or "no address to connect to"
    if timed_out and len(problems) == len(hop.addresses):
        raise urllib3.exceptions.ConnectTimeoutError(conn, f"connection timed out ({summary})")
    raise urllib3.exceptions.NewConnectionError(conn, f"could not connect ({summary})")


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, hop: _Hop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._takedown_hop = hop

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._takedown_hop)


class _PinnedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, hop: _Hop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._takedown_hop = hop

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._takedown_hop)

    def connect(self) -> None:
        super().connect()
        if isinstance(self.sock, _DeadlineSSLSocket):
            self.sock.takedown_deadline = self._takedown_hop.deadline
            self.sock.takedown_op_timeout = self._takedown_hop.read_timeout


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    """A verifying TLS context (certificate chain and host name), shared per CA bundle."""
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def _pinned_pool(target: Target, hop: _Hop, policy: FetchPolicy) -> HTTPConnectionPool:
    """A one-connection pool for this request, bound to the checked addresses.

    The pool's host is the pinned address, so even code paths we did not override could only
    reach it. TLS gets the original host name for SNI and certificate verification (OpenSSL's
    check_hostname, via urllib3's ``server_hostname``).
    """
    host = str(hop.addresses[0])
    if target.scheme == "https":
        return _PinnedHTTPSPool(
            host=host,
            port=target.port,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ssl_context=_tls_context(policy.ca_bundle or DEFAULT_CA_BUNDLE_PATH),
            server_hostname=target.host,
            hop=hop,
        )
    return _PinnedHTTPPool(host=host, port=target.port, maxsize=1, hop=hop)


class _PinnedAdapter(HTTPAdapter):
    """A ``requests`` transport that always uses the pinned pool it was built with."""

    def __init__(self, pool: HTTPConnectionPool) -> None:
        super().__init__(max_retries=0)
        self._pinned_pool = pool

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        return self._pinned_pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # The pinned pool carries its own verifying TLS context; requests must not swap the CA file.
        return None

    def close(self) -> None:
        super().close()
        self._pinned_pool.close()


# --- content encodings --------------------------------------------------------------------------


class _BodyDecoder:
    """Decode gzip/deflate incrementally, never producing more than one chunk per step.

    ``zlib``'s ``max_length`` bounds each step, so a bomb (a few KB that inflate to gigabytes) is
    stopped by the byte cap after at most one chunk beyond it. Brotli, zstd and stacked encodings
    are refused: we ask for ``identity``, so a server sending them ignored us.
    """

    def __init__(self, encoding: str) -> None:
        self._mode: str | None
        if encoding in ("", "identity"):
            self._mode = None
        elif encoding in ("gzip", "x-gzip"):
            self._mode = "gzip"
        elif encoding == "deflate":
            self._mode = "deflate"
        else:
            raise BadEncoding(f"The body is encoded as {encoding!r}, which is not decoded here.")
        self._inflater: Any = self._new_inflater()
        self._started = False
        self._finished = False

    @property
    def active(self) -> bool:
        return self._mode is not None

    def _new_inflater(self, raw: bool = False) -> Any:
        if self._mode == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._mode is None:
            yield data
            return
        pending = data
        while pending or self._started:
            if self._finished:
                if self._mode == "gzip" and pending.lstrip(b"\x00"):
                    # Another gzip member follows (concatenated gzip files are valid gzip).
                    self._inflater = self._new_inflater()
                    self._finished = False
                else:
                    return
            try:
                out = self._inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                if self._mode == "deflate" and not self._started:
                    # Many servers send raw deflate without the zlib header the standard requires.
                    self._inflater = self._new_inflater(raw=True)
                    self._started = True
                    continue
                raise BadEncoding(f"The compressed body is corrupt: {exc}.") from exc
            self._started = True
            pending = self._inflater.unconsumed_tail
            if out:
                yield out
            if self._inflater.eof:
                pending = self._inflater.unused_data + pending
                self._finished = True
                if not pending:
                    return
                continue
            if not out and not pending:
                return

    def finish(self) -> None:
        if self._mode is not None and self._started and not self._finished:
            raise BadEncoding("The compressed body ended before the end of its stream.")
