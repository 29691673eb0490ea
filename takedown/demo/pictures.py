"""The demo's pictures: safe-for-work abstract shapes drawn with Pillow, the same on every run.

Nothing intimate, ever: the demo survivor's "photos" are coloured shapes on a gradient, generated
here (a fresh clone has no test photo collection), busy enough for the perceptual hashes to work.
The demo site serves them and the demo cases register their hashes, so a check finds real matches.
"""

from __future__ import annotations

import io
import random
from functools import cache

from PIL import Image, ImageDraw

SIZE = (640, 480)


@cache
def picture(name: str) -> bytes:
    """A JPEG drawn from `name` (the same name always gives the same bytes)."""
    rng = random.Random(f"takedown-demo:{name}")  # noqa: S311 - a drawing, not a secret: the same every run
    width, height = SIZE
    top = tuple(rng.randrange(40, 220) for _ in range(3))
    bottom = tuple(rng.randrange(40, 220) for _ in range(3))
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    for _ in range(14):
        x0, y0 = rng.randrange(-80, width), rng.randrange(-80, height)
        x1, y1 = x0 + rng.randrange(60, 260), y0 + rng.randrange(60, 220)
        colour = tuple(rng.randrange(0, 256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()
