"""Why a fetch failed, as a stable reason code that callers can store, count and retry on.

Every refusal and failure of the fetcher is a ``FetchError`` subclass. The ``reason`` is part of the
public contract (it is stored with the evidence and shown to staff), so codes are never renamed;
the message is plain language for people and may change. ``transient`` tells a task whether a
retry can help: a timeout or a 503 may heal, a forbidden address or a 404 will not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class RedirectHop:
    """One redirect the fetcher followed: the URL it asked for and the answer that sent it on.

    Kept as evidence: a platform can see how a short link or tracking URL reached the content.
    """

    url: str
    status: int
    location: str


class FetchError(Exception):
    """Base of every fetch failure; ``reason`` is a stable code, ``str(error)`` a plain message."""

    reason: ClassVar[str] = "fetch_error"
    #: Whether retrying the same URL later can succeed. Subclasses override it per reason.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, url: str | None = None, redirect_chain: tuple[RedirectHop, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.redirect_chain = redirect_chain

    @property
    def transient(self) -> bool:
        """True when the failure can heal by itself (timeouts, 5xx, dropped connections)."""
        return self.retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r}, url={self.url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args), which loses the keyword-only fields (status, address...);
        # Celery and multiprocessing pickle errors, so rebuild from the full state instead.
        return (_restore, (type(self), self.message, dict(self.__dict__)))


def _restore(cls: type[FetchError], message: str, state: dict[str, Any]) -> FetchError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class BadUrl(FetchError):
    """The URL cannot be parsed the same way by every component, so it is not fetched at all."""

    reason = "bad_url"


class BadScheme(FetchError):
    """Only http and https are fetched; file:, ftp:, gopher:, data: and the rest reach local things."""

    reason = "bad_scheme"


class UserinfoInUrl(FetchError):
    """``user:pass@`` in a URL is the classic way to disguise the real host (good.example@127.0.0.1)."""

    reason = "userinfo"


class BadPort(FetchError):
    """The port is outside the policy's allowed ports (by default the usual web ports only)."""

    reason = "bad_port"


class ForbiddenHost(FetchError):
    """The host name itself is internal (localhost, a dotless name, .internal, .local ...)."""

    reason = "forbidden_host"


class ForbiddenAddress(FetchError):
    """A resolved (or literal) address is not on the public internet.

    ``address`` is the offending address and ``category`` names the rule that refused it (for
    example ``loopback``, ``private``, ``cloud_metadata``, ``nat64``).
    """

    reason = "forbidden_address"

    def __init__(
        self,
        message: str,
        *,
        address: str,
        category: str,
        url: str | None = None,
        redirect_chain: tuple[RedirectHop, ...] = (),
    ) -> None:
        super().__init__(message, url=url, redirect_chain=redirect_chain)
        self.address = address
        self.category = category


class DnsFailure(FetchError):
    """The host did not resolve. Only a temporary resolver failure (EAI_AGAIN) is worth retrying."""

    reason = "dns_failure"

    def __init__(
        self,
        message: str,
        *,
        temporary: bool = False,
        url: str | None = None,
        redirect_chain: tuple[RedirectHop, ...] = (),
    ) -> None:
        super().__init__(message, url=url, redirect_chain=redirect_chain)
        self.temporary = temporary

    @property
    def transient(self) -> bool:
        return self.temporary


class TooManyRedirects(FetchError):
    """More redirects than the policy allows; long chains are how rebinding tricks buy time."""

    reason = "too_many_redirects"


class RedirectLoop(FetchError):
    """A redirect pointed back to a URL already visited in the same fetch."""

    reason = "redirect_loop"


class FetchTimeout(FetchError):
    """The connect, read or total (wall-clock) time limit was reached."""

    reason = "timeout"
    retryable = True


class ConnectionFailed(FetchError):
    """The connection was refused, reset, or the server did not speak HTTP properly."""

    reason = "connection_error"
    retryable = True


class TlsError(FetchError):
    """The TLS handshake failed: untrusted certificate, wrong host name, or no TLS at all.

    Permanent: a certificate that does not match the name is not fixed by asking again soon.
    """

    reason = "tls_error"


class HttpStatusError(FetchError):
    """The server answered with a status that carries no content (4xx, 5xx, or 3xx without a target).

    ``status`` and ``headers`` are kept so callers can tell a login wall (401/403) from a removal
    (404/410) from an outage (5xx): each leads to a different next step for the case.
    ``body_excerpt`` holds the first bytes of the answer for the statuses that walls and bot
    challenges use (401, 402, 403, 429, 451, 503), so :mod:`takedown.fetching.obstacles` can tell
    a Cloudflare challenge from a plain refusal; it is empty for every other status.
    """

    reason = "http_status"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str],
        url: str | None = None,
        redirect_chain: tuple[RedirectHop, ...] = (),
        body_excerpt: bytes = b"",
    ) -> None:
        super().__init__(message, url=url, redirect_chain=redirect_chain)
        self.status = status
        self.headers = dict(headers)
        self.body_excerpt = body_excerpt

    @property
    def transient(self) -> bool:
        # 408 and 429 are the server asking us to come back later; 5xx is an outage.
        return self.status >= 500 or self.status in (408, 429)


class TooLarge(FetchError):
    """The body (after decompression) passed the byte cap for its sniffed kind, or announced it would."""

    reason = "too_large"

    def __init__(
        self,
        message: str,
        *,
        limit: int,
        kind: str | None = None,
        url: str | None = None,
        redirect_chain: tuple[RedirectHop, ...] = (),
    ) -> None:
        super().__init__(message, url=url, redirect_chain=redirect_chain)
        self.limit = limit
        self.kind = kind


class BadEncoding(FetchError):
    """The body uses a content encoding we do not decode, or the compressed stream is corrupt."""

    reason = "bad_encoding"


class UnexpectedType(FetchError):
    """The sniffed content is not of a kind the caller asked for (e.g. an HTML page as a media candidate)."""

    reason = "unexpected_type"

    def __init__(
        self,
        message: str,
        *,
        sniffed_type: str,
        url: str | None = None,
        redirect_chain: tuple[RedirectHop, ...] = (),
    ) -> None:
        super().__init__(message, url=url, redirect_chain=redirect_chain)
        self.sniffed_type = sniffed_type


class BadPlaylist(FetchError):
    """A streaming playlist or manifest (HLS, DASH) that cannot be read: not a playlist, no video
    rendition, a live stream without a duration, a segment index that is missing or corrupt."""

    reason = "bad_playlist"


class ProtectedStream(FetchError):
    """The stream is protected by DRM (SAMPLE-AES, DASH ``ContentProtection``): its segments cannot
    be decoded without a licence, so the video cannot be hashed. Plain AES-128 is decrypted."""

    reason = "protected_stream"


ERROR_CLASSES: tuple[type[FetchError], ...] = (
    BadUrl,
    BadScheme,
    UserinfoInUrl,
    BadPort,
    ForbiddenHost,
    ForbiddenAddress,
    DnsFailure,
    TooManyRedirects,
    RedirectLoop,
    FetchTimeout,
    ConnectionFailed,
    TlsError,
    HttpStatusError,
    TooLarge,
    BadEncoding,
    UnexpectedType,
    BadPlaylist,
    ProtectedStream,
)

#: Every reason code the fetcher can produce, in the order the docs list them.
REASONS: tuple[str, ...] = tuple(cls.reason for cls in ERROR_CLASSES)
