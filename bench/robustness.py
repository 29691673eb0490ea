"""Robustness of our hashes against the edits people make, and false matches between unrelated photos.

For every photo in ../shared/data/photos the registering side hashes the original the way the
survivor's device does (``registered_hashes``: the original and its registered variants). The
photo is then edited the way copies found online are (recompressed, resized, cropped, padded,
rotated with the canvas grown or straightened, captioned, covered with stickers, screenshotted,
...; the edit families of issue 17 are in ``bench/edits.py``) and the checking side hashes the
edited file exactly as the service does (``found_image_hashes``: views, dihedral orientations,
crop, region and rotation windows). A copy is *recalled* when ``best_match``'s rule matches it
with its own original: PDQ within 31 over the pairs ``takedown.hashing.pairing.may_compare``
allows (both qualities >= 50), or pHash and dHash both within 4. False matches are counted over
ALL ordered pairs: every edited copy of photo B against the registered hashes of every photo
A != B, with the same rule, for every edit, and the unedited photos against each other.

Held out on purpose: the photos are split at random (seeded) into a *tune* half, on which the
variants and windows were chosen, and a *confirm* half; recall is reported for both. The new
families are run twice, with the parameter distributions they were tuned on ("tune") and with
distributions drawn differently ("check", see ``bench/edits.py``).

    .venv/bin/python bench/robustness.py                    # all photos, writes the table
    .venv/bin/python bench/robustness.py --limit 200 --no-write --families-only
    .venv/bin/python bench/robustness.py --timing           # checking-side time on 12 MP JPEGs
    .venv/bin/python bench/robustness.py --select --limit 300   # greedy choice of registered variants

Nothing is downloaded; the photos are read in place.
"""

from __future__ import annotations

import os

# One BLAS thread per worker: two workers already use both cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import math
import multiprocessing
import pickle
import shlex
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edits import FAMILY_EDITS, Draw
from same_photo import SAME_PHOTO_AT, Alignment, align

from takedown.hashing.bits import hexes_to_matrix
from takedown.hashing.hashes import ORIGINAL, Hash
from takedown.hashing.image import hash_rgb, load_rgb, pdq_rgb
from takedown.hashing.matcher import best_matches, found_image_hashes, hash_found
from takedown.hashing.media import hash_file
from takedown.hashing.pairing import may_compare, window_code
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES
from takedown.hashing.variants import CANDIDATE_VARIANTS, REGISTERED_VARIANTS, trim_borders

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "robustness.md"
SEED = 20240611
SPLIT_SEED = 17
PDQ_T = SIGNAL_TYPES["pdq"].default_threshold
PHASH_T = SIGNAL_TYPES["phash"].default_threshold
DHASH_T = SIGNAL_TYPES["dhash"].default_threshold
FAR = 256


# ------------------------------------------------------------------ common edits (unchanged since #3)


