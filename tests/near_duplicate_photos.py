"""Test photos and the four changes of a near-duplicate: half size, JPEG quality 60, cropped 5 %, 10 % brighter."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL import ImageEnhance

from quiz.demo_images import make_demo_image
from quiz.models import Label

SIZE = (320, 240)
# Generated photos: the flat "no corrosion" surfaces give unstable hashes, the rust blotches do not.
VALIDATION_SEEDS = (1, 2, 3, 4)
OTHER_SEEDS = range(100, 112)


def jpeg(picture: PILImage.Image, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def photo(seed: int) -> PILImage.Image:
    return make_demo_image(Label.CORROSION, seed=seed, size=SIZE)


def half(picture):
    return jpeg(picture.resize((picture.width // 2, picture.height // 2), PILImage.Resampling.LANCZOS))


def quality_60(picture):
    return jpeg(picture, quality=60)


def cropped_5_percent(picture):
    dx, dy = round(picture.width * 0.025), round(picture.height * 0.025)
    return jpeg(picture.crop((dx, dy, picture.width - dx, picture.height - dy)))


def brighter_10_percent(picture):
    return jpeg(ImageEnhance.Brightness(picture).enhance(1.1))


CHANGES = [half, quality_60, cropped_5_percent, brighter_10_percent]
