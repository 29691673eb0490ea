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
from typing import Final

import numpy as np
import pdqhash

from takedown.hashing.bits import WordArray, bits_to_hex, hamming_cross, hamming_hex, hexes_to_matrix
from takedown.hashing.crop_search import CROP_GROUPS, CropGroup, box_window_hashes
from takedown.hashing.hashes import FRAME, ORIGINAL, Hash
from takedown.hashing.image import RGBArray, hash_rgb, load_rgb
from takedown.hashing.media import MediaHashes, file_digests, hash_file, still_image_bytes
from takedown.hashing.pairing import WINDOW_PREFIX, may_meet, window_code
from takedown.hashing.rect_search import picture_rects
from takedown.hashing.rotation_search import rotation_window_hashes
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES
from takedown.hashing.variants import content_boxes, trim_borders, trim_box
from takedown.hashing.video import compare_videos
from takedown.hashing.window_pdq import BlurredLuma, FloatArray, luma

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


@dataclass(frozen=True, slots=True)
class FoundView:
    """A view of the found copy: its label, pixels, where it sits in the copy, how it is hashed."""

    label: str
    rgb: RGBArray
    box: tuple[int, int, int, int]  # top, bottom, left, right in the copy
    dihedral: bool = True


def found_views(rgb: RGBArray, y: FloatArray | None = None) -> list[FoundView]:
    """The copy as found, with uniform borders trimmed, and the picture inside it if it is a
    screenshot: the content block (:func:`takedown.hashing.variants.content_boxes`, bridging
    short gaps and splitting at every gap) and the framed rectangles
    (:func:`takedown.hashing.rect_search.picture_rects`), deduplicated. The split block and the
    rectangles are hashed upright only."""
    height, width = rgb.shape[:2]
    views = [FoundView("found", rgb, (0, height, 0, width))]
    trimmed = trim_box(rgb)
    if trimmed is not None:
        top, bottom, left, right = trimmed
        views.append(FoundView("found-trim", np.ascontiguousarray(rgb[top:bottom, left:right]), trimmed))
    blocks = list(zip(("found-block", "found-block2"), content_boxes(rgb), strict=True))
    blocks += [(f"found-rect{i + 1 if i else ''}", box) for i, box in enumerate(picture_rects(rgb, y))]
    for label, box in blocks:
        upright = label == "found-block2" or label.startswith("found-rect")
        if box is not None and all(v.box != box for v in views):
            top, bottom, left, right = box
            view = np.ascontiguousarray(rgb[top:bottom, left:right])
            views.append(FoundView(label, view, box, dihedral=not upright))
    return views


#: Crop groups searched again inside the picture of a screenshot: a block that missed a flat
#: edge of the picture is a crop of it by a few percent, and a block that kept a thin frame (a
#: chat bubble's margin, a viewer's border) holds the picture with a margin of a few percent
#: (shares above 1: the picture is 1/1.03 or 1/1.06 of the block).
BLOCK_GROUPS: Final = (
    CropGroup("c10", 90, (5,), (1.06, 1.03, 0.97, 0.95)),
    CropGroup("c20", 80, (10,), (1.06, 1.03, 0.92, 0.90)),
    *(g for g in CROP_GROUPS if g.code == "k73"),
)


