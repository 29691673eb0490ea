"""Edits people make before re-posting a picture, for the robustness benchmark (issue 17).

Each family has several variants with random parameters (angles, fills, crop boxes, fonts, text,
sticker shapes and positions, screenshot layouts). Every edit takes the full-resolution original
(PIL RGB), a seeded ``numpy`` generator and a *draw*:

- ``"tune"``: the parameter distributions the shipped thresholds and variants were chosen on;
- ``"check"``: drawn differently on purpose (other distributions, fonts, colours, layouts, an
  extra rescale, other encoders), to re-check that nothing was tuned to one way of editing.

and returns the bytes of the edited file, as a copy found online would arrive. Nothing here
knows how the matcher works: the edits are written from what editors, phones and apps do.

Families (what the parameters are, per draw):

- rotation, canvas grown: |angle| uniform in [1, 15] degrees (either sign), the canvas grown to
  hold the whole picture (PIL ``expand=True``), corners filled black, white, a random colour or
  left transparent (saved as PNG/WebP with alpha); bilinear or bicubic. *check*: angles from a
  triangular distribution peaking at 15, other fills (greys, dark blue, blurred-edge colours),
  then resized by 0.5-1.2 and saved at JPEG quality 60-80.
- rotation, straightened (cropped inward): rotate about the centre, then crop to the largest
  upright rectangle, either keeping the aspect ratio (phone "straighten") or of the largest area.
  *check*: 0-1.5% extra inward crop (some apps zoom a little more) and a resize.
- heavy crops: the same share of each side removed at a random position (20%, 30%), crops
  of 10-30% per axis with independent amounts and positions, centred crops, and one-axis crops
  (to a square or to 4:5 as feeds do). *check*: off-grid amounts, other encoders.
- overlays covering up to 20% of the picture: caption bands (solid or semi-opaque, top or bottom,
  8-20% of the height, text inside), text strips (outlined caption text without band), stickers
  and emoji (1-5 shapes at random places, 5-20% of the area), and a meme (top and bottom text
  plus a sticker). *check*: other fonts, bands in other colours, stickers over the centre.
- screenshots: the picture scaled into a phone post (status bar, header, caption, navigation
  bar; light or dark), a browser window (tabs, address bar, a sidebar of text and thumbnails),
  an image viewer (dark surround, toolbar) and a chat bubble with rounded corners. *check*:
  other layouts (a grid of tiles beside the picture, a desktop with a window border), PNG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Draw = Literal["tune", "check"]
Edit = Callable[[Image.Image, np.random.Generator, Draw], bytes]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TUNE_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf")
CHECK_FONTS = ("DejaVuSansCondensed-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif-Italic.ttf")
WORDS = (
    "omg",
    "look",
    "who",
    "this",
    "is",
    "lol",
    "#exposed",
    "#leak",
    "she",
    "he",
    "told",
    "me",
    "not",
    "to",
    "share",
    "new",
    "pics",
    "full",
    "set",
    "link",
    "in",
    "bio",
    "😂",
    "wow",
    "2024",
    "@user_123",
)


# ------------------------------------------------------------------ helpers


def encode(im: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG" and im.mode != "RGB":
        im = im.convert("RGB")
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _jpeg(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    quality = int(rng.integers(75, 96)) if draw == "tune" else int(rng.integers(60, 81))
    return encode(im, "JPEG", quality=quality)


def _rescale(im: Image.Image, low: float, high: float, rng: np.random.Generator) -> Image.Image:
    factor = float(rng.uniform(low, high))
    size = (max(16, round(im.size[0] * factor)), max(16, round(im.size[1] * factor)))
    return im.resize(size, Image.Resampling.LANCZOS)


@lru_cache(maxsize=64)
def _font_file(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _font(rng: np.random.Generator, draw: Draw, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    names = TUNE_FONTS if draw == "tune" else CHECK_FONTS
    return _font_file(names[int(rng.integers(0, len(names)))], max(8, size))


def _text(rng: np.random.Generator, words: int) -> str:
    return " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), words)).replace("😂", "xD")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return (int(rng.integers(0, 256)), int(rng.integers(0, 256)), int(rng.integers(0, 256)))


def _angle(rng: np.random.Generator, draw: Draw, low: float = 1.0, high: float = 15.0) -> float:
    """A signed angle in degrees, |angle| in [low, high]."""
    size = float(rng.uniform(low, high)) if draw == "tune" else float(rng.triangular(low, high, high))
    return size if rng.random() < 0.5 else -size


# ------------------------------------------------------------------ rotations


def rotate_grown(im: Image.Image, rng: np.random.Generator, draw: Draw, low: float = 1.0, high: float = 15.0) -> bytes:
    """Rotate with the canvas grown to hold the whole picture; the corners are filled."""
    angle = _angle(rng, draw, low, high)
    resample = Image.Resampling.BICUBIC if rng.random() < 0.5 else Image.Resampling.BILINEAR
    fills: list[tuple[int, ...] | None]
    if draw == "tune":
        fills = [(0, 0, 0), (255, 255, 255), _colour(rng), None]
    else:
        grey = int(rng.integers(30, 230))
        fills = [(grey, grey, grey), (20, 30, 70), _colour(rng), None]
    fill = fills[int(rng.integers(0, len(fills)))]
    if fill is None:  # transparency: the corners stay transparent in a PNG/WebP
        out = im.convert("RGBA").rotate(angle, resample=resample, expand=True, fillcolor=(0, 0, 0, 0))
        if draw == "check":
            out = _rescale(out, 0.5, 1.2, rng)
        return encode(out, "PNG") if rng.random() < 0.5 else encode(out, "WEBP", quality=85)
    out = im.rotate(angle, resample=resample, expand=True, fillcolor=fill)
    if draw == "check":
        out = _rescale(out, 0.5, 1.2, rng)
    return _jpeg(out, rng, draw)


def largest_rectangle(width: int, height: int, degrees: float, keep_aspect: bool) -> tuple[float, float]:
    """Width and height of the largest upright rectangle inside a width x height picture
    rotated by ``degrees`` about its centre (same aspect ratio, or the largest area)."""
    t = math.radians(abs(degrees))
    c, s = math.cos(t), math.sin(t)
    if keep_aspect:
        scale = min(1 / (c + (width / height) * s), 1 / (c + (height / width) * s))
        return width * scale, height * scale
    long, short = max(width, height), min(width, height)
    if short <= 2 * s * c * long or abs(s - c) < 1e-10:
        x = 0.5 * short
        wr, hr = (x / s, x / c) if width >= height else (x / c, x / s)
    else:
        cos2 = c * c - s * s
        wr, hr = (width * c - height * s) / cos2, (height * c - width * s) / cos2
    return wr, hr


def straighten(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """Rotate about the centre and crop inward to the largest upright rectangle."""
    angle = _angle(rng, draw)
    keep_aspect = rng.random() < 0.5
    resample = Image.Resampling.BICUBIC if rng.random() < 0.5 else Image.Resampling.BILINEAR
    w, h = im.size
    rotated = im.rotate(angle, resample=resample)
    cw, ch = largest_rectangle(w, h, angle, keep_aspect)
    if draw == "check":
        extra = 1 - float(rng.uniform(0, 0.015))
        cw, ch = cw * extra, ch * extra
    left, top = (w - cw) / 2, (h - ch) / 2
    out = rotated.crop((math.ceil(left), math.ceil(top), math.floor(left + cw), math.floor(top + ch)))
    if draw == "check":
        out = _rescale(out, 0.6, 1.2, rng)
    return _jpeg(out, rng, draw)


# ------------------------------------------------------------------ crops


def _crop_box(
    w: int, h: int, keep_x: float, keep_y: float, rng: np.random.Generator, centred: bool
) -> tuple[int, int, int, int]:
    cw, ch = round(w * keep_x), round(h * keep_y)
    if centred:
        left, top = (w - cw) // 2, (h - ch) // 2
    else:
        left, top = round((w - cw) * rng.random()), round((h - ch) * rng.random())
    return (left, top, left + cw, top + ch)


def crop_fixed(percent: float) -> Edit:
    """The same share of each dimension removed, at a random position (off-centre)."""

    def edit(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
        keep = 1 - percent / 100
        if draw == "check":
            keep *= float(rng.uniform(0.99, 1.01))
        return _crop_out(im, im.crop(_crop_box(*im.size, keep, keep, rng, False)), rng, draw)

    return edit


def crop_any(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """10-30% of each dimension, amounts and positions drawn independently per axis."""
    kx, ky = 1 - float(rng.uniform(0.10, 0.30)), 1 - float(rng.uniform(0.10, 0.30))
    if draw == "check":
        ky = min(1.0, max(0.7, kx * float(rng.uniform(0.9, 1.1))))
    return _crop_out(im, im.crop(_crop_box(*im.size, kx, ky, rng, False)), rng, draw)


def crop_centred(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """A centred crop of 10-30% of each dimension (zoom in)."""
    keep = 1 - float(rng.uniform(0.10, 0.30))
    return _crop_out(im, im.crop(_crop_box(*im.size, keep, keep, rng, True)), rng, draw)


def crop_one_axis(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """Crop the long side to a square, 4:5 or 1:1.2 as feeds do (at most 30% of it), anywhere."""
    w, h = im.size
    ratios = (1.0, 0.8, 1 / 1.2) if draw == "tune" else (0.9, 0.75, 1.0)
    ratio = ratios[int(rng.integers(0, len(ratios)))]
    if w >= h:
        keep = max(0.7, min(1.0, h / ratio / w)) if ratio != 1.0 else max(0.7, h / w)
        box = _crop_box(w, h, keep, 1.0, rng, rng.random() < 0.4)
    else:
        keep = max(0.7, min(1.0, w / ratio / h)) if ratio != 1.0 else max(0.7, w / h)
        box = _crop_box(w, h, 1.0, keep, rng, rng.random() < 0.4)
    return _crop_out(im, im.crop(box), rng, draw)


def _crop_out(im: Image.Image, out: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    if draw == "check":
        out = _rescale(out, 0.6, 1.3, rng)
        if rng.random() < 0.3:
            return encode(out, "WEBP", quality=80)
    return _jpeg(out, rng, draw)


# ------------------------------------------------------------------ overlays


def _fit_text(
    draw_: ImageDraw.ImageDraw, text: str, width: float, height: float, rng: np.random.Generator, draw: Draw
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = max(8, int(height))
    font = _font(rng, draw, size)
    while size > 8:
        box = draw_.textbbox((0, 0), text, font=font)
        if box[2] - box[0] <= width and box[3] - box[1] <= height:
            break
        size = int(size * 0.9)
        font = _font(rng, draw, size)
    return font


def caption_band(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """A band over the top or bottom (or both, at most 20% of the height in all) with text."""
    out = im.convert("RGBA")
    w, h = out.size
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    where = ("top", "bottom", "both")[int(rng.integers(0, 3))]
    total = float(rng.uniform(0.08, 0.20))
    if draw == "tune":
        colours = [(0, 0, 0), (255, 255, 255), _colour(rng)]
        alpha = 255
    else:
        colours = [(200, 30, 30), (20, 20, 90), _colour(rng)]
        alpha = int(rng.choice([255, 255, 220, 190]))
    band_colour = colours[int(rng.integers(0, len(colours)))]
    text_colour = (255, 255, 255) if sum(band_colour) < 380 else (0, 0, 0)
    bands = []
    if where == "both":
        top_share = total * float(rng.uniform(0.3, 0.7))
        bands = [(0, round(h * top_share)), (h - round(h * (total - top_share)), h)]
    elif where == "top":
        bands = [(0, round(h * total))]
    else:
        bands = [(h - round(h * total), h)]
    for y0, y1 in bands:
        d.rectangle((0, y0, w, y1), fill=(*band_colour, alpha))
        text = _text(rng, int(rng.integers(2, 7)))
        font = _fit_text(d, text, w * 0.92, (y1 - y0) * 0.7, rng, draw)
        box = d.textbbox((0, 0), text, font=font)
        x = (w - (box[2] - box[0])) * float(rng.uniform(0.0, 1.0) if rng.random() < 0.3 else 0.5)
        y = y0 + ((y1 - y0) - (box[3] - box[1])) / 2 - box[1]
        d.text((x, y), text, font=font, fill=(*text_colour, 255))
    return _jpeg(Image.alpha_composite(out, layer).convert("RGB"), rng, draw)


def text_strip(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """Large outlined caption text over the picture (no band), top and/or bottom."""
    out = im.copy()
    w, h = out.size
    d = ImageDraw.Draw(out)
    lines = int(rng.integers(1, 3))
    positions = [0.03, 0.82] if lines == 2 else [float(rng.choice([0.03, 0.84]))]
    fill = (255, 255, 255) if draw == "tune" else _colour(rng)
    for y in positions:
        text = _text(rng, int(rng.integers(2, 6))).upper()
        font = _fit_text(d, text, w * 0.94, h * float(rng.uniform(0.07, 0.12)), rng, draw)
        box = d.textbbox((0, 0), text, font=font)
        x = (w - (box[2] - box[0])) / 2
        d.text((x, h * y), text, font=font, fill=fill, stroke_width=max(1, h // 150), stroke_fill=(0, 0, 0))
    return _jpeg(out, rng, draw)


def _sticker(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, rng: np.random.Generator) -> None:
    """An emoji-like sticker: a smiley, a heart, a star, a solid disc or a labelled badge."""
    kind = int(rng.integers(0, 5))
    colour = [(255, 204, 0), (230, 40, 60), (255, 140, 0), _colour(rng), (40, 120, 255)][kind]
    if kind == 0:  # smiley
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(90, 60, 0), width=max(1, int(r / 12)))
        d.ellipse((cx - r / 2, cy - r / 3, cx - r / 4, cy), fill=(60, 40, 0))
        d.ellipse((cx + r / 4, cy - r / 3, cx + r / 2, cy), fill=(60, 40, 0))
        d.arc((cx - r / 2, cy - r / 6, cx + r / 2, cy + r / 2), 20, 160, fill=(60, 40, 0), width=max(1, int(r / 8)))
    elif kind == 1:  # heart
        d.ellipse((cx - r, cy - r * 0.8, cx, cy + r * 0.2), fill=colour)
        d.ellipse((cx, cy - r * 0.8, cx + r, cy + r * 0.2), fill=colour)
        d.polygon([(cx - r * 0.97, cy - r * 0.15), (cx + r * 0.97, cy - r * 0.15), (cx, cy + r)], fill=colour)
    elif kind == 2:  # star
        points = []
        for i in range(10):
            rad = r if i % 2 == 0 else r * 0.45
            a = math.pi / 2 + i * math.pi / 5
            points.append((cx + rad * math.cos(a), cy - rad * math.sin(a)))
        d.polygon(points, fill=colour, outline=(0, 0, 0))
    elif kind == 3:  # solid disc (a blur-free "censor" dot)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:  # badge with a word
        d.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=r / 4, fill=colour)
        font = _font_file("DejaVuSans-Bold.ttf", max(8, int(r * 0.5)))
        d.text((cx - r * 0.8, cy - r * 0.35), "NEW", font=font, fill=(255, 255, 255))


def stickers(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """1-5 stickers covering 5-20% of the picture in all, at random places."""
    out = im.copy()
    w, h = out.size
    d = ImageDraw.Draw(out)
    count = int(rng.integers(1, 6))
    area = float(rng.uniform(0.05, 0.20)) * w * h
    # A disc of radius r covers pi r^2; shapes cover a bit less than their disc.
    r = math.sqrt(area / count / math.pi)
    for _ in range(count):
        if draw == "check" and rng.random() < 0.5:  # over the middle, where a face or body is
            cx, cy = w * float(rng.uniform(0.35, 0.65)), h * float(rng.uniform(0.35, 0.65))
        else:
            cx, cy = float(rng.uniform(r, max(r + 1, w - r))), float(rng.uniform(r, max(r + 1, h - r)))
        _sticker(d, cx, cy, r, rng)
    return _jpeg(out, rng, draw)


def meme(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """Outlined text at the top and the bottom and one sticker (about 10-20% covered)."""
    out = im.copy()
    w, h = out.size
    d = ImageDraw.Draw(out)
    for y in (0.02, 0.86):
        text = _text(rng, int(rng.integers(2, 5))).upper()
        font = _fit_text(d, text, w * 0.9, h * 0.09, rng, draw)
        box = d.textbbox((0, 0), text, font=font)
        d.text(((w - (box[2] - box[0])) / 2, h * y), text, font=font, fill="white", stroke_width=2, stroke_fill="black")
    r = math.sqrt(float(rng.uniform(0.02, 0.06)) * w * h / math.pi)
    _sticker(d, float(rng.uniform(r, w - r)), float(rng.uniform(h * 0.3, h * 0.7)), r, rng)
    return _jpeg(out, rng, draw)


# ------------------------------------------------------------------ screenshots


def _lines(
    d: ImageDraw.ImageDraw, x: float, y: float, width: float, size: int, n: int, colour: tuple[int, ...]
) -> None:
    """n lines of grey 'text' blocks, as a page's paragraphs look at a distance."""
    for i in range(n):
        d.rounded_rectangle(
            (x, y + i * size * 1.6, x + width * (0.6 + 0.4 * ((i * 7) % 5) / 5), y + i * size * 1.6 + size),
            radius=size / 3,
            fill=colour,
        )


