"""What a check keeps of a page it read: each medium's hashes and how it was found, never its bytes.

`page_reading` turns the fetching library's `PageResult` into unsaved `FoundMedium` rows and the
check's reading (bytes fetched, requests made, whether it was rendered, why it was not read
fully). Every medium the page gave is hashed on the checking side: an image or a downloaded video
with `hash_found`, a streamed video from its sampled segments with `found_segment_hashes` (then
matched as a bag of PDQ frames, vPDQ). Detectors run on the first `DETECTOR_MAX_MEDIA` media.

Evidence, not media: a row keeps the URL, sizes, SHA-256 digests (of each sampled segment too),
the hashes (encrypted) and detector findings; the bodies are dropped with the `PageResult`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from takedown.detectors.base import DetectorContext, DetectorError, Medium, failed
from takedown.detectors.media import medium_from_bytes
from takedown.fetching import FetchResult, PageMedium, PageResult, StreamSample
from takedown.hashing.errors import HashingError
from takedown.hashing.hashes import FRAME, Hash
from takedown.hashing.matcher import hash_found
from takedown.hashing.video import found_segment_hashes
from takedown.matching.detection import detector_registry
from takedown.matching.models import FoundMedium

logger = logging.getLogger(__name__)

#: A service-level reason next to the library's (`takedown.fetching.PARTIAL_REASONS`): media the
#: page named that could not be fetched or decoded were not compared, so the page was not read fully.
MEDIA_UNREADABLE = "media_unreadable"
#: Frames of a sampled stream shown to the detectors (one per segment, spread over the sample).
_STREAM_DETECTOR_FRAMES = 8


@dataclass
class PageReading:
    """The rows and facts a check records from one reading of its page."""

    media: list[FoundMedium]
    partial: list[dict[str, Any]]
    bytes_fetched: int
    requests: int
    rendered: bool
    pages: list[str]
    render_stats: dict[str, int] | None = None
    detected: int = 0

    @property
    def partial_reason(self) -> str:
        """The reason a verdict names: the first obstacle (the library lists them first), else the
        first limit."""
        return str(self.partial[0]["reason"]) if self.partial else ""


def partial_entry(reason: str, detail: str, url: str | None = None) -> dict[str, Any]:
    return {"reason": reason, "detail": detail, "url": url}


def page_reading(
    page: PageResult, context: DetectorContext | None, *, extra_partial: list[dict[str, Any]] | None = None
) -> PageReading:
    """Hash (and, with a context, analyse) every medium of `page`; collect what could not be read."""
    rows: list[FoundMedium] = []
    detected = 0
    for medium in page.found:
        row = _hashed_stream(medium) if medium.stream is not None else _hashed_file(medium)
        if context is not None and row.hashes and detected < settings.DETECTOR_MAX_MEDIA:
            row.findings = _detect(medium, context)
            detected += 1
        rows.append(row)
    for outcome in page.outcomes:
        if outcome.error is not None:
            candidate = outcome.candidate
            rows.append(
                _unread(
                    candidate.url,
                    candidate.how,
                    candidate.source,
                    candidate.page,
                    outcome.error.reason,
                    str(outcome.error),
                )
            )
    for stream in page.streams:
        candidate = stream.candidate
        if stream.error is not None:
            row = _unread(
                candidate.url, "playlist", candidate.source, candidate.page, stream.error.reason, str(stream.error)
            )
            row.kind, row.stream = "video", {"found": candidate.how}
            rows.append(row)
        elif stream.sample is not None and not stream.sample.fetched_segments:
            # Followed, but no segment could be had: the video was not read.
            first = next((s.error for s in stream.sample.segments if s.error is not None), None)
            row = _unread(
                candidate.url,
                "playlist",
                candidate.source,
                candidate.page,
                first.reason if first is not None else "unreadable",
                "No segment of the stream could be fetched or decoded.",
            )
            row.kind, row.stream = "video", stream_evidence(stream.sample)
            rows.append(row)
    partial = [partial_entry(p.reason, p.detail, p.url) for p in page.partial]
    partial += extra_partial or []
    unread = _unread_summary(rows, page)
    if unread:
        partial.append(partial_entry(MEDIA_UNREADABLE, unread))
    rendered = page.rendered
    render_stats = None
    if rendered is not None:
        render_stats = {
            "requests": len(rendered.requests),
            "fetched": sum(1 for r in rendered.requests if r.outcome == "fetched"),
            "refused": sum(1 for r in rendered.requests if r.outcome == "refused"),
            "blocked": sum(1 for r in rendered.requests if r.outcome == "blocked"),
            "escaped_connections": rendered.escaped_connections,
            "elapsed_ms": int(rendered.elapsed * 1000),
        }
    return PageReading(
        media=rows,
        partial=partial,
        bytes_fetched=page.bytes_fetched,
        requests=page.requests,
        rendered=rendered is not None,
        pages=[p.final_url for p in page.pages],
        render_stats=render_stats,
        detected=detected,
    )


def _unread_summary(rows: list[FoundMedium], page: PageResult) -> str:
    """What the page named but could not be compared: media not fetched or not decodable, and
    sampled segments of streamed videos that could not be had. Empty when everything was read."""
    parts: list[str] = []
    failed = sum(1 for r in rows if r.error_reason)
    if failed:
        parts.append(f"{failed} of {len(rows)} images or videos found on the page could not be fetched or decoded")
    segments = [s for m in page.found if m.stream is not None for s in m.stream.segments]
    missing = sum(1 for s in segments if s.data is None)
    if missing:
        parts.append(f"{missing} of {len(segments)} sampled segments of its streamed videos could not be fetched")
    return ("; ".join(parts) + ", so they were not compared.") if parts else ""


def _unread(url: str, how: str, source: str, page: int, reason: str, message: str) -> FoundMedium:
    """A medium the page named that could not be fetched or decoded: kept as evidence, not compared."""
    return FoundMedium(
        url=url, how=how, source=source[:100], page_number=page, error_reason=reason[:32], detail=message[:500]
    )


def _hashed_file(medium: PageMedium) -> FoundMedium:
    result = medium.result
    assert result is not None
    row = FoundMedium(
        url=medium.url,
        how=medium.how,
        source=medium.source[:100],
        page_number=medium.page,
        status_code=result.status,
        size=result.size,
        sha256=result.sha256,
        sniffed_type=result.sniffed_type,
        kind=result.kind,
    )
    try:
        hashed = hash_found(result.body)
    except HashingError as error:
        row.error_reason = "unreadable"
        row.detail = str(error)[:500]
        return row
    _set_hashes(row, list(hashed.hashes))
    return row


def _hashed_stream(medium: PageMedium) -> FoundMedium:
    sample = medium.stream
    assert sample is not None
    first = sample.documents[0] if sample.documents else None
    row = FoundMedium(
        url=medium.url,
        how="playlist",
        source=medium.source[:100],
        page_number=medium.page,
        status_code=first.status if first is not None else None,
        size=sample.bytes_fetched,
        sniffed_type=first.sniffed_type if first is not None else "",
        kind="video",
        stream=stream_evidence(sample),
    )
    try:
        hashes = found_segment_hashes(sample.decodable_pieces())
    except HashingError as error:
        row.error_reason = "unreadable"
        row.detail = str(error)[:500]
        return row
    _set_hashes(row, hashes)
    return row


def _set_hashes(row: FoundMedium, hashes: list[Hash]) -> None:
    row.hashes = [[h.signal, h.value, h.quality, h.variant] for h in hashes]
    if row.kind == "video":
        row.frames = sum(1 for h in hashes if h.variant == FRAME)


def stream_evidence(sample: StreamSample) -> dict[str, Any]:
    """What was read of a streamed video: which playlist and rendition, and each sampled segment
    (URL, start time, size and SHA-256, or why it could not be had). Digests only."""
    first = sample.documents[0] if sample.documents else None
    return {
        "format": sample.format,
        "found": sample.candidate.how,
        "playlist_url": sample.playlist_url,
        "playlist_sha256": first.sha256 if first is not None else "",
        "media_playlist_url": sample.media_playlist_url,
        "rendition": sample.rendition.label,
        "renditions": [r.label for r in sample.renditions],
        "segments_total": sample.total_segments,
        "duration": round(sample.duration, 3),
        "live": sample.live,
        "segments": [
            {
                "url": s.segment.url,
                "start": round(s.segment.start, 3),
                "duration": round(s.segment.duration, 3),
                "size": s.result.size if s.result is not None else None,
                "sha256": s.result.sha256 if s.result is not None else "",
                "error": s.error.reason if s.error is not None else "",
            }
            for s in sample.segments
        ],
        "init_segments": len(sample.inits),
        "bytes": sample.bytes_fetched,
        "elapsed_ms": int(sample.elapsed * 1000),
    }


def _detect(medium: PageMedium, context: DetectorContext) -> list[dict[str, object]]:
    """Every enabled detector's finding for one found medium (JSON, stored encrypted)."""
    try:
        registry = detector_registry()
    except DetectorError as error:  # misconfigured: `manage.py check` reports it too; the check goes on
        logger.error("Detectors are misconfigured, checks run on hashes only: %s", error)
        return []
    try:
        if medium.stream is not None:
            decoded = _stream_medium(medium.stream)
        else:
            result: FetchResult | None = medium.result
            assert result is not None
            decoded = medium_from_bytes(result.body, result.sniffed_type)
    except DetectorError as error:
        return [failed("media", "", str(error)[:300]).to_dict()]
    return [finding.to_dict() for finding in registry.analyse_all(decoded, context)]


def _stream_medium(sample: StreamSample) -> Medium:
    """A sampled stream as detectors see a video: one frame from each of up to eight segments
    spread over the sample (the segments decode on their own, each with its initialization)."""
    pieces = sample.decodable_pieces()
    if not pieces:
        raise DetectorError("no segment of the stream could be decoded")
    picks = sorted({int(i) for i in np.linspace(0, len(pieces) - 1, min(len(pieces), _STREAM_DETECTOR_FRAMES))})
    frames: list[Image.Image] = []
    for index in picks:
        try:
            frames.extend(medium_from_bytes(pieces[index], max_frames=1).frames)
        except DetectorError:
            continue
    if not frames:
        raise DetectorError("no segment of the stream could be decoded")
    return Medium(pieces[picks[0]], "video/" + sample.format, "video", tuple(frames))