def found_image_hashes(rgb: RGBArray) -> list[Hash]:
    """Checking-side hashes of a found image. Server-side only, never in a bundle.

    pHash/dHash of the copy as found; PDQ of every view (:func:`found_views`) in all 8 dihedral
    orientations; and the search windows of the copy as found, each of which may only meet the
    registered variant(s) it stands for (:mod:`takedown.hashing.pairing`): crops
    (:mod:`takedown.hashing.crop_search`: a cropped copy still contains a registered crop
    somewhere), parts of the picture (captions and stickers cover the rest), and rotations
    undone (:mod:`takedown.hashing.rotation_search`); and the crop windows again inside the
    picture of a screenshot.
    """
    out = [h for h in hash_rgb(rgb, "found") if h.signal != "pdq"]
    found_quality = 0
    y = luma(rgb)
    views = found_views(rgb, y)
    for view in views:
        if view.dihedral:
            vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(view.rgb))
        else:
            vector, quality = pdqhash.compute(np.ascontiguousarray(view.rgb))
            vectors = [vector]
        if view.label == "found":
            found_quality = int(quality)
        for name, vector in zip(DIHEDRAL, vectors, strict=False):
            variant = f"{view.label}-{name}" if name else view.label
            out.append(Hash("pdq", bits_to_hex(vector), int(quality), variant))
    blurs = BlurredLuma(y)  # the box and rotation windows share their blurs
    out.extend(box_window_hashes(rgb, found_quality, blurs))
    out.extend(rotation_window_hashes(rgb, found_quality, blurs))
    seen = {h.variant for h in out}
    for view in views:
        if view.label.startswith(("found-block", "found-rect")):
            top, bottom, left, right = view.box
            # Same share on both axes only: a block is already the picture give or take a frame,
            # and the skewed shares would triple the windows of every screenshot.
            blocks = box_window_hashes(
                view.rgb,
                found_quality,
                y[top:bottom, left:right],
                groups=BLOCK_GROUPS,
                regions=(),
                offset=(top, left),
                skew=False,
            )
            for h in blocks:
                if h.variant not in seen:
                    seen.add(h.variant)
                    out.append(h)
    return out


def hash_found(source: str | os.PathLike[str] | bytes) -> MediaHashes:
    """Hash a found file for checking: robust views for images, trimmed frames for videos."""
    data = still_image_bytes(source)
    if data is None:
        media = hash_file(source, register_variants=False)
        trimmed = hash_file(source, register_variants=False, frame_transform=trim_borders)
        extra = tuple(
            Hash(h.signal, h.value, h.quality, "frame-trim")
            for h in trimmed.hashes
            if h.variant == FRAME and h not in media.hashes
        )
        return MediaHashes("video", media.hashes + extra)
    return MediaHashes("image", (*found_image_hashes(load_rgb(data)), *file_digests(data)))


def _trusted(h: Hash) -> bool:
    return h.signal != "pdq" or (h.quality is not None and h.quality >= PDQ_MIN_QUALITY)


@dataclass(frozen=True, slots=True, eq=False)
class FoundSet:
    """A found medium's hashes made ready to be compared with many registered media.

    A found image carries thousands of search windows; sorting them by what they may meet and
    unpacking their hex once per found medium, not once per registered medium, is what keeps
    matching a case's items cheap (grouping per call was 80% of a check's CPU time with 10,000
    windows and 20 registered pictures). Build it with :func:`prepare_found`.
    """

    hashes: tuple[Hash, ...]
    #: Exact digests (sha256, md5) by value, the first of each.
    digests: dict[tuple[str, str], Hash]
    #: Video frame hashes (plain and trimmed), in order.
    frames: tuple[Hash, ...]
    #: pHash and dHash of the copy as found, by signal (the first of each): looked up once, not
    #: by scanning ten thousand windows per registered item.
    plain64: dict[str, str]
    #: Trusted PDQ hashes (not video frames) by the target code of a window (None: ordinary
    #: views): the code, the members and their words matrix.
    pdq_groups: tuple[tuple[str | None, tuple[Hash, ...], WordArray], ...]