def _thumb(canvas: Image.Image, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """Other content: a smooth gradient tile with a shape (not a photo of the set)."""
    x0, y0, x1, y1 = box
    tw, th = max(1, x1 - x0), max(1, y1 - y0)
    a, b = np.asarray(_colour(rng), float), np.asarray(_colour(rng), float)
    t = np.linspace(0, 1, tw)[None, :, None] * np.ones((th, 1, 1))
    tile = Image.fromarray((a * (1 - t) + b * t).astype(np.uint8))
    ImageDraw.Draw(tile).ellipse((tw * 0.3, th * 0.3, tw * 0.7, th * 0.7), fill=_colour(rng))
    canvas.paste(tile, (x0, y0))


def _phone(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    sw = int(rng.choice([720, 1080, 1170]))
    sh = int(sw * float(rng.uniform(1.9, 2.2)))
    dark = rng.random() < 0.5
    bg, fg, sub = (
        ((0, 0, 0), (245, 245, 245), (60, 60, 60)) if dark else ((255, 255, 255), (20, 20, 20), (220, 220, 220))
    )
    canvas = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(canvas)
    bar = int(sw * 0.07)
    d.text((sw * 0.05, bar * 0.25), "9:41", font=_font_file("DejaVuSans-Bold.ttf", int(bar * 0.45)), fill=fg)
    d.rectangle((sw * 0.85, bar * 0.35, sw * 0.93, bar * 0.65), fill=fg)
    header = int(sw * 0.14)
    d.ellipse((sw * 0.04, bar + header * 0.2, sw * 0.04 + header * 0.6, bar + header * 0.8), fill=_colour(rng))
    d.text(
        (sw * 0.2, bar + header * 0.3),
        "someone_posted",
        font=_font_file("DejaVuSans-Bold.ttf", int(header * 0.28)),
        fill=fg,
    )
    margin = 0 if rng.random() < 0.6 else int(sw * 0.03)
    pw = sw - 2 * margin
    ph = round(im.size[1] * pw / im.size[0])
    ph = min(ph, int(sh * 0.62))
    pw2 = round(im.size[0] * ph / im.size[1])
    pic = im.resize((pw2, ph), Image.Resampling.LANCZOS)
    top = bar + header
    canvas.paste(pic, ((sw - pw2) // 2, top))
    y = top + ph + int(sw * 0.03)
    for i in range(4):
        cx = sw * (0.06 + 0.1 * i)
        d.ellipse((cx, y, cx + sw * 0.06, y + sw * 0.06), outline=fg, width=3)
    d.text((sw * 0.05, y + sw * 0.1), "1,024 likes", font=_font_file("DejaVuSans-Bold.ttf", int(sw * 0.035)), fill=fg)
    _lines(d, sw * 0.05, y + sw * 0.17, sw * 0.9, int(sw * 0.03), 3, sub)
    nav = int(sw * 0.13)
    d.rectangle((0, sh - nav, sw, sh), fill=bg)
    d.line((0, sh - nav, sw, sh - nav), fill=sub, width=2)
    for i in range(5):
        cx = sw * (0.1 + 0.2 * i)
        d.rounded_rectangle(
            (cx - nav * 0.18, sh - nav * 0.7, cx + nav * 0.18, sh - nav * 0.34), radius=6, outline=fg, width=3
        )
    return canvas


def _browser(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    sw, sh = [(1366, 768), (1920, 1080), (1440, 900)][int(rng.integers(0, 3))]
    dark = rng.random() < 0.3
    page = (32, 33, 36) if dark else (255, 255, 255)
    chrome = (53, 54, 58) if dark else (222, 225, 230)
    fg = (232, 234, 237) if dark else (32, 33, 36)
    sub = (80, 80, 84) if dark else (210, 210, 214)
    canvas = Image.new("RGB", (sw, sh), page)
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, sw, 80), fill=chrome)
    d.rounded_rectangle((10, 8, 260, 40), radius=8, fill=page)
    d.text((24, 14), "photo - site", font=_font_file("DejaVuSans.ttf", 16), fill=fg)
    d.rounded_rectangle((110, 46, sw - 120, 74), radius=14, fill=page)
    d.text((130, 50), "https://example.com/p/8123", font=_font_file("DejaVuSans.ttf", 16), fill=fg)
    side = int(sw * float(rng.uniform(0.22, 0.3)))
    # The picture in the main column, scaled to fit; a sidebar of text and thumbnails on the right.
    col_w, col_h = sw - side - 80, sh - 80 - 120
    scale = min(col_w / im.size[0], col_h / im.size[1]) * float(rng.uniform(0.7, 1.0))
    pw, ph = max(16, round(im.size[0] * scale)), max(16, round(im.size[1] * scale))
    x0 = 40 + (col_w - pw) // 2
    y0 = 80 + 70
    d.text((40, 100), "Posted 3 hours ago", font=_font_file("DejaVuSans-Bold.ttf", 22), fill=fg)
    canvas.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (x0, y0))
    _lines(d, 40, y0 + ph + 20, col_w, 14, 3, sub)
    sx = sw - side
    for i in range(3):
        ty = 110 + i * 190
        _thumb(canvas, (sx, ty, sx + side // 2 - 10, ty + 150), rng)
        _lines(d, sx + side // 2, ty + 10, side // 2 - 30, 12, 4, sub)
    return canvas


def _viewer(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    sw, sh = [(1280, 800), (1920, 1080)][int(rng.integers(0, 2))]
    grey = int(rng.integers(10, 60))
    canvas = Image.new("RGB", (sw, sh), (grey, grey, grey))
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, sw, 48), fill=(grey + 20, grey + 20, grey + 20))
    for i in range(6):
        d.rounded_rectangle((20 + i * 44, 10, 48 + i * 44, 38), radius=4, outline=(200, 200, 200), width=2)
    d.text((sw // 2 - 60, 14), "IMG_2041.JPG", font=_font_file("DejaVuSans.ttf", 16), fill=(220, 220, 220))
    scale = min((sw - 80) / im.size[0], (sh - 140) / im.size[1]) * float(rng.uniform(0.6, 1.0))
    pw, ph = max(16, round(im.size[0] * scale)), max(16, round(im.size[1] * scale))
    canvas.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), ((sw - pw) // 2, 48 + (sh - 48 - ph) // 2))
    return canvas


def _chat(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    sw = 1080
    sh = int(sw * 2.0)
    bg = (236, 229, 221) if rng.random() < 0.5 else (17, 27, 33)
    canvas = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, sw, 200), fill=(0, 128, 105))
    d.text((160, 90), "Group chat", font=_font_file("DejaVuSans-Bold.ttf", 44), fill=(255, 255, 255))
    d.rounded_rectangle((40, 260, 700, 380), radius=24, fill=(255, 255, 255))
    d.text((70, 295), "did you see this??", font=_font_file("DejaVuSans.ttf", 40), fill=(0, 0, 0))
    pw = int(sw * float(rng.uniform(0.6, 0.75)))
    ph = min(round(im.size[1] * pw / im.size[0]), 1200)
    pw = round(im.size[0] * ph / im.size[1])
    x0, y0 = sw - pw - 50, 440
    bubble = (220, 248, 198)
    d.rounded_rectangle((x0 - 10, y0 - 10, x0 + pw + 10, y0 + ph + 60), radius=28, fill=bubble)
    pic = im.resize((pw, ph), Image.Resampling.LANCZOS)
    mask = Image.new("L", (pw, ph), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, pw, ph), radius=int(min(pw, ph) * 0.04), fill=255)
    canvas.paste(pic, (x0, y0), mask)
    d.text((x0 + pw - 120, y0 + ph + 12), "21:07 ✓✓", font=_font_file("DejaVuSans.ttf", 28), fill=(90, 90, 90))
    d.rectangle((0, sh - 140, sw, sh), fill=(240, 240, 240))
    d.rounded_rectangle((30, sh - 115, sw - 150, sh - 30), radius=40, fill=(255, 255, 255))
    return canvas


def _grid_page(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    """(check draw) A gallery page: the picture large on the left, a grid of tiles on the right."""
    sw, sh = 1600, 1000
    canvas = Image.new("RGB", (sw, sh), (245, 245, 245))
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, sw, 64), fill=(30, 30, 30))
    d.text((24, 18), "gallery", font=_font_file("DejaVuSansMono-Bold.ttf", 26), fill=(255, 255, 255))
    scale = min(900 / im.size[0], 850 / im.size[1])
    pw, ph = max(16, round(im.size[0] * scale)), max(16, round(im.size[1] * scale))
    canvas.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (30, 90))
    for r in range(4):
        for c in range(3):
            x, y = 980 + c * 200, 90 + r * 200
            _thumb(canvas, (x, y, x + 180, y + 180), rng)
    return canvas


def _desktop(im: Image.Image, rng: np.random.Generator, draw: Draw) -> Image.Image:
    """(check draw) A desktop with a window holding the picture, window border and title bar."""
    sw, sh = 1920, 1080
    canvas = Image.new("RGB", (sw, sh), (0, 0, 0))
    _thumb(canvas, (0, 0, sw, sh), rng)  # wallpaper gradient
    d = ImageDraw.Draw(canvas)
    scale = min(1400 / im.size[0], 850 / im.size[1]) * float(rng.uniform(0.7, 1.0))
    pw, ph = max(16, round(im.size[0] * scale)), max(16, round(im.size[1] * scale))
    x0, y0 = int(rng.integers(40, sw - pw - 40)), int(rng.integers(90, max(91, sh - ph - 60)))
    d.rectangle((x0 - 3, y0 - 40, x0 + pw + 3, y0 + ph + 3), fill=(60, 60, 60))
    d.text((x0 + 10, y0 - 32), "Preview", font=_font_file("DejaVuSans.ttf", 20), fill=(230, 230, 230))
    canvas.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (x0, y0))
    d.rectangle((0, sh - 48, sw, sh), fill=(20, 20, 30))
    return canvas


def screenshot(im: Image.Image, rng: np.random.Generator, draw: Draw) -> bytes:
    """The picture scaled into app or browser chrome, saved as a screenshot (PNG or JPEG)."""
    layouts = (_phone, _browser, _viewer, _chat) if draw == "tune" else (_phone, _grid_page, _desktop, _chat)
    shot = layouts[int(rng.integers(0, len(layouts)))](im, rng, draw)
    if draw == "check" and rng.random() < 0.5:
        shot = _rescale(shot, 0.5, 0.8, rng)
    if rng.random() < 0.5:
        return encode(shot, "PNG", compress_level=1)
    return _jpeg(shot, rng, draw)


def _blurred_edges(im: Image.Image) -> Image.Image:  # pragma: no cover - kept for experiments
    return im.filter(ImageFilter.GaussianBlur(2))


#: The new families of issue 17: name -> (family, edit).
FAMILY_EDITS: dict[str, tuple[str, Edit]] = {
    "rotate 1-5°, canvas grown": ("rotation (grown)", lambda im, r, d: rotate_grown(im, r, d, 1, 5)),
    "rotate 5-10°, canvas grown": ("rotation (grown)", lambda im, r, d: rotate_grown(im, r, d, 5, 10)),
    "rotate 10-15°, canvas grown": ("rotation (grown)", lambda im, r, d: rotate_grown(im, r, d, 10, 15)),
    "straighten 1-15° (cropped inward)": ("rotation (straightened)", straighten),
    "crop 20% (off-centre)": ("crop up to 30%", crop_fixed(20)),
    "crop 30% (off-centre)": ("crop up to 30%", crop_fixed(30)),
    "crop 10-30% per axis": ("crop up to 30%", crop_any),
    "crop 10-30% centred": ("crop up to 30%", crop_centred),
    "crop one side (square, 4:5)": ("crop up to 30%", crop_one_axis),
    "caption band": ("overlay up to 20%", caption_band),
    "text strip": ("overlay up to 20%", text_strip),
    "stickers / emoji": ("overlay up to 20%", stickers),
    "meme text + sticker": ("overlay up to 20%", meme),
    "screenshot": ("screenshot", screenshot),
}
