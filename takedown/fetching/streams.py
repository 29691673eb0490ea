"""Follow a streamed video (HLS or DASH) and fetch a bounded sample of it for matching.

A tube page's video is not one file but a playlist of short segments, usually at several sizes.
Downloading a whole 40-minute video to hash it would cost hundreds of megabytes and minutes per
check; the matcher compares bags of frames (vPDQ: most of the found frames must match registered
frames), so a sample spread over the whole duration is enough. This module:

1. fetches the playlist or manifest the page named (through the session: address policy, pinning,
   caps, per-host politeness, like every fetch);
2. picks the cheapest rendition that still gives useful frames (``playlists.choose_rendition``) and
   fetches its media playlist (HLS) or segment index (DASH ``SegmentBase``);
3. fetches ``max_stream_segments`` segments spread over the duration, with their initialization
   segment (fMP4) and, for plain AES-128 HLS, their key, within ``max_stream_bytes`` and
   ``stream_timeout``; every segment URL is checked by the fetcher like any other URL.

The result (:class:`StreamSample`) records which playlist, rendition and segments were used, for the
evidence, and gives the decodable pieces (initialization segment + segment) to hash.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from takedown.fetching.errors import BadPlaylist, FetchError, FetchTimeout, ProtectedStream, TooLarge
from takedown.fetching.extract import MediaCandidate
from takedown.fetching.fetcher import FetchResult
from takedown.fetching.playlists import (
    Key,
    MediaPlaylist,
    PlaylistError,
    Rendition,
    Segment,
    StreamFormat,
    choose_rendition,
    parse_dash,
    parse_hls,
    parse_sidx,
    sample_segments,
)
from takedown.fetching.session import FetchSession
from takedown.fetching.sniff import DASH_MANIFEST, HLS_PLAYLIST

#: An AES-128 key is 16 bytes; anything much larger at a key URL is not a key.
_MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class SegmentFetch:
    """One sampled segment (or initialization segment): exactly one of ``result`` and ``error``.

    ``data`` is what to decode: the body, decrypted when the segment was AES-128 encrypted.
    """

    segment: Segment
    result: FetchResult | None = None
    error: FetchError | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class StreamSample:
    """What was fetched of one streamed video, and from where (the evidence of a "playlist" medium)."""

    candidate: MediaCandidate
    format: StreamFormat
    #: The playlist or manifest named on the page, after redirects.
    playlist_url: str
    #: HLS: the chosen rendition's media playlist; DASH: the rendition's base URL.
    media_playlist_url: str
    rendition: Rendition
    renditions: tuple[Rendition, ...]
    total_segments: int
    duration: float
    live: bool
    documents: tuple[FetchResult, ...]
    inits: tuple[SegmentFetch, ...]
    segments: tuple[SegmentFetch, ...]
    elapsed: float

    @property
    def bytes_fetched(self) -> int:
        results = [*self.documents, *(s.result for s in (*self.inits, *self.segments) if s.result is not None)]
        return sum(r.size for r in results)

    @property
    def segment_urls(self) -> tuple[str, ...]:
        return tuple(s.segment.url for s in self.segments)

    @property
    def fetched_segments(self) -> tuple[SegmentFetch, ...]:
        """Segments fetched (and decrypted) whose initialization segment, if they need one, was
        fetched too: the ones that can be decoded."""
        inits = {_init_key(s.segment) for s in self.inits if s.data is not None}
        return tuple(
            s
            for s in self.segments
            if s.data is not None and (s.segment.init is None or _init_key(s.segment.init) in inits)
        )

    def decodable_pieces(self) -> list[bytes]:
        """One byte string per fetched segment that a demuxer can open on its own: the segment,
        preceded by its initialization segment when it has one (fMP4)."""
        inits = {_init_key(s.segment): s.data for s in self.inits if s.data is not None}
        pieces: list[bytes] = []
        for fetched in self.fetched_segments:
            assert fetched.data is not None
            init = fetched.segment.init
            prefix = b"" if init is None else (inits[_init_key(init)] or b"")
            pieces.append(prefix + fetched.data)
        return pieces


def _init_key(segment: Segment) -> tuple[str, tuple[int, int] | None]:
    return segment.url, segment.byte_range


class _StreamFetch:
    """State of one stream: its own deadline and byte budget inside the session's."""

    def __init__(self, session: FetchSession, candidate: MediaCandidate, referer: str | None) -> None:
        self.session = session
        self.policy = session.policy
        self.candidate = candidate
        self.referer = referer
        self.started = time.monotonic()
        self.deadline = min(session.deadline, self.started + self.policy.stream_timeout)
        self.budget = self.policy.max_stream_bytes
        self.documents: list[FetchResult] = []
        # Segments may be anything a demuxer reads, or ciphertext (kind "other"): one cap for all.
        cap = self.policy.max_segment_bytes
        self.segment_policy = replace(self.policy, max_video_bytes=cap, max_other_bytes=cap, max_image_bytes=cap)

    def _fetch(self, url: str, *, max_bytes: int, byte_range: tuple[int, int] | None = None) -> FetchResult:
        if self.budget <= 0:
            raise TooLarge(
                f"Not fetched: the stream's byte limit ({self.policy.max_stream_bytes}) was reached.",
                limit=self.policy.max_stream_bytes,
                url=url,
            )
        result = self.session.fetch(
            url,
            referer=self.referer,
            max_bytes=min(max_bytes, self.budget),
            byte_range=byte_range,
            deadline=self.deadline,
            policy=self.segment_policy,
        )
        self.budget -= result.size
        return result

    def document(self, url: str, *, byte_range: tuple[int, int] | None = None) -> FetchResult:
        result = self._fetch(url, max_bytes=self.policy.max_other_bytes, byte_range=byte_range)
        self.documents.append(result)
        return result

    def run(self, prefetched: FetchResult | None = None) -> StreamSample:
        if prefetched is not None:
            # The reported URL was the playlist itself: already fetched (and counted) by the page.
            self.documents.append(prefetched)
            first = prefetched
        else:
            first = self.document(self.candidate.url)
        if first.sniffed_type == HLS_PLAYLIST:
            stream_format: StreamFormat = "hls"
            renditions, rendition, media, media_url = self._hls(first)
        elif first.sniffed_type == DASH_MANIFEST:
            stream_format = "dash"
            renditions, rendition, media, media_url = self._dash(first)
        else:
            raise BadPlaylist(f"The content is {first.sniffed_type}, not an HLS playlist or a DASH manifest.")
        if rendition.drm is not None:
            raise ProtectedStream(f"The video is protected by DRM ({rendition.drm[:80]}); it cannot be decoded.")
        chosen = sample_segments(media.segments, self.policy.max_stream_segments)
        protected = [s for s in chosen if s.key is not None and not s.key.decryptable]
        if chosen and len(protected) == len(chosen):
            method = protected[0].key.method if protected[0].key else "DRM"
            raise ProtectedStream(f"The video's segments are protected ({method}); they cannot be decoded.")
        inits, segments = self._segments(chosen)
        return StreamSample(
            candidate=self.candidate,
            format=stream_format,
            playlist_url=first.final_url,
            media_playlist_url=media_url,
            rendition=replace(rendition, playlist=None),
            renditions=tuple(replace(r, playlist=None) for r in renditions),
            total_segments=len(media.segments),
            duration=media.duration,
            live=media.live,
            documents=tuple(self.documents),
            inits=tuple(inits),
            segments=tuple(segments),
            elapsed=time.monotonic() - self.started,
        )

    def _hls(self, first: FetchResult) -> tuple[tuple[Rendition, ...], Rendition, MediaPlaylist, str]:
        try:
            parsed = parse_hls(_text(first), first.final_url)
            if isinstance(parsed, MediaPlaylist):
                rendition = Rendition(uri=first.final_url)
                return (rendition,), rendition, parsed, first.final_url
            rendition = choose_rendition(parsed.renditions, min_short_side=self.policy.min_rendition_side)
            second = self.document(rendition.uri)
            media = parse_hls(_text(second), second.final_url)
        except PlaylistError as exc:
            raise BadPlaylist(str(exc), url=self.candidate.url) from exc
        if not isinstance(media, MediaPlaylist):
            raise BadPlaylist("The rendition's playlist is another master playlist.", url=rendition.uri)
        return parsed.renditions, rendition, media, second.final_url

    def _dash(self, first: FetchResult) -> tuple[tuple[Rendition, ...], Rendition, MediaPlaylist, str]:
        try:
            manifest = parse_dash(_text(first), first.final_url)
            rendition = choose_rendition(manifest.renditions, min_short_side=self.policy.min_rendition_side)
        except PlaylistError as exc:
            raise BadPlaylist(str(exc), url=self.candidate.url) from exc
        media = rendition.playlist
        assert media is not None
        if media.index_url is not None and media.index_range is not None:
            index = self.document(media.index_url, byte_range=media.index_range)
            try:
                media = parse_sidx(index.body, index.final_url, media.index_range, media.init)
            except PlaylistError as exc:
                raise BadPlaylist(str(exc), url=media.index_url) from exc
        return manifest.renditions, rendition, media, rendition.uri

    def _segments(self, chosen: list[Segment]) -> tuple[list[SegmentFetch], list[SegmentFetch]]:
        inits: dict[tuple[str, tuple[int, int] | None], SegmentFetch] = {}
        keys: dict[str, bytes | FetchError] = {}
        fetched: list[SegmentFetch] = []
        for segment in chosen:
            if segment.init is not None and _init_key(segment.init) not in inits:
                inits[_init_key(segment.init)] = self._fetch_piece(segment.init, None)
            key_bytes: bytes | FetchError | None = None
            if segment.key is not None:
                key_bytes = self._key(segment.key, keys)
            fetched.append(self._fetch_piece(segment, key_bytes))
        return list(inits.values()), fetched

    def _key(self, key: Key, keys: dict[str, bytes | FetchError]) -> bytes | FetchError:
        if not key.decryptable or key.uri is None:
            return ProtectedStream(f"The segment is protected ({key.method}); it cannot be decoded.")
        if key.uri not in keys:
            try:
                result = self._fetch(key.uri, max_bytes=_MAX_KEY_BYTES)
            except FetchError as exc:
                keys[key.uri] = exc
            else:
                if len(result.body) != 16:
                    keys[key.uri] = BadPlaylist(f"The AES-128 key is {len(result.body)} bytes, not 16.", url=key.uri)
                else:
                    keys[key.uri] = result.body
        return keys[key.uri]

    def _fetch_piece(self, segment: Segment, key: bytes | FetchError | None) -> SegmentFetch:
        if isinstance(key, FetchError):
            return SegmentFetch(segment, error=key)
        if time.monotonic() >= self.deadline:
            error: FetchError = FetchTimeout(
                f"Not fetched: the stream's time limit ({self.policy.stream_timeout:g} s) was reached.",
                url=segment.url,
            )
            return SegmentFetch(segment, error=error)
        try:
            result = self._fetch(segment.url, max_bytes=self.policy.max_segment_bytes, byte_range=segment.byte_range)
        except FetchError as exc:
            return SegmentFetch(segment, error=exc)
        data = result.body
        if key is not None and segment.key is not None:
            try:
                data = _decrypt(data, key, segment.key.iv or segment.sequence.to_bytes(16, "big"))
            except ValueError:
                error = BadPlaylist("The segment could not be decrypted with its AES-128 key.", url=segment.url)
                return SegmentFetch(segment, result=result, error=error)
        return SegmentFetch(segment, result=result, data=data)


def follow_stream(
    session: FetchSession,
    candidate: MediaCandidate,
    *,
    referer: str | None = None,
    prefetched: FetchResult | None = None,
) -> StreamSample:
    """Fetch a sample of the stream whose playlist or manifest is at ``candidate.url``
    (``prefetched``: that playlist, when the caller already has it).

    Raises ``FetchError`` when the playlist itself cannot be had or read (``bad_playlist``), or the
    video is protected (``protected_stream``); failures of single segments are kept in the sample.
    """
    return _StreamFetch(session, candidate, referer).run(prefetched)


def _text(result: FetchResult) -> str:
    return result.body.decode("utf-8", errors="replace")


def _decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC with PKCS#7 padding, as HLS ``METHOD=AES-128`` specifies (RFC 8216 5.2)."""
    if len(data) % 16:
        raise ValueError("ciphertext is not a whole number of blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(plain) + unpadder.finalize()
