"""SSRF-safe fetching of reported URLs, page-to-media extraction, and registrable domains.

A pure library: it imports nothing from Django (nor hashing or detectors), so a worker, a CLI or a
notebook can use it and its tests need no database. See docs/fetching.md for the policy, every
refusal reason, how media are found (static HTML, JSON-LD, scripts, streamed video, pagination,
rendering) and how a page that could not be read fully is reported.
"""

from __future__ import annotations

from takedown.fetching.addresses import AddressVerdict, check_address
from takedown.fetching.domains import registrable_domain
from takedown.fetching.errors import (
    REASONS,
    BadEncoding,
    BadPlaylist,
    BadPort,
    BadScheme,
    BadUrl,
    ConnectionFailed,
    DnsFailure,
    FetchError,
    FetchTimeout,
    ForbiddenAddress,
    ForbiddenHost,
    HttpStatusError,
    ProtectedStream,
    RedirectHop,
    RedirectLoop,
    TlsError,
    TooLarge,
    TooManyRedirects,
    UnexpectedType,
    UserinfoInUrl,
)
from takedown.fetching.extract import MediaCandidate, extract_media_candidates, scan_page
from takedown.fetching.fetcher import FetchResult, fetch
from takedown.fetching.obstacles import OBSTACLES, Obstacle, obstacle_for_error
from takedown.fetching.pages import (
    PARTIAL_REASONS,
    MediaOutcome,
    PageMedium,
    PageResult,
    PartialRead,
    RenderMode,
    StreamOutcome,
    fetch_media,
    obstacle_reading,
)
from takedown.fetching.policy import DEFAULT_USER_AGENT, FetchPolicy, Resolver, system_resolver
from takedown.fetching.render import (
    ChromiumRenderer,
    PageRenderer,
    RenderedPage,
    RenderedRequest,
    RenderError,
    RenderLimits,
    default_renderer,
)
from takedown.fetching.session import FetchSession
from takedown.fetching.sniff import Sniffed, sniff
from takedown.fetching.streams import SegmentFetch, StreamSample, follow_stream

__all__ = [
    "DEFAULT_USER_AGENT",
    "OBSTACLES",
    "PARTIAL_REASONS",
    "REASONS",
    "AddressVerdict",
    "BadEncoding",
    "BadPlaylist",
    "BadPort",
    "BadScheme",
    "BadUrl",
    "ChromiumRenderer",
    "ConnectionFailed",
    "DnsFailure",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "FetchSession",
    "FetchTimeout",
    "ForbiddenAddress",
    "ForbiddenHost",
    "HttpStatusError",
    "MediaCandidate",
    "MediaOutcome",
    "Obstacle",
    "PageMedium",
    "PageRenderer",
    "PageResult",
    "PartialRead",
    "ProtectedStream",
    "RedirectHop",
    "RedirectLoop",
    "RenderError",
    "RenderLimits",
    "RenderMode",
    "RenderedPage",
    "RenderedRequest",
    "Resolver",
    "SegmentFetch",
    "Sniffed",
    "StreamOutcome",
    "StreamSample",
    "TlsError",
    "TooLarge",
    "TooManyRedirects",
    "UnexpectedType",
    "UserinfoInUrl",
    "check_address",
    "default_renderer",
    "extract_media_candidates",
    "fetch",
    "fetch_media",
    "follow_stream",
    "obstacle_for_error",
    "obstacle_reading",
    "registrable_domain",
    "scan_page",
    "sniff",
    "system_resolver",
]
