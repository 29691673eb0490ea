"""Fetch a reported URL and, when it is a page, the media it shows, all through the safe fetcher.

Every candidate goes through the same address checks, pinning, redirects and caps as the page:
a page is stranger-controlled input, so the URLs inside it are too. The page and its candidates
share a wall-clock budget (``page_timeout``) and a byte budget (``max_page_bytes``), so a page
listing twenty 200 MB videos cannot hold a worker for an hour or fill its memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from takedown.fetching.addresses import IPAddress
from takedown.fetching.errors import FetchError, FetchTimeout, TooLarge
from takedown.fetching.extract import MediaCandidate, decode_html, extract_media_candidates
from takedown.fetching.fetcher import DEFAULT_POLICY, FetchResult, _Fetch
from takedown.fetching.policy import FetchPolicy
from takedown.fetching.sniff import Kind

MEDIA_KINDS: frozenset[Kind] = frozenset({"image", "video"})


@dataclass(frozen=True)
class MediaOutcome:
    """What happened to one candidate: exactly one of ``result`` and ``error`` is set."""

    candidate: MediaCandidate
    result: FetchResult | None = None
    error: FetchError | None = None


@dataclass(frozen=True)
class PageResult:
    """The reported URL's own fetch, the candidates found on it, and each candidate's outcome.

    For a direct media URL, ``page`` is the medium itself and it is the single outcome.
    """

    requested_url: str
    page: FetchResult
    candidates: tuple[MediaCandidate, ...]
    outcomes: tuple[MediaOutcome, ...]

    @property
    def media(self) -> tuple[FetchResult, ...]:
        """The media fetched successfully, one per distinct content (by SHA-256)."""
        seen: set[str] = set()
        distinct: list[FetchResult] = []
        for outcome in self.outcomes:
            if outcome.result is not None and outcome.result.sha256 not in seen:
                seen.add(outcome.result.sha256)
                distinct.append(outcome.result)
        return tuple(distinct)


def fetch_media(url: str, policy: FetchPolicy | None = None) -> PageResult:
    """Fetch ``url``; if it is a page, fetch up to ``policy.max_candidates`` of its media.

    Raises a ``FetchError`` when the URL itself cannot be fetched (the caller records that as the
    item's evidence); failures of individual candidates are collected in the outcomes instead.
    """
    policy = policy or DEFAULT_POLICY
    started = time.monotonic()
    page_deadline = started + policy.page_timeout
    resolutions: dict[str, tuple[IPAddress, ...]] = {}
    page = _Fetch(
        policy,
        deadline=min(page_deadline, started + policy.total_timeout),
        byte_budget=policy.max_page_bytes,
        resolutions=resolutions,
    ).run(url)
    if page.kind in MEDIA_KINDS:
        direct = MediaCandidate(url=page.final_url, source="direct")
        return PageResult(requested_url=url, page=page, candidates=(direct,), outcomes=(MediaOutcome(direct, page),))
    if page.kind != "html":
        return PageResult(requested_url=url, page=page, candidates=(), outcomes=())
    html = decode_html(page.body, page.headers.get("content-type"))
    found = extract_media_candidates(html, page.final_url, limit=policy.max_candidates + 1)
    candidates = tuple(c for c in found if c.url != page.final_url)[: policy.max_candidates]
    referer = _origin(page.final_url)
    budget = policy.max_page_bytes - page.size
    outcomes: list[MediaOutcome] = []
    for candidate in candidates:
        now = time.monotonic()
        if now >= page_deadline:
            error: FetchError = FetchTimeout(
                f"Not fetched: the page's time limit of {policy.page_timeout:g} s was reached.", url=candidate.url
            )
            outcomes.append(MediaOutcome(candidate, error=error))
            continue
        if budget <= 0:
            error = TooLarge(
                f"Not fetched: the page's byte limit of {policy.max_page_bytes} was reached.",
                limit=policy.max_page_bytes,
                url=candidate.url,
            )
            outcomes.append(MediaOutcome(candidate, error=error))
            continue
        try:
            result = _Fetch(
                policy,
                deadline=min(page_deadline, now + policy.total_timeout),
                accept_kinds=MEDIA_KINDS,
                referer=_referer_for(candidate.url, referer),
                byte_budget=budget,
                resolutions=resolutions,
            ).run(candidate.url)
        except FetchError as exc:
            outcomes.append(MediaOutcome(candidate, error=exc))
            continue
        budget -= result.size
        outcomes.append(MediaOutcome(candidate, result=result))
    return PageResult(requested_url=url, page=page, candidates=candidates, outcomes=tuple(outcomes))


def _origin(url: str) -> str:
    """Only the page's origin is sent as Referer: enough for hotlink protection, and it does not
    tell a media host which post was reported."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _referer_for(candidate_url: str, origin: str) -> str | None:
    # Like browsers, never send an https origin over plain http.
    if origin.startswith("https:") and not candidate_url.lower().startswith("https:"):
        return None
    return origin