def prepare_found(found: Sequence[Hash] | FoundSet) -> FoundSet:
    """Group and unpack a found medium's hashes once (a :class:`FoundSet` is returned as is).

    Window labels that name no target (malformed) are left out: they may meet nothing.
    """
    if isinstance(found, FoundSet):
        return found
    found = tuple(found)  # read once: an iterator would be spent by the loop below
    groups: dict[str | None, list[Hash]] = {}
    digests: dict[tuple[str, str], Hash] = {}
    frames: list[Hash] = []
    plain64: dict[str, str] = {}
    # One pass over ~10,000 windows per found image: kept to plain comparisons (this loop was a
    # sixth of a check's time when it called a helper per hash).
    for f in found:
        signal, variant = f.signal, f.variant
        if signal in {"sha256", "md5"}:
            digests.setdefault((signal, f.value), f)
        elif signal in {"phash", "dhash"} and variant in {ORIGINAL, "found"}:
            plain64.setdefault(signal, f.value)
        if variant.startswith(FRAME):
            frames.append(f)
        elif signal == "pdq" and f.quality is not None and f.quality >= PDQ_MIN_QUALITY:
            code = window_code(variant)
            if code is None and variant.startswith(WINDOW_PREFIX):
                continue
            groups.setdefault(code, []).append(f)
    return FoundSet(
        found,
        digests,
        tuple(frames),
        plain64,
        tuple(
            (code, tuple(members), hexes_to_matrix([f.value for f in members], 64)) for code, members in groups.items()
        ),
    )


def best_match(registered: Sequence[Hash], found: Sequence[Hash] | FoundSet) -> Match | None:
    """Best match between one registered medium's hashes and one found medium's hashes.

    Exact digests first, then PDQ over every (registered variant, found hash) pair that
    :func:`takedown.hashing.pairing.may_compare` allows, both hashes trusted (a search window
    only against the registered variant(s) it stands for), then pHash and dHash between
    originals, which must both agree. Videos (frame hashes on both sides) are compared as bags
    of frames (vPDQ). Returns the closest miss when nothing matches and None when the two
    share no comparable signal. A found medium compared with several registered media goes to
    :func:`best_matches` instead, which does the PDQ work for all of them at once.
    """
    return best_matches([registered], found)[0]


def best_matches(items: Sequence[Sequence[Hash]], found: Sequence[Hash] | FoundSet) -> list[Match | None]:
    """:func:`best_match` of one found medium against each registered medium of ``items``.

    The found image's ~10,000 windows fall into a few dozen groups by what they may meet; each
    group is compared with the allowed hashes of every item in one product, not once per item
    (per-item products were a third of a check's matching time with 20 items, all of it
    numpy's per-call overhead). The results are the ones :func:`best_match` gives item by item.
    """
    prepared = prepare_found(found)
    closest = _closest_pdq(items, prepared)
    return [_best_of(registered, prepared, pdq) for registered, pdq in zip(items, closest, strict=True)]


def _best_of(registered: Sequence[Hash], prepared: FoundSet, closest_pdq: Match | None) -> Match | None:
    """The rule of :func:`best_match` for one item, given its closest PDQ pair."""
    reg_frames = [h for h in registered if h.variant == FRAME]
    found_frames = list(prepared.frames)
    for signal in ("sha256", "md5"):
        for r in registered:
            twin = prepared.digests.get((signal, r.value)) if r.signal == signal else None
            if twin is not None:
                return Match(True, signal, 0, r.variant, twin.variant, "byte-identical file")
    if reg_frames and found_frames:
        plain = compare_videos(found_frames_variant(found_frames, FRAME), reg_frames)
        trimmed = compare_videos(found_frames_variant(found_frames, "frame-trim") or found_frames, reg_frames)
        result, label = (
            (plain, FRAME) if plain.query_match_percent >= trimmed.query_match_percent else (trimmed, "frame-trim")
        )
        detail = (
            f"{result.query_match_percent:.0f}% of the found video's frames and "
            f"{result.target_match_percent:.0f}% of the registered video's frames match"
        )
        return Match(result.matched, "pdq", 100 - round(result.query_match_percent), FRAME, label, detail)
    if closest_pdq is not None and closest_pdq.matched:
        return closest_pdq
    fallback = _sixty_four_bit_match(registered, prepared.plain64)
    if fallback is not None and (fallback.matched or closest_pdq is None):
        return fallback
    return closest_pdq


