"""The checking side: hash a found copy the robust way and find the best registered match.

Given the hashes a survivor registered for a case (originals and chosen variants, see
:mod:`takedown.hashing.variants`) and a medium found online, report the best match with the
signal, the distance and which registered variant and which checking-side view matched, so a
reviewer sees *why* the service believes two pictures are the same.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pdqhash

from takedown.hashing.bits import bits_to_hex, hamming_hex
from takedown.hashing.crop_search import window_hashes, window_target
from takedown.hashing.hashes import FILE, FRAME, ORIGINAL, Hash
from takedown.hashing.image import RGBArray, hash_rgb
from takedown.hashing.media import MediaHashes, hash_file
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES
from takedown.hashing.variants import content_block, trim_borders
from takedown.hashing.video import compare_videos

#: Names of pdqhash.compute_dihedral's outputs, in its order.
DIHEDRAL = ("", "rot90", "rot180", "rot270", "flipv", "fliph", "rot90-flipv", "rot90-fliph")
#: Signals in the order the matcher trusts them when several match.
PRIORITY = ("sha256", "md5", "pdq", "phash", "dhash")


@dataclass(frozen=True, slots=True)
class Match:
    """The best pairing found; ``matched`` is False when it is only the closest miss."""

    matched: bool
    signal: str
    distance: int
    registered_variant: str
    found_variant: str
    detail: str = ""


def found_views(rgb: RGBArray) -> list[tuple[str, RGBArray]]:
    """The copy as found, with uniform borders trimmed, and its content block (deduplicated)."""
    views: list[tuple[str, RGBArray]] = [("found", rgb)]
    for label, view in (("found-trim", trim_borders(rgb)), ("found-block", content_block(rgb))):
        if all(view.shape != v.shape or not np.array_equal(view, v) for _, v in views):
            views.append((label, view))
    return views


def found_image_hashes(rgb: RGBArray) -> list[Hash]:
    """Checking-side hashes of a found image: every view in all 8 dihedral orientations (PDQ),
    the crop-search windows of the copy as found (:mod:`takedown.hashing.crop_search`: a copy
    cropped at a random position still contains the registered central crop somewhere), plus
    pHash/dHash of the copy as found. Server-side only, never in a bundle."""
    out = [h for h in hash_rgb(rgb, "found") if h.signal != "pdq"]
    found_quality = 0
    for label, view in found_views(rgb):
        vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(view))
        if label == "found":
            found_quality = int(quality)
        for name, vector in zip(DIHEDRAL, vectors, strict=True):
            variant = f"{label}-{name}" if name else label
            out.append(Hash("pdq", bits_to_hex(vector), int(quality), variant))
    out.extend(window_hashes(rgb, found_quality))
    return out


def hash_found(source: str | os.PathLike[str] | bytes) -> MediaHashes:
    """Hash a found file for checking: robust views for images, trimmed frames for videos."""
    from takedown.hashing.image import load_rgb

    media = hash_file(source, register_variants=False)
    if media.kind == "video":
        trimmed = hash_file(source, register_variants=False, frame_transform=trim_borders)
        extra = tuple(
            Hash(h.signal, h.value, h.quality, "frame-trim")
            for h in trimmed.hashes
            if h.variant == FRAME and h not in media.hashes
        )
        return MediaHashes("video", media.hashes + extra)
    files = tuple(h for h in media.hashes if h.variant == FILE)
    rgb = load_rgb(source)
    return MediaHashes("image", (*found_image_hashes(rgb), *files))


def _trusted(h: Hash) -> bool:
    return h.signal != "pdq" or (h.quality is not None and h.quality >= PDQ_MIN_QUALITY)


def best_match(registered: Sequence[Hash], found: Sequence[Hash]) -> Match | None:
    """Best match between one registered medium's hashes and one found medium's hashes.

    Exact digests first, then PDQ over every (registered variant, found view) pair with both
    hashes trusted (a crop-search window only against the registered crop it stands for), then
    pHash and dHash between originals, which must both agree. Videos (frame hashes on both
    sides) are compared as bags of frames (vPDQ). Returns the closest miss when nothing matches
    and None when the two share no comparable signal.
    """
    reg_frames = [h for h in registered if h.variant == FRAME]
    found_frames = [h for h in found if h.variant.startswith(FRAME)]
    best: Match | None = None
    for signal in ("sha256", "md5"):
        for r in registered:
            for f in found:
                if r.signal == f.signal == signal and r.value == f.value:
                    return Match(True, signal, 0, r.variant, f.variant, "byte-identical file")
    if reg_frames and found_frames:
        plain = compare_videos(found_frames_variant(found, FRAME), reg_frames)
        trimmed = compare_videos(found_frames_variant(found, "frame-trim") or found_frames, reg_frames)
        result, label = (
            (plain, FRAME) if plain.query_match_percent >= trimmed.query_match_percent else (trimmed, "frame-trim")
        )
        detail = (
            f"{result.query_match_percent:.0f}% of the found video's frames and "
            f"{result.target_match_percent:.0f}% of the registered video's frames match"
        )
        return Match(result.matched, "pdq", 100 - round(result.query_match_percent), FRAME, label, detail)
    for signal in ("pdq",):
        threshold = SIGNAL_TYPES[signal].default_threshold
        regs = [r for r in registered if r.signal == signal and _trusted(r) and r.variant != FRAME]
        founds = [f for f in found if f.signal == signal and _trusted(f) and not f.variant.startswith(FRAME)]
        if signal != "pdq":
            regs = [r for r in regs if r.variant == ORIGINAL]
        for r in regs:
            for f in founds:
                target = window_target(f.variant)
                if target is not None and target != r.variant:
                    # A search window stands for one registered crop; comparing it with the other
                    # variants would only add chances of a false match (bench/crop_search.py).
                    continue
                d = hamming_hex(r.value, f.value)
                candidate = Match(d <= threshold, signal, d, r.variant, f.variant)
                if best is None or _better(candidate, best):
                    best = candidate
        if best is not None and best.matched:
            return best
    fallback = _sixty_four_bit_match(registered, found)
    if fallback is not None and (fallback.matched or best is None):
        return fallback
    return best


def _sixty_four_bit_match(registered: Sequence[Hash], found: Sequence[Hash]) -> Match | None:
    """pHash and dHash of the originals, counted as a match only when both agree.

    Alone, either 64-bit hash matched unrelated official portraits in the shared photos
    (distance 4 between different people in front of the same flag), so one is never enough:
    docs/benchmarks/robustness.md measures the pair rule at zero false matches.
    """

    def original(hashes: Sequence[Hash], signal: str) -> str | None:
        return next((h.value for h in hashes if h.signal == signal and h.variant in {ORIGINAL, "found"}), None)

    distances = {}
    for signal in ("phash", "dhash"):
        r, f = original(registered, signal), original(found, signal)
        if r is None or f is None:
            return None
        distances[signal] = hamming_hex(r, f)
    matched = all(d <= SIGNAL_TYPES[s].default_threshold for s, d in distances.items())
    detail = f"pHash distance {distances['phash']} and dHash distance {distances['dhash']}"
    return Match(matched, "phash", distances["phash"], ORIGINAL, "found", detail)


def found_frames_variant(found: Sequence[Hash], variant: str) -> list[Hash]:
    return [h for h in found if h.variant == variant]


def _better(a: Match, b: Match) -> bool:
    """Matches beat misses; among equals, the more trusted signal, then the smaller distance."""
    if a.matched != b.matched:
        return a.matched
    if a.signal != b.signal:
        return PRIORITY.index(a.signal) < PRIORITY.index(b.signal)
    return a.distance < b.distance
