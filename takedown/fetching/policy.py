"""What the fetcher is allowed to do: addresses, ports, time and byte limits, identity.

One immutable object carries every limit so a task, a CLI and a test all fetch under the same rules
and a test can loosen exactly one of them (``allow_loopback``) without touching the others. The
defaults are the production rules.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from takedown.fetching.sniff import Kind

#: A resolver maps a host name to the IP addresses (as text) it resolves to. Injectable so tests can
#: map names to local servers, and so production can plug in a resolver with its own timeouts.
Resolver = Callable[[str], Sequence[str]]

DEFAULT_USER_AGENT = "TakedownBot/0.1 (+https://takedown.invalid/bot)"
MIB = 1024 * 1024

#: The usual web ports. Public sites serve media from these; anything else is more likely a probe
#: of some service than a place survivors' images are posted.
DEFAULT_PORTS = frozenset({80, 443, 8080, 8443})


def system_resolver(host: str) -> list[str]:
    """Resolve with the operating system (getaddrinfo), keeping every address, first-seen order.

    Every address is returned, not just the first, because the fetcher refuses the host when *any*
    of them is forbidden: picking a "good" one is how DNS rebinding gets through.
    """
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, kw_only=True)
class FetchPolicy:
    """Limits and permissions for one fetch (or one page with its media candidates)."""

    #: Admit 127.0.0.0/8 and ::1 (and the name localhost). Only for the project's own tests.
    allow_loopback: bool = False
    #: Ports that may be contacted; None allows every port (tests use random local ports).
    allowed_ports: frozenset[int] | None = DEFAULT_PORTS
    resolver: Resolver = system_resolver
    #: PEM bundle of trusted CAs; None uses certifi's bundle (what ``requests`` uses).
    ca_bundle: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 5.0
    #: Longest wait for any single read or write on the socket.
    read_timeout: float = 15.0
    #: Wall-clock limit for a whole fetch: resolution, every redirect, headers and the body.
    total_timeout: float = 90.0
    max_redirects: int = 5
    max_image_bytes: int = 20 * MIB
    max_video_bytes: int = 200 * MIB
    max_html_bytes: int = 5 * MIB
    #: Anything that is not a recognised image, video or HTML page (JSON, text, audio, SVG ...).
    max_other_bytes: int = 2 * MIB
    #: Media candidates fetched per page by ``fetch_media``.
    max_candidates: int = 20
    #: Bytes fetched in total for one page and its candidates.
    max_page_bytes: int = 400 * MIB
    #: Wall-clock limit for one page and all its candidates.
    page_timeout: float = 300.0
    #: Pages of a paginated thread or gallery read for one reported URL, the reported page included.
    max_pages: int = 3
    #: Streamed videos (HLS/DASH playlists) followed for one reported URL.
    max_streams: int = 2
    #: Segments fetched from one stream, spread over its whole duration (never the whole video).
    max_stream_segments: int = 12
    #: Cap of one segment (and of an initialization segment or key).
    max_segment_bytes: int = 16 * MIB
    #: Cap of everything fetched for one stream: playlists, initialization and media segments.
    max_stream_bytes: int = 64 * MIB
    #: Wall-clock limit for one stream.
    stream_timeout: float = 60.0
    #: The smallest rendition whose short side has at least this many pixels is sampled.
    min_rendition_side: int = 240
    #: Seconds between the starts of two requests to the same host (politeness).
    host_interval: float = 0.1

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout", "page_timeout", "stream_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchPolicy.{name} must be positive")
        for name in (
            "max_image_bytes",
            "max_video_bytes",
            "max_html_bytes",
            "max_other_bytes",
            "max_page_bytes",
            "max_segment_bytes",
            "max_stream_bytes",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchPolicy.{name} must not be negative")
        for name in ("max_redirects", "max_candidates", "max_streams", "max_stream_segments", "min_rendition_side"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchPolicy.{name} must not be negative")
        if self.max_pages < 1:
            raise ValueError("FetchPolicy.max_pages must be at least 1 (the reported page)")
        if self.host_interval < 0:
            raise ValueError("FetchPolicy.host_interval must not be negative")
        if any(c in self.user_agent for c in "\r\n\x00"):
            raise ValueError("FetchPolicy.user_agent must be a single line")

    def max_bytes(self, kind: Kind) -> int:
        """The byte cap for a body of this sniffed kind (measured after decompression)."""
        return {
            "image": self.max_image_bytes,
            "video": self.max_video_bytes,
            "html": self.max_html_bytes,
            "other": self.max_other_bytes,
        }[kind]

    @property
    def largest_cap(self) -> int:
        """The cap that applies before the body has been sniffed."""
        return max(self.max_image_bytes, self.max_video_bytes, self.max_html_bytes, self.max_other_bytes)