def _jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _crop(im: Image.Image, pct: int, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    cw, ch = round(w * pct / 100), round(h * pct / 100)
    left, top = round(cw * rng.random()), round(ch * rng.random())
    return im.crop((left, top, left + w - cw, top + h - ch))


def _pad(im: Image.Image, pct: int, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    colours = [(0, 0, 0), (255, 255, 255), (128, 128, 128), tuple(int(c) for c in rng.integers(0, 256, 3))]
    colour = colours[int(rng.integers(0, len(colours)))]
    dx, dy = round(w * pct / 100), round(h * pct / 100)
    canvas = Image.new("RGB", (w + 2 * dx, h + 2 * dy), colour)
    canvas.paste(im, (dx, dy))
    return canvas


def _letterbox(im: Image.Image, pct: int) -> Image.Image:
    w, h = im.size
    dy = round(h * pct / 100)
    canvas = Image.new("RGB", (w, h + 2 * dy), (0, 0, 0))
    canvas.paste(im, (0, dy))
    return canvas


def _rotate(im: Image.Image, deg: int, rng: np.random.Generator) -> Image.Image:
    """Rotation inside the same canvas, black corners (PIL's default)."""
    sign = 1 if rng.random() < 0.5 else -1
    return im.rotate(sign * deg, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))


def _noise(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    arr = np.asarray(im).astype(np.float64) + rng.normal(0, 8, (im.size[1], im.size[0], 3))
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def _overlay(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Caption text and a few emoji-like stickers, as in a meme or a story re-post."""
    out = im.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    font = _font(h // 12)
    for line, y in (("look who it is lol", 0.05), ("#exposed  #leak", 0.82)):
        draw.text((w * 0.06, h * y), line, font=font, fill="white", stroke_width=2, stroke_fill="black")
    for _ in range(3):
        r = h // 14
        cx, cy = int(rng.integers(r, w - r)), int(rng.integers(h // 4, 3 * h // 4))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 204, 0), outline="black")
        draw.ellipse((cx - r // 2, cy - r // 3, cx - r // 4, cy), fill="black")
        draw.ellipse((cx + r // 4, cy - r // 3, cx + r // 2, cy), fill="black")
        draw.arc((cx - r // 2, cy, cx + r // 2, cy + r // 2), 0, 180, fill="black", width=2)
    return out


def _watermark(im: Image.Image) -> Image.Image:
    """A semi-transparent site logo in the bottom-right corner (about a quarter of the width)."""
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    w, h = base.size
    draw = ImageDraw.Draw(layer)
    box = (int(w * 0.62), int(h * 0.84), int(w * 0.97), int(h * 0.96))
    draw.rounded_rectangle(box, radius=6, fill=(255, 255, 255, 90))
    draw.text((box[0] + 6, box[1] + 2), "tubesite.example", font=_font((box[3] - box[1]) * 2 // 3), fill=(0, 0, 0, 140))
    return Image.alpha_composite(base, layer).convert("RGB")


def _screenshot(im: Image.Image) -> Image.Image:
    """A phone screenshot of a post: status bar, header, margins, caption and navigation bar."""
    w, h = im.size
    margin = round(w * 0.04)
    bar, header, caption, nav = round(h * 0.06), round(h * 0.12), round(h * 0.16), round(h * 0.09)
    canvas = Image.new("RGB", (w + 2 * margin, bar + header + h + caption + nav), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    cw = canvas.size[0]
    draw.rectangle((0, 0, cw, bar), fill=(20, 20, 20))
    draw.text((margin, bar // 5), "12:34", font=_font(bar * 2 // 3), fill="white")
    draw.rectangle((cw - 5 * margin, bar // 3, cw - 3 * margin, 2 * bar // 3), fill="white")
    draw.ellipse((margin, bar + header // 5, margin + header * 3 // 5, bar + header * 4 // 5), fill=(120, 80, 200))
    draw.text((margin + header, bar + header // 4), "someone_posted", font=_font(header // 3), fill="black")
    canvas.paste(im, (margin, bar + header))
    draw.text((margin, bar + header + h + caption // 4), "♥ 1,024  likes", font=_font(caption // 4), fill="black")
    top_nav = canvas.size[1] - nav
    draw.rectangle((0, top_nav, cw, canvas.size[1]), fill=(235, 235, 235))
    for i in range(4):
        x = cw * (2 * i + 1) // 8
        draw.ellipse((x - nav // 4, top_nav + nav // 4, x + nav // 4, top_nav + 3 * nav // 4), fill=(60, 60, 60))
    return canvas


Edit = Callable[[Image.Image, np.random.Generator], bytes]

#: The common edits (the "keep what already works" rows); the unedited file comes first.
EDITS: dict[str, Edit] = {
    "jpeg q30": lambda im, r: _jpeg(im, 30),
    "jpeg q50": lambda im, r: _jpeg(im, 50),
    "jpeg q70": lambda im, r: _jpeg(im, 70),
    "jpeg q90": lambda im, r: _jpeg(im, 90),
    "resize 0.25x": lambda im, r: _jpeg(
        im.resize((max(1, im.size[0] // 4), max(1, im.size[1] // 4)), Image.Resampling.LANCZOS)
    ),
    "resize 0.5x": lambda im, r: _jpeg(im.resize((im.size[0] // 2, im.size[1] // 2), Image.Resampling.LANCZOS)),
    "resize 1.5x": lambda im, r: _jpeg(im.resize((im.size[0] * 3 // 2, im.size[1] * 3 // 2), Image.Resampling.LANCZOS)),
    "resize 2x": lambda im, r: _jpeg(im.resize((im.size[0] * 2, im.size[1] * 2), Image.Resampling.LANCZOS)),
    "crop 5%": lambda im, r: _jpeg(_crop(im, 5, r)),
    "crop 10%": lambda im, r: _jpeg(_crop(im, 10, r)),
    "pad 10%": lambda im, r: _jpeg(_pad(im, 10, r)),
    "pad 20%": lambda im, r: _jpeg(_pad(im, 20, r)),
    "letterbox 10%": lambda im, r: _jpeg(_letterbox(im, 10)),
    "letterbox 20%": lambda im, r: _jpeg(_letterbox(im, 20)),
    "rotate 2° (same canvas)": lambda im, r: _jpeg(_rotate(im, 2, r)),
    "rotate 5° (same canvas)": lambda im, r: _jpeg(_rotate(im, 5, r)),
    "rotate 10° (same canvas)": lambda im, r: _jpeg(_rotate(im, 10, r)),
    "flip": lambda im, r: _jpeg(ImageOps.mirror(im)),
    "grayscale": lambda im, r: _jpeg(ImageOps.grayscale(im)),
    "brightness +30%": lambda im, r: _jpeg(ImageEnhance.Brightness(im).enhance(1.3)),
    "contrast +30%": lambda im, r: _jpeg(ImageEnhance.Contrast(im).enhance(1.3)),
    "blur": lambda im, r: _jpeg(im.filter(ImageFilter.GaussianBlur(max(1.0, min(im.size) / 200)))),
    "noise sigma=8": lambda im, r: _jpeg(_noise(im, r)),
    "text/emoji overlay (#3)": lambda im, r: _jpeg(_overlay(im, r)),
    "watermark": lambda im, r: _jpeg(_watermark(im)),
    "screenshot border (#3)": lambda im, r: _jpeg(_screenshot(im)),
    "PNG": lambda im, r: _encode(im, "PNG"),
    "WebP q80": lambda im, r: _encode(im, "WEBP", quality=80),
    "AVIF q60": lambda im, r: _encode(im, "AVIF", quality=60),
    "HEIC q60": lambda im, r: _encode(im, "HEIF", quality=60),
}
#: Common edits held to the 99.5% target (DESIGN.md section 9); the others of EDITS are the
#: project's earlier geometric rows (kept to show nothing regressed).
COMMON = tuple(
    e for e in EDITS if not e.startswith(("rotate", "text/emoji", "screenshot border", "crop 10%", "pad 20%"))
)
UNEDITED = "unedited (originals against each other)"


@dataclass(frozen=True)
class EditSpec:
    name: str
    family: str
    draw: Draw | None  # None: a common edit (no draw)


def edit_specs(
    families_only: bool, draws: tuple[Draw, ...] = ("tune", "check"), only: tuple[str, ...] = ()
) -> list[EditSpec]:
    """The edits to run: unedited and common ones unless ``families_only``, the families in each
    of ``draws``; with ``only``, just the edits whose name contains one of those strings."""
    specs = [] if families_only else [EditSpec(UNEDITED, "unedited", None)]
    if not families_only:
        specs += [EditSpec(name, "common" if name in COMMON else "earlier geometric", None) for name in EDITS]
    for draw in draws:
        specs += [EditSpec(f"{name} [{draw}]", family, draw) for name, (family, _edit) in FAMILY_EDITS.items()]
    return [s for s in specs if not only or any(part in s.name for part in only)]


def apply_edit(spec: EditSpec, data: bytes, full: Image.Image, rng: np.random.Generator) -> bytes:
    if spec.name == UNEDITED:
        return data
    if spec.draw is None:
        return EDITS[spec.name](full, rng)
    base = spec.name.rsplit(" [", 1)[0]
    return FAMILY_EDITS[base][1](full, rng, spec.draw)


# ------------------------------------------------------------------ registering side


@dataclass
class Registered:
    """Every candidate variant's PDQ (the registered set is a subset) and the 64-bit hashes."""

    name: str
    labels: list[str] = field(default_factory=list)
    pdq: list[str] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    phash: str = ""
    dhash: str = ""
    error: str = ""


def register(path: str) -> Registered:
    res = Registered(os.path.relpath(path, PHOTOS))
    try:
        rgb = load_rgb(Path(path).read_bytes())
        for h in hash_rgb(rgb, ORIGINAL):
            if h.signal == "pdq":
                res.labels.append(ORIGINAL)
                res.pdq.append(h.value)
                res.quality.append(h.quality or 0)
            elif h.signal == "phash":
                res.phash = h.value
            else:
                res.dhash = h.value
        for spec in CANDIDATE_VARIANTS:
            value, quality = pdq_rgb(spec.apply(rgb))
            res.labels.append(spec.label)
            res.pdq.append(value)
            res.quality.append(quality)
        trimmed = trim_borders(rgb)
        if trimmed is not rgb:
            value, quality = pdq_rgb(trimmed)
            res.labels.append("trim")
            res.pdq.append(value)
            res.quality.append(quality)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and carries on
        res.error = f"{type(exc).__name__}: {exc}"
    return res


# ------------------------------------------------------------------ checking side, per found copy


@dataclass
class FoundResult:
    """What one found copy met: per registered label its closest allowed distance to its own
    photo, and per other photo the closest allowed distance over the registered set."""

    own: dict[str, int]
    others: np.ndarray  # (n_photos,) int16: closest over every registered label in the set
    others_all: np.ndarray  # (n_photos,) int16: closest over every candidate label
    pdq: str
    phash: str
    dhash: str
    quality: int
    windows: int
    seconds: float
    own_variant: str


# Worker globals: the registered matrices of every photo, by label.
_REG: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # label -> (n x 4 words, trusted mask)
_REG_SET: frozenset[str] = frozenset()
_INDEXES: dict[frozenset[str], tuple[faiss.IndexBinaryFlat, np.ndarray, np.ndarray]] = {}
#: Cross-photo hits are collected up to this distance (exclusive), so the closest unrelated
#: distance is known whenever it is below it.
NEAR = 41


def _init_worker(reg: dict[str, tuple[np.ndarray, np.ndarray]], reg_set: frozenset[str]) -> None:
    global _REG, _REG_SET
    _REG, _REG_SET = reg, reg_set
    faiss.omp_set_num_threads(1)


def _index(labels: frozenset[str]) -> tuple[faiss.IndexBinaryFlat, np.ndarray, np.ndarray]:
    """A brute-force binary index of every trusted registered hash with one of ``labels``, and
    per row its photo and whether its label is in the shipped set (faiss: 80x numpy here)."""
    if labels not in _INDEXES:
        rows, owners, shipped = [], [], []
        for label in sorted(labels):
            reg, trusted = _REG[label]
            rows.append(reg[trusted])
            owners.append(np.nonzero(trusted)[0])
            shipped.append(np.full(int(trusted.sum()), label in _REG_SET))
        index = faiss.IndexBinaryFlat(256)
        matrix = np.concatenate(rows) if rows else np.zeros((0, 4), np.uint64)
        index.add(np.ascontiguousarray(matrix.astype(">u8").view(np.uint8)))
        _INDEXES[labels] = (index, np.concatenate(owners), np.concatenate(shipped))
    return _INDEXES[labels]


def check_copy(index: int, hashes: list[Hash], seconds: float) -> FoundResult:
    """Score one found copy against every photo's registered hashes with the matcher's rule."""
    n = next(iter(_REG.values()))[0].shape[0]
    plain = {h.signal: h for h in hashes if h.variant == "found"}
    quality = plain["pdq"].quality or 0
    groups: dict[str | None, list[Hash]] = {}
    for h in hashes:
        if h.signal == "pdq" and (h.quality or 0) >= PDQ_MIN_QUALITY:
            groups.setdefault(window_code(h.variant), []).append(h)
    own: dict[str, int] = {}
    others = np.full(n, FAR, dtype=np.int16)
    others_all = np.full(n, FAR, dtype=np.int16)
    own_variant, own_best = "", FAR
    for members in groups.values():
        words = hexes_to_matrix([h.value for h in members], 64)
        labels = frozenset(label for label in _REG if may_compare(label, members[0].variant))
        if not labels:
            continue
        for label in labels:
            reg, trusted = _REG[label]
            if not trusted[index]:
                continue
            dist = np.bitwise_count(words ^ reg[index]).sum(axis=1)
            d = int(dist.min())
            own[label] = min(own.get(label, FAR), d)
            if label in _REG_SET and d < own_best:
                own_best = d
                own_variant = f"{label} <- {members[int(np.argmin(dist))].variant}"
        faiss_index, owners, shipped = _index(labels)
        lims, distances, ids = faiss_index.range_search(np.ascontiguousarray(words.astype(">u8").view(np.uint8)), NEAR)
        del lims
        photo = owners[ids]
        d16 = distances.astype(np.int16)
        np.minimum.at(others_all, photo, d16)
        np.minimum.at(others, photo[shipped[ids]], d16[shipped[ids]])
    others[index] = others_all[index] = FAR
    windows = sum(1 for h in hashes if h.variant.startswith("win-"))
    return FoundResult(
        own,
        others,
        others_all,
        plain["pdq"].value,
        plain["phash"].value,
        plain["dhash"].value,
        quality,
        windows,
        seconds,
        own_variant,
    )


def process(job: tuple[int, int, str, list[EditSpec]]) -> tuple[int, dict[str, FoundResult], str]:
    """Edit one photo every way, hash each copy as the service does and score it.

    ``index`` is the photo's row in the registered matrices; ``seed`` its index in the full
    sorted list of photos, so a photo gets the same edits whatever subset is run."""
    index, seed, path, specs = job
    out: dict[str, FoundResult] = {}
    try:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as opened:
            full = ImageOps.exif_transpose(opened).convert("RGB")
        for spec in specs:
            # Seeded by the photo and the edit's name: the same copy whatever subset is run.
            rng = np.random.default_rng([SEED, seed, zlib.crc32(spec.name.encode())])
            edited = apply_edit(spec, data, full, rng)
            rgb = load_rgb(edited)
            started = time.process_time()
            hashes = found_image_hashes(rgb)
            seconds = time.process_time() - started
            out[spec.name] = check_copy(index, hashes, seconds)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and carries on
        return index, out, f"{type(exc).__name__}: {exc}"
    return index, out, ""


# ------------------------------------------------------------------ scoring


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n."""
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _recall_cell(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"**{100 * k / n:.1f}%** ({k}/{n}; {100 * low:.1f}-{100 * high:.1f})" if n else "-"


def _closest(distance: int) -> str:
    """Cross-photo hits are only collected below NEAR: past it the exact figure is unknown."""
    return str(distance) if distance < NEAR else f"> {NEAR - 1}"


def _hex64(values: list[str]) -> np.ndarray:
    return hexes_to_matrix(values, 16)


@dataclass
class Scored:
    rows: list[str]
    family_rows: list[str]
    summary: dict[str, object]
    #: Every false pair: (edit, copy of photo, registered photo it matched, distance or -1 for pHash+dHash).
    false_list: list[tuple[str, str, str, int]] = field(default_factory=list)


def score(
    regs: list[Registered], found: dict[str, list[FoundResult]], specs: list[EditSpec], halves: np.ndarray
) -> Scored:
    """Recall (per half and in all, Wilson 95% intervals) and false pairs, per edit and family."""
    n = len(regs)
    orig_q = np.asarray([r.quality[0] for r in regs])
    orig_pdq = hexes_to_matrix([r.pdq[0] for r in regs], 64)
    orig_ph, orig_dh = _hex64([r.phash for r in regs]), _hex64([r.dhash for r in regs])
    eye = np.eye(n, dtype=bool)
    rows, family_rows = [], []
    families: dict[str, list[np.ndarray]] = {}
    false_total = 0
    false_any_total = 0
    false_list: list[tuple[str, str, str, int]] = []
    min_unrelated = FAR
    plain_false = {"pdq": 0, "phash": 0, "dhash": 0}
    for spec in specs:
        res = found[spec.name]
        ph = np.bitwise_count(_hex64([f.phash for f in res])[:, None, :] ^ orig_ph[None]).sum(-1)
        dh = np.bitwise_count(_hex64([f.dhash for f in res])[:, None, :] ^ orig_dh[None]).sum(-1)
        pq = np.bitwise_count(hexes_to_matrix([f.pdq for f in res], 64)[:, None, :] ^ orig_pdq[None]).sum(-1)
        both64 = (ph <= PHASH_T) & (dh <= DHASH_T)
        own_pdq = np.asarray([min((d for lab, d in f.own.items() if lab in _REG_SET_MAIN), default=FAR) for f in res])
        recalled = (own_pdq <= PDQ_T) | np.diag(both64)
        others = np.stack([f.others for f in res])
        false_mask = (others <= PDQ_T) | (both64 & ~eye)
        false_pairs = int(false_mask.sum())
        for i, j in np.argwhere(false_mask).tolist():
            distance = int(others[i, j]) if others[i, j] <= PDQ_T else -1
            false_list.append((spec.name, regs[i].name, regs[j].name, distance))
        false_any = int(((np.stack([f.others_all for f in res]) <= PDQ_T) | (both64 & ~eye)).sum())
        false_total += false_pairs
        false_any_total += false_any
        min_unrelated = min(min_unrelated, int(others.min()))
        trusted = (orig_q >= PDQ_MIN_QUALITY)[None, :]
        plain_false["pdq"] += int(
            ((pq <= PDQ_T) & ~eye & trusted & (np.asarray([f.quality for f in res]) >= PDQ_MIN_QUALITY)[:, None]).sum()
        )
        plain_false["phash"] += int(((ph <= PHASH_T) & ~eye).sum())
        plain_false["dhash"] += int(((dh <= DHASH_T) & ~eye).sum())
        k = int(recalled.sum())
        k_a, n_a = int(recalled[halves == 0].sum()), int((halves == 0).sum())
        k_b, n_b = int(recalled[halves == 1].sum()), int((halves == 1).sum())
        plain_pdq = float(np.mean((np.diag(pq) <= PDQ_T) & (orig_q >= PDQ_MIN_QUALITY)))
        rows.append(
            f"| {spec.name} | {_recall_cell(k, n)} | {100 * k_a / max(1, n_a):.1f}% | {100 * k_b / max(1, n_b):.1f}% "
            f"| {100 * plain_pdq:.1f}% | {false_pairs} | {_closest(int(others.min()))} |"
        )
        families.setdefault(f"{spec.family} [{spec.draw}]" if spec.draw else spec.family, []).append(recalled)
    for family, parts in families.items():
        stacked = np.concatenate(parts)
        halves_rep = np.concatenate([halves for _ in parts])
        k, m = int(stacked.sum()), len(stacked)
        ka = int(stacked[halves_rep == 0].sum())
        kb = int(stacked[halves_rep == 1].sum())
        family_rows.append(
            f"| {family} | {_recall_cell(k, m)} | {100 * ka / max(1, int((halves_rep == 0).sum())):.1f}% "
            f"| {100 * kb / max(1, int((halves_rep == 1).sum())):.1f}% |"
        )
    all_found = [f for res in found.values() for f in res]
    times = [f.seconds * 1000 for f in all_found]
    summary: dict[str, object] = {
        "false_total": false_total,
        "false_any_total": false_any_total,
        "min_unrelated": min_unrelated,
        "closest_unrelated": _closest(min_unrelated),
        "plain_false": plain_false,
        "ms_median": statistics.median(times) if times else 0.0,
        "ms_p95": float(np.percentile(times, 95)) if times else 0.0,
        "windows": statistics.median([f.windows for f in all_found]) if all_found else 0,
        "pairs": n * (n - 1),
    }
    return Scored(rows, family_rows, summary, false_list)


_REG_SET_MAIN: frozenset[str] = frozenset()


def registered_matrices(regs: list[Registered]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """label -> (n x 4 words, trusted) over every photo (untrusted or missing rows are far)."""
    labels = sorted({lab for r in regs for lab in r.labels})
    out = {}
    zero = "0" * 64
    for label in labels:
        values, trusted = [], []
        for r in regs:
            if label in r.labels:
                i = r.labels.index(label)
                values.append(r.pdq[i])
                trusted.append(r.quality[i] >= PDQ_MIN_QUALITY)
            else:
                values.append(zero)
                trusted.append(False)
        out[label] = (hexes_to_matrix(values, 64), np.asarray(trusted))
    return out


def registered_set() -> frozenset[str]:
    return frozenset({ORIGINAL, "trim", *(spec.label for spec in REGISTERED_VARIANTS)})


# ------------------------------------------------------------------ timing on 12 MP JPEGs


def timing(paths: list[str], count: int) -> dict[str, float]:
    """``hash_found`` + ``best_matches`` against 20 registered items (as a check uses them) per
    12 MP JPEG found image, CPU time of this process (one core)."""
    chosen = paths[:: max(1, len(paths) // count)][:count]
    registered = [[h for h in hash_file(p).hashes if h.signal not in {"sha256", "md5"}] for p in chosen[:20]]
    found_ms, match_ms = [], []
    found: list[Hash] = []
    for path in chosen:
        with Image.open(path) as opened:
            big = ImageOps.exif_transpose(opened).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
        data = _jpeg(big, 90)
        started = time.process_time()
        found = list(hash_found(data).hashes)
        middle = time.process_time()
        best_matches(registered, found)
        ended = time.process_time()
        found_ms.append(1000 * (middle - started))
        match_ms.append(1000 * (ended - middle))
    total = [a + b for a, b in zip(found_ms, match_ms, strict=True)]
    return {
        "n": len(chosen),
        "items": len(registered),
        "found_median": statistics.median(found_ms),
        "found_p95": float(np.percentile(found_ms, 95)),
        "match_median": statistics.median(match_ms),
        "total_median": statistics.median(total),
        "total_p95": float(np.percentile(total, 95)),
        "found_hashes": len(found),
    }


# ------------------------------------------------------------------ variant selection


def select(
    regs: list[Registered], found: dict[str, list[FoundResult]], specs: list[EditSpec], halves: np.ndarray, budget: int
) -> list[str]:
    """Greedy choice of registered variants maximising mean recall over the geometric and new
    edits ("tune" draw), on the tune half of the photos only."""
    edits = [s.name for s in specs if s.family not in {"common", "unedited"} and s.draw != "check"]
    labels = sorted({lab for r in regs for lab in r.labels})
    tune = np.nonzero(halves == 0)[0]
    hit = {e: np.asarray([[found[e][i].own.get(lab, FAR) <= PDQ_T for lab in labels] for i in tune]) for e in edits}
    chosen = [labels.index(ORIGINAL)] + ([labels.index("trim")] if "trim" in labels else [])
    lines = ["| step | added | mean recall over the new and earlier geometric edits |", "| --- | --- | --- |"]

    def mean_recall(sel: list[int]) -> float:
        return float(np.mean([hit[e][:, sel].any(axis=1).mean() for e in edits]))

    lines.append(f"| 0 | original, trim | {100 * mean_recall(chosen):.1f}% |")
    pool = [i for i in range(len(labels)) if i not in chosen]
    for step in range(1, budget + 1):
        best = max(pool, key=lambda v: mean_recall([*chosen, v]))
        chosen.append(best)
        pool.remove(best)
        lines.append(f"| {step} | {labels[best]} | {100 * mean_recall(chosen):.1f}% |")
    return lines


# ------------------------------------------------------------------ main


def main() -> int:
    global _REG_SET_MAIN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="use only N photos spread over the folders")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--families-only", action="store_true", help="only the edit families of issue 17")
    parser.add_argument("--select", action="store_true", help="greedy selection of registered variants")
    parser.add_argument("--timing", action="store_true", help="time the checking side on 12 MP JPEGs only")
    parser.add_argument("--timing-count", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks/robustness.md")
    parser.add_argument("--write", action="store_true", help="write the doc even for a --limit sample")
    parser.add_argument("--save", type=Path, help="also pickle the raw per-copy results here (for analysis)")
    parser.add_argument("--draw", choices=("both", "tune", "check"), default="both", help="which draw of the families")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT", help="only edits whose name contains TEXT (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=DOC, help="the markdown file to write (default: %(default)s)")
    args = parser.parse_args()
    paths = sorted(str(p) for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    command = "python bench/robustness.py" + (f" --limit {args.limit} --write" if args.limit else "")
    if args.families_only:
        command += " --families-only"
    if args.draw != "both":
        command += f" --draw {args.draw}"
    command += "".join(f" --only {shlex.quote(text)}" for text in args.only)
    if args.out != DOC:
        command += f" --out {args.out}"
    if args.timing:
        result = timing(paths, args.timing_count)
        print(result)
        return 0
    jobs_index = list(range(len(paths)))
    if args.limit:
        jobs_index = jobs_index[:: max(1, len(jobs_index) // args.limit)][: args.limit]
    chosen_paths = [paths[i] for i in jobs_index]
    halves = np.random.default_rng(SPLIT_SEED).integers(0, 2, len(paths))[jobs_index]
    draws: tuple[Draw, ...] = ("tune", "check") if args.draw == "both" else (args.draw,)
    specs = edit_specs(args.families_only, draws, tuple(args.only))
    print(f"reproduce: .venv/bin/{command}", file=sys.stderr)
    started = time.time()
    with multiprocessing.Pool(args.workers) as pool:
        regs = pool.map(register, chosen_paths, chunksize=8)
    errors = [f"{r.name}: {r.error}" for r in regs if r.error]
    keep = [i for i, r in enumerate(regs) if not r.error]
    regs = [regs[i] for i in keep]
    chosen_paths = [chosen_paths[i] for i in keep]
    halves = halves[keep]
    seeds = [jobs_index[i] for i in keep]
    reg_matrices = registered_matrices(regs)
    _REG_SET_MAIN = frozenset(reg_matrices) if args.select else registered_set()
    print(f"registered {len(regs)} photos in {time.time() - started:.0f}s", file=sys.stderr)
    found: dict[str, list[FoundResult]] = {s.name: [None] * len(regs) for s in specs}  # type: ignore[list-item]
    jobs = [(i, seeds[i], p, specs) for i, p in enumerate(chosen_paths)]
    with multiprocessing.Pool(args.workers, initializer=_init_worker, initargs=(reg_matrices, _REG_SET_MAIN)) as pool:
        for done, (i, out, error) in enumerate(pool.imap_unordered(process, jobs), 1):
            if error:
                errors.append(f"{regs[i].name}: {error}")
            for name, res in out.items():
                found[name][i] = res
            if done % 10 == 0 or done == len(jobs):
                print(f"\r{done}/{len(jobs)} photos, {time.time() - started:.0f}s", end="", file=sys.stderr)
    print(file=sys.stderr)
    failed = [i for i in range(len(regs)) if any(found[s.name][i] is None for s in specs)]
    if failed:
        keep = [i for i in range(len(regs)) if i not in set(failed)]
        regs = [regs[i] for i in keep]
        halves = halves[keep]
        found = {k: [v[i] for i in keep] for k, v in found.items()}
    if args.save:
        with args.save.open("wb") as handle:
            pickle.dump((regs, found, specs, halves), handle)
    if args.select:
        print("\n".join(select(regs, found, specs, halves, 40)))
        return 0
    scored = score(regs, found, specs, halves)
    pairs = {(min(a, b), max(a, b)) for _edit, a, b, _d in scored.false_list}
    alignments = {pair: align(PHOTOS / pair[0], PHOTOS / pair[1]) for pair in sorted(pairs)}
    text = render(scored, len(regs), errors, command, time.time() - started, args.workers, alignments)
    print(text)
    # A sample, a subset of the edits or one draw is written only when asked (--write, or --out
    # naming its own file): the default doc holds the full table.
    partial = args.limit or args.families_only or args.only or args.draw != "both"
    if args.write or (args.out != DOC and not args.no_write) or not (args.no_write or partial):
        # Keep the before / after section of bench/robustness_compare.py, which has its own command.
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        begin, end = "<!-- robustness_compare:begin -->", "<!-- robustness_compare:end -->"
        if begin in old and end in old:
            text = text.rstrip("\n") + "\n\n" + begin + old.split(begin, 1)[1].split(end, 1)[0] + end + "\n"
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _false_pair_rows(s: Scored, alignments: dict[tuple[str, str], Alignment]) -> list[str]:
    """One line per false pair, with what the pixels of the two originals say (bench/same_photo.py)."""
    rows = []
    for edit, copy_of, matched, distance in s.false_list:
        a = alignments[(min(copy_of, matched), max(copy_of, matched))]
        verdict = "same photograph" if a.same_photo else "different shots"
        rows.append(
            f"| {edit} | {copy_of} | {matched} | {distance if distance >= 0 else 'pHash+dHash'} "
            f"| {a.correlation:.3f} ({Path(a.inner).name} at {a.scale:.2f}) | {verdict} |"
        )
    return rows


def render(
    s: Scored,
    n: int,
    errors: list[str],
    command: str,
    elapsed: float,
    workers: int,
    alignments: dict[tuple[str, str], Alignment] | None = None,
) -> str:
    labels = ", ".join(spec.label for spec in REGISTERED_VARIANTS)
    summary = s.summary
    alignments = alignments or {}
    keys = [(min(a, b), max(a, b)) for _e, a, b, _d in s.false_list]
    same = sum(1 for key in keys if key in alignments and alignments[key].same_photo)
    false_detail = (
        [
            "## False pairs, one by one",
            "",
            "Whether the two originals hold the same photograph is judged from their pixels alone",
            "(`bench/same_photo.py`: normalised cross-correlation of the grey pixels after the best",
            "scale and position of one file inside the other; a crop of a photo, scaled to 80% and",
            f're-encoded, scored 0.969; "same photograph" from {SAME_PHOTO_AT}). Such pairs are the same picture',
            "uploaded twice, cropped differently, and a matcher that finds crops is right to match them;",
            "different shots are false matches.",
            "",
            "| edit | copy of | matched the registered | distance | pixels: correlation (inner at scale) | originals |",
            "| --- | --- | --- | --- | --- | --- |",
            *_false_pair_rows(s, alignments),
            "",
        ]
        if s.false_list
        else []
    )
    return "\n".join(
        [
            "# Robustness of image hashing",
            "",
            "Generated by `bench/robustness.py`; reproduce from the repository root with:",
            "",
            "```",
            f".venv/bin/{command}",
            "```",
            "",
            f"Photos: {n} from `../shared/data/photos/` (a sample spread evenly over the sorted list of "
            f"1,353 when `--limit` is given; errors: {len(errors)}); run time {elapsed / 60:.1f} min with "
            f"{workers} worker processes on a shared 2-core machine. The same table for the matcher before "
            "issue 17, on all photos: [robustness-before-issue17.md](robustness-before-issue17.md).",
            "",
            f"Registered per photo: the original (PDQ, pHash, dHash) and PDQ of {labels}, and of the",
            "border-trimmed original when trimming changes it.",
            "",
            "Recall: share of photos whose edited copy matches its own original, with the 95% Wilson",
            "interval; *tune* / *confirm* = the two random halves of the photos (variants and windows",
            "were chosen on the tune half); *PDQ alone* = the copy's plain PDQ against the original's",
            "(what StopNCII does); *false pairs* = ordered pairs (copy of photo B, registered photo",
            "A != B) the matcher would report, over all pairs; *closest unrelated* = the smallest",
            "allowed PDQ distance between a copy and another photo's registered hashes.",
            "",
            "| edit | recall (95% interval) | tune half | confirm half | PDQ alone | false pairs | closest unrelated |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *s.rows,
            "",
            "## Per family",
            "",
            "| family [draw] | recall (95% interval) | tune half | confirm half |",
            "| --- | --- | --- | --- |",
            *s.family_rows,
            "",
            f"False pairs over all edits: **{summary['false_total']}** over {summary['pairs']:,} ordered pairs per "
            f"edit (closest unrelated allowed PDQ distance {summary['closest_unrelated']})"
            + (
                f"; of them {same} between two files of the same photograph and "
                f"{len(s.false_list) - same} between different shots (listed below). "
                if s.false_list
                else ". "
            )
            + "With every candidate "
            f"variant registered instead of the shipped set: {summary['false_any_total']}. Plain single-signal "
            f"false pairs over the same copies (no pairing rule): {summary['plain_false']}.",
            "",
            f"Checking side per found copy (`found_image_hashes` on the reduced copy, CPU time in a worker): "
            f"median {summary['ms_median']:.0f} ms, 95th percentile {summary['ms_p95']:.0f} ms; "
            f"{summary['windows']:.0f} search windows per copy (median).",
            "",
            *false_detail,
            *(["## Errors", "", *[f"- {e}" for e in errors], ""] if errors else []),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
