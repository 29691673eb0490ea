"""Fetch a reported URL and everything on it that may be the reported content.

Every fetch for one reported URL goes through one :class:`.session.FetchSession`: the same address
checks, pinning, redirects and caps as the page, a shared wall-clock budget (``page_timeout``), a
shared byte budget (``max_page_bytes``) and per-host politeness. A page is stranger-controlled
input, so the URLs inside it are too.

What is read, in order:

1. the reported URL (a direct image, video or playlist is its own single medium);
2. the page's candidates (:mod:`.extract`: meta tags, JSON-LD, ``<video>``, player configurations
   and inline JSON, ``<img>`` and ``<noscript>``, stills), at most ``max_candidates`` per page;
   playlists (HLS/DASH) among them are sampled by :mod:`.streams`, at most ``max_streams``;
3. the next pages of a paginated thread or gallery, up to ``max_pages`` pages in all;
4. when a renderer is given and the static HTML gave no medium (or ``render="always"``), the page
   rendered by the browser (:mod:`.render`), whose DOM and network requests give more candidates.

The result says how each medium was found, and when the page could not be read fully, why
(``partial``: a login wall, an age gate, a bot challenge, a paywall, limits reached, a page that
needs a browser), so the service never turns an unread page into "nothing matching found".
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from takedown.fetching.errors import FetchError, UnexpectedType
from takedown.fetching.extract import MediaCandidate, PageScan, decode_html, scan_page
from takedown.fetching.fetcher import DEFAULT_POLICY, FetchResult
from takedown.fetching.obstacles import OBSTACLES, Obstacle, obstacle_for_error, page_obstacles
from takedown.fetching.policy import FetchPolicy
from takedown.fetching.render import PageRenderer, RenderedPage, RenderError
from takedown.fetching.session import FetchSession
from takedown.fetching.sniff import HLS_PLAYLIST, PLAYLIST_TYPES, Kind
from takedown.fetching.streams import StreamSample, follow_stream
from takedown.fetching.structured import Hint

MEDIA_KINDS: frozenset[Kind] = frozenset({"image", "video"})
RenderMode = Literal["never", "auto", "always"]

#: Why a page was not read fully, as stored with the evidence. The first five are obstacles in front
#: of the content (:mod:`.obstacles`); the others are limits of this reading.
PARTIAL_REASONS: tuple[str, ...] = (
    *OBSTACLES,
    "needs_rendering",
    "render_failed",
    "candidate_limit",
    "stream_limit",
    "page_limit",
    "page_unreadable",
)
#: Images smaller than this, seen only on the rendered page's network, are icons and pixels.
_MIN_NETWORK_IMAGE_BYTES = 2048
_DIGITS = re.compile(r"(?i)(?:page|pg|p|start|offset|from|skip)?[=/_.-]?\d+")


@dataclass(frozen=True)
class MediaOutcome:
    """What happened to one candidate: exactly one of ``result`` and ``error`` is set."""

    candidate: MediaCandidate
    result: FetchResult | None = None
    error: FetchError | None = None


@dataclass(frozen=True)
class StreamOutcome:
    """What happened to one playlist candidate: exactly one of ``sample`` and ``error`` is set."""

    candidate: MediaCandidate
    sample: StreamSample | None = None
    error: FetchError | None = None


@dataclass(frozen=True)
class PartialRead:
    """Why the page was not read fully: ``reason`` is one of ``PARTIAL_REASONS``, ``detail`` is
    plain language for staff, ``url`` the URL concerned when it is not the reported one."""

    reason: str
    detail: str
    url: str | None = None

    @property
    def is_obstacle(self) -> bool:
        return self.reason in OBSTACLES


@dataclass(frozen=True)
class PageMedium:
    """One medium found for the reported URL, ready to hash.

    ``how`` is where it was found: ``og``, ``json-ld``, ``static``, ``inline-json``, ``noscript``,
    ``rendered``, ``direct``, or ``playlist`` for a streamed video (then ``stream`` holds the
    sampled segments and ``stream.candidate.how`` says where the playlist itself was found).
    ``page`` is 1 for the reported page, n for the n-th page of a paginated thread.
    """

    url: str
    how: str
    source: str
    page: int
    kind: Kind
    result: FetchResult | None = None
    stream: StreamSample | None = None


@dataclass(frozen=True)
class PageResult:
    """The reported URL's own fetch, the candidates found on it, and each candidate's outcome.

    For a direct media URL, ``page`` is the medium itself and it is the single outcome.
    ``outcomes`` covers images and downloadable videos (every page and the rendered page);
    ``streams`` the playlists followed; ``pages`` the further pages of a paginated thread;
    ``partial`` why the page was not read fully (empty when it was); ``rendered`` the rendered
    page when the renderer ran.
    """

    requested_url: str
    page: FetchResult
    candidates: tuple[MediaCandidate, ...]
    outcomes: tuple[MediaOutcome, ...]
    streams: tuple[StreamOutcome, ...] = ()
    pages: tuple[FetchResult, ...] = ()
    partial: tuple[PartialRead, ...] = ()
    rendered: RenderedPage | None = None
    bytes_fetched: int = 0
    requests: int = 0
    elapsed: float = 0.0

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

    @property
    def found(self) -> tuple[PageMedium, ...]:
        """Every medium to hash: distinct images and videos, then sampled streams with at least
        one segment fetched."""
        found: list[PageMedium] = []
        seen: set[str] = set()
        for outcome in self.outcomes:
            result = outcome.result
            if result is None or result.sha256 in seen or result.kind not in MEDIA_KINDS:
                continue
            seen.add(result.sha256)
            candidate = outcome.candidate
            found.append(
                PageMedium(candidate.url, candidate.how, candidate.source, candidate.page, result.kind, result=result)
            )
        for stream in self.streams:
            sample = stream.sample
            if sample is not None and sample.fetched_segments:
                candidate = stream.candidate
                found.append(
                    PageMedium(candidate.url, "playlist", candidate.source, candidate.page, "video", stream=sample)
                )
        return tuple(found)

    @property
    def read_fully(self) -> bool:
        return not self.partial

    @property
    def obstacle(self) -> PartialRead | None:
        """The first obstacle in front of the content (login wall, age gate ...), if any."""
        return next((p for p in self.partial if p.is_obstacle), None)


def fetch_media(
    url: str,
    policy: FetchPolicy | None = None,
    *,
    renderer: PageRenderer | None = None,
    render: RenderMode = "auto",
) -> PageResult:
    """Fetch ``url`` and the media on it (see the module docstring for what is read).

    ``renderer`` (e.g. :func:`takedown.fetching.render.default_renderer`) renders the page in a
    browser when ``render`` is ``auto`` and the static HTML gave no medium, or always when it is
    ``always``; ``never`` or no renderer keeps to static HTML (and says ``needs_rendering`` when
    the page looks built by scripts). Raises a ``FetchError`` when the URL itself cannot be fetched
    (:func:`takedown.fetching.obstacles.obstacle_for_error` tells whether a wall was the cause);
    failures of single candidates, streams and pages are collected in the result instead.
    """
    session = FetchSession(policy or DEFAULT_POLICY)
    page = session.fetch(url, deadline=session.started + session.policy.total_timeout, paced=False)
    return _PageReader(session, url, page, renderer, render).run()


class _PageReader:
    """Reads one reported page: candidates, streams, next pages, rendering, obstacles."""

    def __init__(
        self,
        session: FetchSession,
        requested_url: str,
        page: FetchResult,
        renderer: PageRenderer | None,
        render: RenderMode,
    ) -> None:
        self.session = session
        self.policy = session.policy
        self.requested_url = requested_url
        self.page = page
        self.renderer = renderer
        self.render_mode = render
        self.origin = _origin(page.final_url)
        self.candidates: list[MediaCandidate] = []
        self.outcomes: list[MediaOutcome] = []
        self.streams: list[StreamOutcome] = []
        self.pages: list[FetchResult] = []
        self.partial: list[PartialRead] = []
        self.seen: set[str] = {page.final_url}
        self.rendered: RenderedPage | None = None
        self.cache: dict[str, FetchResult] = {}

    def run(self) -> PageResult:
        page = self.page
        if page.kind in MEDIA_KINDS:
            kind: Hint = "image" if page.kind == "image" else "video"
            direct = MediaCandidate(url=page.final_url, source="direct", how="direct", hint=kind)
            self.candidates.append(direct)
            self.outcomes.append(MediaOutcome(direct, page))
        elif page.sniffed_type in PLAYLIST_TYPES:
            direct = MediaCandidate(
                url=page.final_url, source="direct", how="direct", hint=_stream_hint(page.sniffed_type)
            )
            self.candidates.append(direct)
            self._follow(direct, prefetched=page)
        elif page.kind == "html":
            self._read_html()
        return self._result()

    def _read_html(self) -> None:
        html = decode_html(self.page.body, self.page.headers.get("content-type"))
        scan = scan_page(html, self.page.final_url, limit=10_000)
        self._take(scan, self.page)
        self._paginate(scan)
        has_media = self._has_media()
        # A video page whose static HTML gave only stills (a poster, a thumbnail) was not read
        # either: the video is what was reported.
        unread = not has_media or (scan.signals.video_expected and not self._has_video())
        rendered_html = ""
        if self.renderer is not None and (self.render_mode == "always" or (self.render_mode == "auto" and unread)):
            rendered_html = self._render()
            has_media = self._has_media()
        elif unread and scan.signals.scripts > 0:
            self.partial.append(
                PartialRead(
                    "needs_rendering",
                    "The page's HTML holds no medium (or only stills of its video) and it runs scripts:"
                    " it may build its content in a browser.",
                )
            )
        obstacles = page_obstacles(
            scan.signals,
            html=html,
            final_url=self.page.final_url,
            redirected=bool(self.page.redirect_chain),
            has_media=has_media,
        )
        if self.rendered is not None:
            rendered_scan = scan_page(rendered_html, self.rendered.url, limit=0)
            obstacles += page_obstacles(
                rendered_scan.signals,
                html=rendered_html,
                final_url=self.rendered.url,
                redirected=False,
                has_media=has_media,
            )
        seen: set[str] = set()
        for obstacle in sorted(obstacles, key=lambda o: OBSTACLES.index(o.reason)):
            if obstacle.reason not in seen:
                seen.add(obstacle.reason)
                self.partial.insert(len(seen) - 1, PartialRead(obstacle.reason, obstacle.evidence))

    # --- candidates -----------------------------------------------------------------------------

    def _take(self, scan: PageScan, source_page: FetchResult) -> None:
        """Fetch a page's new candidates: up to ``max_candidates`` media, streams within ``max_streams``."""
        media: list[MediaCandidate] = []
        skipped = 0
        for candidate in scan.candidates:
            if candidate.url in self.seen:
                continue
            self.seen.add(candidate.url)
            if candidate.is_stream:
                self.candidates.append(candidate)
                self._follow(candidate)
            elif len(media) < self.policy.max_candidates:
                media.append(candidate)
            else:
                skipped += 1
        if skipped:
            self.partial.append(
                PartialRead(
                    "candidate_limit",
                    f"{skipped} more media candidates on this page were not fetched"
                    f" (limit {self.policy.max_candidates}).",
                    url=source_page.final_url,
                )
            )
        for candidate in media:
            self.candidates.append(candidate)
            self._fetch_candidate(candidate)

    def _fetch_candidate(self, candidate: MediaCandidate) -> None:
        cached = self.cache.get(candidate.url)
        if cached is not None and cached.kind in MEDIA_KINDS:
            self.outcomes.append(MediaOutcome(candidate, result=cached))
            return
        try:
            result = self.session.fetch(
                candidate.url, accept_kinds=MEDIA_KINDS, referer=_referer_for(candidate.url, self.origin)
            )
        except UnexpectedType as exc:
            if exc.sniffed_type in PLAYLIST_TYPES:
                # A <video src> or og:video without an extension that turns out to be a playlist.
                hint = _stream_hint(exc.sniffed_type)
                self._follow(MediaCandidate(candidate.url, candidate.source, candidate.how, candidate.page, hint))
                return
            self.outcomes.append(MediaOutcome(candidate, error=exc))
            return
        except FetchError as exc:
            self.outcomes.append(MediaOutcome(candidate, error=exc))
            return
        self.outcomes.append(MediaOutcome(candidate, result=result))

    def _follow(self, candidate: MediaCandidate, prefetched: FetchResult | None = None) -> None:
        if len(self.streams) >= self.policy.max_streams:
            if not any(p.reason == "stream_limit" for p in self.partial):
                self.partial.append(
                    PartialRead(
                        "stream_limit",
                        f"More than {self.policy.max_streams} streamed videos on the page;"
                        " the others were not sampled.",
                        url=candidate.url,
                    )
                )
            return
        try:
            sample = follow_stream(
                self.session, candidate, referer=_referer_for(candidate.url, self.origin), prefetched=prefetched
            )
        except FetchError as exc:
            self.streams.append(StreamOutcome(candidate, error=exc))
            return
        self.streams.append(StreamOutcome(candidate, sample=sample))

    def _has_video(self) -> bool:
        return any(o.result is not None and o.result.kind == "video" for o in self.outcomes) or any(
            s.sample is not None and s.sample.fetched_segments for s in self.streams
        )

    def _has_media(self) -> bool:
        return any(o.result is not None for o in self.outcomes) or any(
            s.sample is not None and s.sample.fetched_segments for s in self.streams
        )

    # --- pagination -----------------------------------------------------------------------------

    def _paginate(self, scan: PageScan) -> None:
        current, links = self.page.final_url, scan.next_pages
        visited = {self.page.final_url, self.page.requested_url}
        for number in range(2, self.policy.max_pages + 1):
            following = next((u for u in links if u not in visited and is_next_page(current, u)), None)
            if following is None:
                return
            visited.add(following)
            try:
                result = self.session.fetch(
                    following, accept_kinds={"html"}, referer=_referer_for(following, self.origin)
                )
            except FetchError as exc:
                self.partial.append(
                    PartialRead("page_unreadable", f"Page {number} could not be fetched: {exc}", following)
                )
                return
            visited.add(result.final_url)
            self.pages.append(result)
            html = decode_html(result.body, result.headers.get("content-type"))
            page_scan = scan_page(html, result.final_url, limit=10_000, page=number)
            self._take(page_scan, result)
            current, links = result.final_url, page_scan.next_pages
        if any(u not in visited and is_next_page(current, u) for u in links):
            self.partial.append(
                PartialRead(
                    "page_limit",
                    f"The thread or gallery has more than {self.policy.max_pages} pages; only those were read.",
                    url=current,
                )
            )

    # --- rendering ------------------------------------------------------------------------------

    def _render(self) -> str:
        assert self.renderer is not None
        document: FetchResult | None = self.page

        def subresource(url: str, *, referer: str | None) -> FetchResult:
            nonlocal document
            if url in (self.page.final_url, self.page.requested_url) and document is not None:
                # The document was fetched a moment ago; serve it once instead of fetching it again.
                served, document = document, None
                return served
            # A browser asks for many small things; none of them needs more than an image's cap
            # (a video requested by a script would otherwise be read up to 200 MiB).
            return self.session.fetch(url, referer=referer, paced=False, max_bytes=self.policy.max_image_bytes)

        try:
            rendered = self.renderer.render(self.page.final_url, subresource, timeout=self.session.time_left())
        except RenderError as exc:
            self.partial.append(PartialRead("render_failed", f"The page could not be rendered ({exc.reason}): {exc}"))
            return ""
        self.rendered = rendered
        self.cache.update(rendered.fetched)
        scan = scan_page(rendered.html, rendered.url, limit=10_000, how="rendered")
        self._take(scan, self.page)
        network: list[MediaCandidate] = []
        for request in rendered.requests:
            if request.url in self.seen:
                continue
            source = f"rendered:{request.resource_type}"
            if request.sniffed_type in PLAYLIST_TYPES:
                hint = _stream_hint(request.sniffed_type)
                network.append(MediaCandidate(request.url, source, "rendered", 1, hint))
            elif request.outcome == "blocked" and request.reason == "media":
                network.append(MediaCandidate(request.url, "rendered:media", "rendered", 1, None))
            elif request.kind in MEDIA_KINDS and request.size >= _MIN_NETWORK_IMAGE_BYTES:
                network.append(
                    MediaCandidate(request.url, source, "rendered", 1, "image" if request.kind == "image" else "video")
                )
        if network:
            self._take(PageScan(candidates=network, total=len(network), next_pages=[], signals=scan.signals), self.page)
        return rendered.html

    def _result(self) -> PageResult:
        return PageResult(
            requested_url=self.requested_url,
            page=self.page,
            candidates=tuple(self.candidates),
            outcomes=tuple(self.outcomes),
            streams=tuple(self.streams),
            pages=tuple(self.pages),
            partial=tuple(self.partial),
            rendered=self.rendered,
            bytes_fetched=self.session.stats.bytes,
            requests=self.session.stats.requests,
            elapsed=time.monotonic() - self.session.started,
        )


