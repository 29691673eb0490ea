"""SSRF-safe fetching of reported URLs, page-to-media extraction, and registrable domains.

A pure library: it imports nothing from Django, so a worker, a CLI or a notebook can use it and
its tests need no database. See docs/fetching.md for the policy and every refusal reason.
"""

from __future__ import annotations

from takedown.fetching.addresses import AddressVerdict, check_address
from takedown.fetching.domains import registrable_domain
from takedown.fetching.errors import (
    REASONS,
    BadEncoding,
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
    RedirectHop,
    RedirectLoop,
    TlsError,
    TooLarge,
    TooManyRedirects,
    UnexpectedType,
    UserinfoInUrl,
)
from takedown.fetching.extract import MediaCandidate, extract_media_candidates
from takedown.fetching.fetcher import FetchResult, fetch
from takedown.fetching.pages import MediaOutcome, PageResult, fetch_media
from takedown.fetching.policy import DEFAULT_USER_AGENT, FetchPolicy, Resolver, system_resolver
from takedown.fetching.sniff import Sniffed, sniff

__all__ = [
    "DEFAULT_USER_AGENT",
    "REASONS",
    "AddressVerdict",
    "BadEncoding",
    "BadPort",
    "BadScheme",
    "BadUrl",
    "ConnectionFailed",
    "DnsFailure",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "FetchTimeout",
    "ForbiddenAddress",
    "ForbiddenHost",
    "HttpStatusError",
    "MediaCandidate",
    "MediaOutcome",
    "PageResult",
    "RedirectHop",
    "RedirectLoop",
    "Resolver",
    "Sniffed",
    "TlsError",
    "TooLarge",
    "TooManyRedirects",
    "UnexpectedType",
    "UserinfoInUrl",
    "check_address",
    "extract_media_candidates",
    "fetch",
    "fetch_media",
    "registrable_domain",
    "sniff",
    "system_resolver",
]
