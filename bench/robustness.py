"""Robustness of our hashes against everyday edits, and false matches between unrelated photos.

For every photo in ../shared/data/photos the registering side hashes the original (and its
registered variants); the photo is then edited (recompressed, resized, cropped, padded,
rotated, ...) the way copies found online are, and the checking side hashes the edited file.
Recall = share of photos whose edited copy still matches its own original. False matches are
counted over ALL pairs of distinct photos: every original against every other original, and
every edited copy against every other photo's registered hashes.

    .venv/bin/python bench/robustness.py                 # full run, writes the table
    .venv/bin/python bench/robustness.py --smoke         # 40 photos, prints only
    .venv/bin/python bench/robustness.py --select --limit 400   # variant selection study

Nothing is downloaded; the photos are read in place.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from takedown.hashing.bits import bits_to_hex, hexes_to_matrix
from takedown.hashing.crop_search import window_hashes, window_target
from takedown.hashing.image import hash_rgb, load_rgb, pdq_rgb
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES
from takedown.hashing.variants import (
    CANDIDATE_VARIANTS,
    REGISTERED_VARIANTS,
    content_block,
    trim_borders,
)

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "robustness.md"
SEED = 20240611
PDQ_T = SIGNAL_TYPES["pdq"].default_threshold
PHASH_T = SIGNAL_TYPES["phash"].default_threshold
DHASH_T = SIGNAL_TYPES["dhash"].default_threshold


# ------------------------------------------------------------------ edits of a found copy


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
    "crop 20%": lambda im, r: _jpeg(_crop(im, 20, r)),
    "pad 10%": lambda im, r: _jpeg(_pad(im, 10, r)),
    "pad 20%": lambda im, r: _jpeg(_pad(im, 20, r)),
    "letterbox 10%": lambda im, r: _jpeg(_letterbox(im, 10)),
    "letterbox 20%": lambda im, r: _jpeg(_letterbox(im, 20)),
    "rotate 2°": lambda im, r: _jpeg(_rotate(im, 2, r)),
    "rotate 5°": lambda im, r: _jpeg(_rotate(im, 5, r)),
    "rotate 10°": lambda im, r: _jpeg(_rotate(im, 10, r)),
    "flip": lambda im, r: _jpeg(ImageOps.mirror(im)),
    "grayscale": lambda im, r: _jpeg(ImageOps.grayscale(im)),
    "brightness +30%": lambda im, r: _jpeg(ImageEnhance.Brightness(im).enhance(1.3)),
    "contrast +30%": lambda im, r: _jpeg(ImageEnhance.Contrast(im).enhance(1.3)),
    "blur": lambda im, r: _jpeg(im.filter(ImageFilter.GaussianBlur(max(1.0, min(im.size) / 200)))),
    "noise sigma=8": lambda im, r: _jpeg(_noise(im, r)),
    "text/emoji overlay": lambda im, r: _jpeg(_overlay(im, r)),
    "watermark": lambda im, r: _jpeg(_watermark(im)),
    "screenshot border": lambda im, r: _jpeg(_screenshot(im)),
    "PNG": lambda im, r: _encode(im, "PNG"),
    "WebP q80": lambda im, r: _encode(im, "WEBP", quality=80),
    "AVIF q60": lambda im, r: _encode(im, "AVIF", quality=60),
    "HEIC q60": lambda im, r: _encode(im, "HEIF", quality=60),
}

#: Edits whose target is >= 99% / >= 95% (DESIGN.md section 9).
TARGET_99 = (
    "jpeg q30",
    "jpeg q50",
    "jpeg q70",
    "jpeg q90",
    "resize 0.5x",
    "resize 1.5x",
    "resize 2x",
    "blur",
    "watermark",
)
TARGET_95 = ("crop 10%", "pad 20%", "rotate 5°")


# ------------------------------------------------------------------ per-photo work


@dataclass
class PhotoResult:
    """Hashes of one photo: what was registered and what the checking side saw per edit."""

    name: str
    reg_labels: list[str] = field(default_factory=list)
    reg_pdq: list[str] = field(default_factory=list)
    reg_quality: list[int] = field(default_factory=list)
    phash: str = ""
    dhash: str = ""
    # edit -> (plain pdq, plain phash, plain dhash, [candidate-dihedral pdq...])
    edits: dict[str, tuple[str, str, str, list[str]]] = field(default_factory=dict)
    # edit -> [(registered label the window may match, pdq hex)] from the checking-side crop search
    windows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    error: str = ""


def _query_candidates(rgb: np.ndarray) -> list[np.ndarray]:
    """What the checking side hashes: the copy as found, border-trimmed, and its content block."""
    out = [rgb]
    for cand in (trim_borders(rgb), content_block(rgb)):
        if all(cand.shape != c.shape or not np.array_equal(cand, c) for c in out):
            out.append(cand)
    return out


def _dihedral(rgb: np.ndarray) -> list[str]:
    vectors, _ = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [bits_to_hex(v) for v in vectors]


def process(job: tuple[int, str, bool]) -> PhotoResult:
    index, path, all_candidates = job
    res = PhotoResult(name=os.path.relpath(path, PHOTOS))
    try:
        data = Path(path).read_bytes()
        rgb = load_rgb(data)
        for h in hash_rgb(rgb):
            if h.signal == "pdq":
                res.reg_labels.append("original")
                res.reg_pdq.append(h.value)
                res.reg_quality.append(h.quality or 0)
            elif h.signal == "phash":
                res.phash = h.value
            else:
                res.dhash = h.value
        specs = CANDIDATE_VARIANTS if all_candidates else REGISTERED_VARIANTS
        for spec in specs:
            value, quality = pdq_rgb(spec.apply(rgb))
            res.reg_labels.append(spec.label)
            res.reg_pdq.append(value)
            res.reg_quality.append(quality)
        trimmed = trim_borders(rgb)
        if trimmed is not rgb:
            value, quality = pdq_rgb(trimmed)
            res.reg_labels.append("trim")
            res.reg_pdq.append(value)
            res.reg_quality.append(quality)
        with Image.open(io.BytesIO(data)) as opened:
            full = ImageOps.exif_transpose(opened).convert("RGB")
        for e_index, (edit_name, edit) in enumerate(EDITS.items()):
            rng = np.random.default_rng([SEED, index, e_index])
            q = load_rgb(edit(full, rng))
            plain = hash_rgb(q)
            cands: list[str] = []
            for cand in _query_candidates(q):
                cands.extend(_dihedral(cand))
            res.edits[edit_name] = (plain[0].value, plain[1].value, plain[2].value, cands)
            res.windows[edit_name] = [
                (str(window_target(h.variant)), h.value) for h in window_hashes(q, plain[0].quality or 0)
            ]
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and carries on
        res.error = f"{type(exc).__name__}: {exc}"
    return res


# ------------------------------------------------------------------ scoring


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between rows of two uint64 matrices (chunked)."""
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int16)
    step = max(1, 20_000_000 // max(1, b.shape[0] * a.shape[1]))
    for s in range(0, a.shape[0], step):
        x = np.bitwise_xor(a[s : s + step, None, :], b[None, :, :])
        out[s : s + step] = np.bitwise_count(x).sum(axis=2)
    return out


def _window_hits(
    ok: list[PhotoResult], edit: str, reg: np.ndarray, owner: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """Which copies a crop-search window matches to their own original, and cross-photo pairs."""
    n = len(ok)
    matched = np.zeros(n, dtype=bool)
    pairs: set[tuple[int, int]] = set()
    for target in sorted({t for r in ok for t, _ in r.windows.get(edit, [])}):
        rows = np.nonzero(labels == target)[0]
        if rows.size == 0:
            continue
        hexes, owners = [], []
        for i, r in enumerate(ok):
            for t, value in r.windows.get(edit, []):
                if t == target:
                    hexes.append(value)
                    owners.append(i)
        wm, wo = hexes_to_matrix(hexes, 64), np.asarray(owners)
        for s in range(0, len(wo), 20_000):
            hit = _dist(wm[s : s + 20_000], reg[rows]) <= PDQ_T
            same = wo[s : s + 20_000, None] == owner[rows][None, :]
            np.logical_or.at(matched, wo[s : s + 20_000], (hit & same).any(axis=1))
            a, b = np.nonzero(hit & ~same)
            pairs |= {(int(x), int(y)) for x, y in zip(wo[s : s + 20_000][a], owner[rows][b], strict=True)}
    return matched, pairs


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def score(results: list[PhotoResult], registered_labels: tuple[str, ...]) -> tuple[list[str], dict[str, object]]:
    """Build the recall table rows and the false-match summary."""
    ok = [r for r in results if not r.error]
    n = len(ok)
    keep_labels = {"original", "trim", *registered_labels}
    # Registered PDQ matrix (trusted quality only) with owner index per row.
    reg_hex, reg_owner, reg_label = [], [], []
    for i, r in enumerate(ok):
        for lab, val, qual in zip(r.reg_labels, r.reg_pdq, r.reg_quality, strict=True):
            if lab in keep_labels and qual >= PDQ_MIN_QUALITY:
                reg_hex.append(val)
                reg_owner.append(i)
                reg_label.append(lab)
    reg = hexes_to_matrix(reg_hex, 64)
    owner = np.asarray(reg_owner)
    orig_pdq = hexes_to_matrix([r.reg_pdq[0] for r in ok], 64)
    orig_q = np.asarray([r.reg_quality[0] for r in ok])
    orig_ph = hexes_to_matrix([r.phash for r in ok], 16)
    orig_dh = hexes_to_matrix([r.dhash for r in ok], 16)

    rows = []
    fm_combined = 0
    fm_plain = {"pdq": 0, "phash": 0, "dhash": 0}
    eye = np.eye(n, dtype=bool)
    for edit in EDITS:
        q_pdq = hexes_to_matrix([r.edits[edit][0] for r in ok], 64)
        q_ph = hexes_to_matrix([r.edits[edit][1] for r in ok], 16)
        q_dh = hexes_to_matrix([r.edits[edit][2] for r in ok], 16)
        d_pdq = _dist(q_pdq, orig_pdq)
        d_ph = _dist(q_ph, orig_ph)
        d_dh = _dist(q_dh, orig_dh)
        trusted = orig_q >= PDQ_MIN_QUALITY
        rec_pdq = int(((np.diag(d_pdq) <= PDQ_T) & trusted).sum())
        rec_ph = int((np.diag(d_ph) <= PHASH_T).sum())
        rec_dh = int((np.diag(d_dh) <= DHASH_T).sum())
        fm_plain["pdq"] += int(((d_pdq <= PDQ_T) & ~eye & trusted[None, :]).sum())
        fm_plain["phash"] += int(((d_ph <= PHASH_T) & ~eye).sum())
        fm_plain["dhash"] += int(((d_dh <= DHASH_T) & ~eye).sum())
        # Combined matcher: every query candidate x dihedral against every registered PDQ.
        q_hex, q_owner = [], []
        for i, r in enumerate(ok):
            q_hex.extend(r.edits[edit][3])
            q_owner.extend([i] * len(r.edits[edit][3]))
        qm = hexes_to_matrix(q_hex, 64)
        qo = np.asarray(q_owner)
        d = _dist(qm, reg)
        hit = d <= PDQ_T
        same = qo[:, None] == owner[None, :]
        matched_self = np.zeros(n, dtype=bool)
        np.logical_or.at(matched_self, qo, (hit & same).any(axis=1))
        # PDQ cannot vouch for a featureless picture; the 64-bit hashes back it up.
        fallback = (np.diag(d_ph) <= PHASH_T) & (np.diag(d_dh) <= DHASH_T)  # both must agree
        cross = hit & ~same
        pairs = {(int(a), int(b)) for a, b in zip(qo[np.nonzero(cross)[0]], owner[np.nonzero(cross)[1]], strict=True)}
        # Crop-search windows, each compared only with the registered crop it stands for (as the
        # matcher does), in chunks: there are a few hundred windows per copy.
        window_self, window_pairs = _window_hits(ok, edit, reg, owner, np.asarray(reg_label))
        matched_self |= window_self
        pairs |= window_pairs
        combined = matched_self | fallback
        fb_pairs = {
            (int(a), int(b)) for a, b in zip(*np.nonzero(((d_ph <= PHASH_T) & (d_dh <= DHASH_T)) & ~eye), strict=True)
        }
        fm_edit = len(pairs | fb_pairs)
        fm_combined += fm_edit
        rows.append(
            f"| {edit} | {_pct(rec_pdq, n)} | {_pct(rec_ph, n)} | {_pct(rec_dh, n)} | "
            f"**{_pct(int(combined.sum()), n)}** | {fm_edit} |"
        )
    # All pairs of distinct originals, per signal.
    pairs_total = n * (n - 1) // 2
    iu = np.triu_indices(n, 1)
    d_o = _dist(orig_pdq, orig_pdq)[iu]
    both_trusted = (orig_q[:, None] >= PDQ_MIN_QUALITY) & (orig_q[None, :] >= PDQ_MIN_QUALITY)
    summary: dict[str, object] = {
        "photos": n,
        "errors": [f"{r.name}: {r.error}" for r in results if r.error],
        "pairs": pairs_total,
        "orig_fm_pdq": int(((d_o <= PDQ_T) & both_trusted[iu]).sum()),
        "orig_min_pdq": int(d_o[both_trusted[iu]].min()) if pairs_total else -1,
        "orig_fm_phash": int((_dist(orig_ph, orig_ph)[iu] <= PHASH_T).sum()),
        "orig_min_phash": int(_dist(orig_ph, orig_ph)[iu].min()) if pairs_total else -1,
        "orig_fm_dhash": int((_dist(orig_dh, orig_dh)[iu] <= DHASH_T).sum()),
        "orig_min_dhash": int(_dist(orig_dh, orig_dh)[iu].min()) if pairs_total else -1,
        "low_quality": int((orig_q < PDQ_MIN_QUALITY).sum()),
        "fm_combined": fm_combined,
        "fm_plain": fm_plain,
        "registered_per_photo": len(reg_hex) / max(1, n),
    }
    return rows, summary


def threshold_study(results: list[PhotoResult]) -> list[str]:
    """Recall vs false matches of pHash/dHash (plain) at each threshold, to choose them."""
    ok = [r for r in results if not r.error]
    n = len(ok)
    eye = np.eye(n, dtype=bool)
    lines = [
        "| threshold | pHash mean recall | pHash false pairs | dHash mean recall | dHash false pairs |",
        "| --- | --- | --- | --- | --- |",
    ]
    origs = {s: hexes_to_matrix([getattr(r, s) for r in ok], 16) for s in ("phash", "dhash")}
    dists: dict[str, list[np.ndarray]] = {"phash": [], "dhash": []}
    for edit in EDITS:
        for k, s in ((1, "phash"), (2, "dhash")):
            dists[s].append(_dist(hexes_to_matrix([str(r.edits[edit][k]) for r in ok], 16), origs[s]))
    for t in range(0, 17, 2):
        cells = []
        for s in ("phash", "dhash"):
            rec = np.mean([np.mean(np.diag(d) <= t) for d in dists[s]])
            fp = sum(int(((d <= t) & ~eye).sum()) for d in dists[s])
            cells += [f"{100 * rec:.1f}%", str(fp)]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


def select(results: list[PhotoResult], budget: int) -> list[str]:
    """Greedy choice of registered variants maximising recall on the geometric edits."""
    ok = [r for r in results if not r.error and r.reg_quality[0] >= PDQ_MIN_QUALITY]
    geo = (
        "crop 5%",
        "crop 10%",
        "crop 20%",
        "rotate 2°",
        "rotate 5°",
        "rotate 10°",
        "pad 20%",
        "letterbox 20%",
        "screenshot border",
        "text/emoji overlay",
    )
    labels = ok[0].reg_labels
    # best[e][p][v]: does variant v of photo p match the edited copy e (any candidate/dihedral)?
    hit = np.zeros((len(geo), len(ok), len(labels)), dtype=bool)
    for p, r in enumerate(ok):
        regm = hexes_to_matrix(r.reg_pdq, 64)
        for e, edit in enumerate(geo):
            d = _dist(hexes_to_matrix(r.edits[edit][3], 64), regm).min(axis=0)
            hit[e, p, : len(labels)] = (d <= PDQ_T)[: len(labels)]
    chosen = [labels.index("original")]
    if "trim" in labels:
        chosen.append(labels.index("trim"))
    lines = ["| step | added | " + " | ".join(geo) + " | mean |", "|" + " --- |" * (len(geo) + 3)]

    def recall(sel: list[int]) -> np.ndarray:
        return np.asarray(hit[:, :, sel].any(axis=2).mean(axis=1))

    r0 = recall(chosen)
    lines.append("| 0 | original | " + " | ".join(f"{100 * x:.1f}" for x in r0) + f" | {100 * r0.mean():.1f} |")
    pool = [i for i, lab in enumerate(labels) if i not in chosen]
    for step in range(1, budget + 1):
        # Crop 10% and rotate 5° carry the 95% targets: weight them double.
        weights = np.asarray([2.0 if g in TARGET_95 else 1.0 for g in geo])
        best = max(pool, key=lambda v: float((recall([*chosen, v]) * weights).sum()))
        chosen.append(best)
        pool.remove(best)
        rr = recall(chosen)
        lines.append(
            f"| {step} | {labels[best]} | " + " | ".join(f"{100 * x:.1f}" for x in rr) + f" | {100 * rr.mean():.1f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos (sorted)")
    parser.add_argument("--smoke", action="store_true", help="40 photos, print only, no doc")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--select", action="store_true", help="evaluate all candidate variants and print a greedy selection"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks/robustness.md")
    args = parser.parse_args()
    limit = 40 if args.smoke else args.limit
    paths = sorted(str(p) for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if limit:
        # Spread the subset over every folder instead of taking the first folder only.
        paths = paths[:: max(1, len(paths) // limit)][:limit]
    command = (
        "python bench/robustness.py" + (f" --limit {limit}" if limit else "") + (" --select" if args.select else "")
    )
    print(f"reproduce: .venv/bin/{command}", file=sys.stderr)
    started = time.time()
    jobs = [(i, p, args.select) for i, p in enumerate(paths)]
    results: list[PhotoResult] = []
    with multiprocessing.Pool(args.workers) as pool:
        for done, res in enumerate(pool.imap(process, jobs, chunksize=4), 1):
            results.append(res)
            if done % 20 == 0 or done == len(jobs):
                print(f"\r{done}/{len(jobs)} photos, {time.time() - started:.0f}s", end="", file=sys.stderr)
    print(file=sys.stderr)
    elapsed = time.time() - started
    if args.select:
        print("\n".join(select(results, 12)))
        print()
        print("\n".join(threshold_study(results)))
        return 0
    rows, summary = score(results, tuple(s.label for s in REGISTERED_VARIANTS))
    table = [
        f"| edit (found copy) | PDQ alone (d<={PDQ_T}) | pHash (d<={PHASH_T}) | dHash (d<={DHASH_T}) "
        "| combined matcher | false pairs (combined) |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    text = render(table, summary, threshold_study(results), command, elapsed)
    print(text)
    if not (args.smoke or args.no_write):
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    return 0


def render(table: list[str], s: dict[str, object], study: list[str], command: str, elapsed: float) -> str:
    labels = ", ".join(spec.label for spec in REGISTERED_VARIANTS)
    errors = s["errors"]
    assert isinstance(errors, list)
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
            f"Photos: {s['photos']} from `../shared/data/photos/` (errors: {len(errors)}); "
            f"run time {elapsed / 60:.1f} min with 2 worker processes.",
            f"Originals with PDQ quality < {PDQ_MIN_QUALITY} (PDQ not trusted, pHash/dHash only): {s['low_quality']}.",
            "",
            "Registering side: PDQ/pHash/dHash of the canonically preprocessed original, PDQ of the",
            f"registered variants ({labels}) and of the border-trimmed original when trimming changes it;",
            f"{s['registered_per_photo']:.2f} trusted PDQ hashes per photo on average.",
            "Checking side: the found copy as is, border-trimmed, and its content block, each in the 8",
            "dihedral orientations (PDQ), plus pHash/dHash of the copy as found.",
            "",
            "Columns: *PDQ alone* = the copy's PDQ against the original's PDQ only (what StopNCII does);",
            "*pHash*, *dHash* = the copy's 64-bit hash against the original's; *combined matcher* = any of",
            "the above or any registered PDQ variant against any checking-side candidate. *False pairs* =",
            "ordered pairs (edited copy of photo B, registered photo A != B) that the combined matcher",
            "would report as a match.",
            "",
            *table,
            "",
            "## False matches over all pairs of distinct originals",
            "",
            f"{s['pairs']:,} unordered pairs of distinct photos.",
            "",
            "| signal | threshold | false pairs | smallest distance between distinct photos |",
            "| --- | --- | --- | --- |",
            f"| PDQ (both quality >= {PDQ_MIN_QUALITY}) | {PDQ_T} | {s['orig_fm_pdq']} | {s['orig_min_pdq']} |",
            f"| pHash | {PHASH_T} | {s['orig_fm_phash']} | {s['orig_min_phash']} |",
            f"| dHash | {DHASH_T} | {s['orig_fm_dhash']} | {s['orig_min_dhash']} |",
            "",
            f"Combined matcher, every edited copy against every other photo's registered hashes: "
            f"**{s['fm_combined']} false pairs** "
            f"(plain single-signal false pairs over the same edits: {s['fm_plain']}).",
            "",
            "## Choosing the pHash/dHash thresholds",
            "",
            "Mean recall over all edits above, and false pairs (edited copy vs other originals), per threshold:",
            "",
            *study,
            "",
            *(["## Errors", "", *[f"- {e}" for e in errors], ""] if errors else []),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