#: Cap on a distance product's cells (registered rows x found hashes) per chunk: bounds the
#: temporaries (~2 MiB of xor words, 1 MiB of counts) however many items a case has.
_CELLS_PER_CHUNK: Final = 1 << 18


def _closest_pdq(items: Sequence[Sequence[Hash]], found: FoundSet) -> list[Match | None]:
    """Per item, the closest allowed PDQ pair (trusted, not video frames); matched when within 31.

    Found hashes are grouped by what they may meet (ordinary views, or the target code of a
    window), so each group is compared with the allowed registered hashes of every item at once. A match
    of a view of the whole copy is preferred to a window's; ties go to the earlier registered
    hash and the earlier found hash.
    """
    threshold = SIGNAL_TYPES["pdq"].default_threshold
    best: list[Match | None] = [None] * len(items)
    regs: list[Hash] = []
    owners: list[int] = []
    for n, registered in enumerate(items):
        for r in registered:
            if r.signal == "pdq" and _trusted(r) and r.variant != FRAME:
                regs.append(r)
                owners.append(n)
    if not regs:
        return best
    reg_words = hexes_to_matrix([r.value for r in regs], 64)
    owner_of = np.asarray(owners)
    labels = sorted({r.variant for r in regs})
    position = {label: i for i, label in enumerate(labels)}
    label_of = np.asarray([position[r.variant] for r in regs])
    for code, members, matrix in found.pdq_groups:
        allowed = np.fromiter((may_meet(label, code) for label in labels), dtype=bool, count=len(labels))
        rows = np.flatnonzero(allowed[label_of])
        if not rows.size:
            continue
        distances = hamming_cross(reg_words[rows], matrix, chunk=max(1, _CELLS_PER_CHUNK // len(members)))
        row_best = distances.argmin(axis=1)
        row_min = distances[np.arange(rows.size), row_best]
        row_owner = owner_of[rows]
        # Per item, its row with the smallest distance, the earliest on a tie.
        order = np.lexsort((rows, row_min, row_owner))
        firsts = order[np.r_[True, row_owner[order][1:] != row_owner[order][:-1]]]
        for k in firsts.tolist():
            n, d = int(row_owner[k]), int(row_min[k])
            candidate = Match(d <= threshold, "pdq", d, regs[rows[k]].variant, members[int(row_best[k])].variant)
            current = best[n]
            if current is None or _pdq_rank(candidate) < _pdq_rank(current):
                best[n] = candidate
    return best


def _pdq_rank(match: Match) -> tuple[bool, bool, int]:
    """Matches first; among matches a view of the whole copy before a search window (the
    simpler explanation for a reviewer); then the smaller distance."""
    return (not match.matched, window_code(match.found_variant) is not None and match.matched, match.distance)


def _sixty_four_bit_match(registered: Sequence[Hash], found: dict[str, str]) -> Match | None:
    """pHash and dHash of the originals, counted as a match only when both agree.

    Alone, either 64-bit hash matched unrelated official portraits in the shared photos
    (distance 4 between different people in front of the same flag), so one is never enough:
    docs/benchmarks/robustness.md measures the pair rule at zero false matches. ``found`` is
    the copy's pHash and dHash by signal (:attr:`FoundSet.plain64`).
    """
    distances = {}
    for signal in ("phash", "dhash"):
        r = next((h.value for h in registered if h.signal == signal and h.variant in {ORIGINAL, "found"}), None)
        f = found.get(signal)
        if r is None or f is None:
            return None
        distances[signal] = hamming_hex(r, f)
    matched = all(d <= SIGNAL_TYPES[s].default_threshold for s, d in distances.items())
    detail = f"pHash distance {distances['phash']} and dHash distance {distances['dhash']}"
    return Match(matched, "phash", distances["phash"], ORIGINAL, "found", detail)


def found_frames_variant(found: Sequence[Hash], variant: str) -> list[Hash]:
    return [h for h in found if h.variant == variant]