def _stream_hint(sniffed_type: str) -> Hint:
    return "hls" if sniffed_type == HLS_PLAYLIST else "dash"


def is_next_page(current: str, candidate: str) -> bool:
    """Whether ``candidate`` is the next page of the same listing, not another post.

    ``rel=next`` on a blog post points at the next post, which is not what was reported; a thread
    or gallery's next page differs from the current one only by a number (``?page=2``,
    ``/page/2``, ``-2.html``, ``?start=20``). Both must be on the same host.
    """
    try:
        a, b = urlsplit(current), urlsplit(candidate)
    except ValueError:
        return False
    if (a.hostname or "").removeprefix("www.") != (b.hostname or "").removeprefix("www."):
        return False
    if not any(c.isdigit() for c in b.path + b.query):
        return False
    return _skeleton(a.path, a.query) == _skeleton(b.path, b.query)


def _skeleton(path: str, query: str) -> str:
    text = _DIGITS.sub("", f"{path}?{query}")
    return re.sub(r"[/?&=._-]+", "/", text).strip("/").lower()


def obstacle_reading(error: FetchError) -> PartialRead | None:
    """The reported URL itself was refused: was a wall the cause? (login wall, bot challenge ...)"""
    obstacle: Obstacle | None = obstacle_for_error(error)
    return None if obstacle is None else PartialRead(obstacle.reason, obstacle.evidence, url=error.url)


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
