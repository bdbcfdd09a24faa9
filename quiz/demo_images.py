"""Synthetic photos for demos and tests.

The real image set has no redistribution licence, so a fresh checkout and the
test suite make their own pictures: rust-coloured blotches on grey steel for
"corrosion", clean painted or brushed surfaces for "no_corrosion". They are
deliberately easy to tell apart so a tiny model can learn them in one epoch.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter

CORROSION = "corrosion"
NO_CORROSION = "no_corrosion"


def make_demo_image(label: str, seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    if label not in (CORROSION, NO_CORROSION):
        raise ValueError(f"unknown label {label!r}")
    rng = random.Random(f"{label}:{seed}")
    width, height = size
    base = _clean_surface(rng, width, height)
    if label == CORROSION:
        _add_rust(rng, base)
    return base.filter(ImageFilter.GaussianBlur(radius=0.6))


def _clean_surface(rng: random.Random, width: int, height: int) -> Image.Image:
    grey = rng.randint(90, 200)
    tint = rng.choice([(0, 0, 0), (0, 10, 30), (10, 10, 10), (-10, 0, 20)])
    colour = tuple(max(0, min(255, grey + t)) for t in tint)
    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    # Brushed-metal streaks so "no corrosion" is not a flat colour.
    for _ in range(rng.randint(10, 30)):
        y = rng.randrange(height)
        shade = max(0, min(255, grey + rng.randint(-25, 25)))
        draw.line([(0, y), (width, y + rng.randint(-3, 3))], fill=(shade, shade, shade + 5), width=1)
    return img


def _add_rust(rng: random.Random, img: Image.Image) -> None:
    draw = ImageDraw.Draw(img)
    width, height = img.size
    for _ in range(rng.randint(4, 9)):
        cx, cy = rng.randrange(width), rng.randrange(height)
        r = rng.randint(max(4, width // 12), max(6, width // 4))
        rust = (rng.randint(130, 190), rng.randint(55, 90), rng.randint(10, 35))
        draw.ellipse([cx - r, cy - r // 2, cx + r, cy + r // 2], fill=rust)
        for _ in range(12):
            px, py = cx + rng.randint(-r, r), cy + rng.randint(-r, r)
            dot = rng.randint(1, 4)
            draw.ellipse([px - dot, py - dot, px + dot, py + dot], fill=(90, 40, 15))
