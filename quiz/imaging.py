"""Decoding and checking image files with Pillow, before anything is stored.

Never trust a file name or a Content-Type: the format is what Pillow finds when
it decodes the bytes, limited to the formats we serve, and the pixel count is
checked before the full decode so a decompression bomb is refused cheaply.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.apps import apps
from django.utils.translation import gettext
from PIL import Image as PILImage
from PIL import ImageOps

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Pillow names a JPEG that carries secondary images (MPF: the HDR gain map or depth map of many recent
# phone cameras) "MPO". Its first image is an ordinary JPEG, the photo itself; only that one is ever
# decoded, and the re-encode of uploads keeps only it.
SAME_FORMAT = {"MPO": "JPEG"}


class InvalidImage(ValueError):
    """The bytes are not an image we accept; the message is safe to show to the user.

    `code` says why: empty, unsupported (not JPEG/PNG/WebP), corrupt, or too_large (pixels).
    """

    def __init__(self, message: str, code: str = "corrupt"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _(message: str) -> str:
    """The message in the active language; English in the import and backfill pools' child processes, which
    decode photos without Django set up (translations need the app registry)."""
    return gettext(message) if apps.ready else message


def _undecodable(exc: Exception) -> str:
    return _("The image could not be decoded (%(error)s).") % {"error": exc.__class__.__name__}


def inspect_image(data: bytes, *, max_pixels: int) -> ImageInfo:
    if not data:
        raise InvalidImage(_("The file is empty."), code="empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise InvalidImage(
                        _("The image is too large: %(width)d×%(height)d pixels (at most %(max)s pixels).")
                        % {"width": width, "height": height, "max": f"{max_pixels:,}"},
                        code="too_large",
                    )
                image_format = SAME_FORMAT.get(img.format, img.format)
                # load() decodes every pixel: truncated or corrupt data fails here, not later.
                img.load()
    except InvalidImage:
        raise
    except PILImage.UnidentifiedImageError:
        raise InvalidImage(_("The file is not a JPEG, PNG or WebP image."), code="unsupported") from None
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise InvalidImage(_("The image is too large to decode safely."), code="too_large") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(_undecodable(exc)) from None
    if image_format not in ALLOWED_FORMATS:
        raise InvalidImage(_("The file is not a JPEG, PNG or WebP image."), code="unsupported")
    return ImageInfo(format=image_format, width=width, height=height, sha256=sha256_of(data))


@dataclass(frozen=True)
class CleanedImage:
    data: bytes
    info: ImageInfo


def clean_photo(data: bytes, *, max_pixels: int, max_side: int, quality: int = 90) -> CleanedImage:
    """Check an untrusted photo, then re-encode it so that nothing but pixels survives.

    EXIF orientation is applied first (so the picture looks as the phone showed it),
    then the image is converted to RGB, shrunk to `max_side` and saved as a fresh JPEG
    without EXIF, GPS, ICC or text chunks.
    """
    inspect_image(data, max_pixels=max_pixels)
    try:
        with PILImage.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            img = ImageOps.exif_transpose(img)
            img = _flatten_to_rgb(img)
            img.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
            # Pillow's JPEG writer copies a decoded JPEG comment (COM) from `info` into the new file.
            img.info = {}
            buffer = io.BytesIO()
            img.save(buffer, format="JPEG", quality=quality, optimize=True)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(_undecodable(exc)) from None
    cleaned = buffer.getvalue()
    width, height = img.size
    return CleanedImage(
        data=cleaned, info=ImageInfo(format="JPEG", width=width, height=height, sha256=sha256_of(cleaned))
    )


def _flatten_to_rgb(img: PILImage.Image) -> PILImage.Image:
    # Transparent pixels become white rather than whatever colour the encoder left behind them.
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def image_files(directory: str | os.PathLike) -> list[Path]:
    """Every image file under DIRECTORY, recursively, by name suffix, sorted."""
    return sorted(
        path for path in Path(directory).rglob("*") if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


def image_folder_files(directory: str | os.PathLike, labels: Sequence[str]) -> list[tuple[Path, str]]:
    """(path, label) of an ImageFolder tree, DIRECTORY/<label>/..., in the order of LABELS (a missing folder: none).

    The order is part of the result: training shuffles with a seeded generator, so the same files in
    another order would train another model.
    """
    return [(path, label) for label in labels for path in image_files(Path(directory) / label)]


def sha256_of(data: bytes) -> str:
    """The one content hash of the project: image, thumbnail and heatmap names, model files."""
    return hashlib.sha256(data).hexdigest()


def read_and_inspect(args: tuple[str, int]) -> tuple[str, bytes | None, ImageInfo | str]:
    """Read and check one file; made for process pools (plain arguments, no Django)."""
    path, max_pixels = args
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return path, data, inspect_image(data, max_pixels=max_pixels)
    except (OSError, InvalidImage) as exc:
        return path, None, str(exc)


# Thumbnails: what the quiz, the review queue and the admin lists show. 640 px fills a phone screen's
# width at 2x in a two-column grid. At quality 75 even the four largest thumbnails of the real photo set
# stay under 300 KB together; 80 would allow 307 KB for little visible gain (bench/quiz_round_bytes.py).
THUMBNAIL_MAX_SIDE = 640
THUMBNAIL_QUALITY = 75


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int
    height: int
    sha256: str
    # The perceptual hash of the same decoded pixels (phash_of): one decode gives both.
    phash: str = ""

    @property
    def name(self) -> str:
        """Content-addressed storage name: equal pixels share one file, whatever image they came from."""
        return f"thumbnails/{self.sha256[:2]}/{self.sha256}.jpg"


def make_thumbnail(data: bytes, *, max_side: int = THUMBNAIL_MAX_SIDE, quality: int = THUMBNAIL_QUALITY) -> Thumbnail:
    """A small JPEG of an image already checked by inspect_image: upright, RGB, no metadata; and its phash.

    The same bytes always give the same thumbnail (and so the same name).
    """
    try:
        img = thumbnail_pixels(data, max_side=max_side)
        buffer = io.BytesIO()
        # Progressive: smaller here, and a phone shows a whole blurry photo early instead of its top strip.
        img.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(_undecodable(exc)) from None
    thumbnail = buffer.getvalue()
    width, height = img.size
    return Thumbnail(data=thumbnail, width=width, height=height, sha256=sha256_of(thumbnail), phash=phash_of(img))


def thumbnail_pixels(data: bytes, *, max_side: int = THUMBNAIL_MAX_SIDE) -> PILImage.Image:
    """The decoded thumbnail, before encoding: upright, RGB, at most MAX_SIDE, no metadata."""
    with PILImage.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
        # A JPEG decoder can scale by 1/2..1/8 while decoding (averaging in the DCT domain), never below the
        # final size: the resampling below then works on a quarter of the pixels of a 1600 px upload.
        scale = max_side / max(img.size)
        img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
        img = ImageOps.exif_transpose(img)
        img = _flatten_to_rgb(img)
        img.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
        img.info = {}
        return img


def phash_of(img: PILImage.Image) -> str:
    """The perceptual hash of a picture: 64 bits as 16 hex digits, compared by Hamming distance.

    imagehash's pHash (the signs of the lowest 8×8 DCT frequencies of a 32×32 grey copy, against their
    median): on the real set it kept a half-size, a quality-60, a 5 %-cropped and a 10 %-brighter copy
    of a photo closest to it while telling distinct photos apart best of average, d-, p- and wavelet
    hashes (bench/near_duplicates.py).
    """
    # Imported here: the inference worker loads this module but never hashes, and its image has no imagehash.
    import imagehash

    return str(imagehash.phash(img))


def phash_or_error(data: bytes) -> tuple[str, str]:
    """(phash, "") of an image's bytes, or ("", why) when it cannot be decoded; made for process pools."""
    try:
        return phash_of(thumbnail_pixels(data)), ""
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return "", f"The image could not be decoded ({exc.__class__.__name__})."


def phash_distance(a: str, b: str) -> int:
    """Hamming distance between two phash_of() hashes: how many of the 64 bits differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


BITS_SET = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.uint8)


def phash_pairs_within(
    left: Sequence[tuple[int, str]], right: Sequence[tuple[int, str]], max_distance: int
) -> list[tuple[int, int, int]]:
    """(left key, right key, distance) of every pair of (key, phash) items at most MAX_DISTANCE bits apart.

    XOR and a popcount per byte in numpy: thousands against thousands of hashes take milliseconds.
    """
    if not left or not right:
        return []
    right_bits = np.array([int(value, 16) for _, value in right], dtype=np.uint64)
    pairs = []
    # A block of left rows at a time: a block's XOR matrix stays near 32 MB however many hashes come in.
    step = max(1, 4_000_000 // len(right))
    for start in range(0, len(left), step):
        block = left[start : start + step]
        bits = np.array([int(value, 16) for _, value in block], dtype=np.uint64)
        xor = bits[:, None] ^ right_bits[None, :]
        distances = BITS_SET[xor.view(np.uint8)].reshape(*xor.shape, 8).sum(axis=2)
        for row, column in zip(*np.nonzero(distances <= max_distance)):
            pairs.append((block[row][0], right[column][0], int(distances[row, column])))
    return pairs


def read_and_prepare(args: tuple[str, int]) -> tuple[str, bytes | None, ImageInfo | str, Thumbnail | None]:
    """read_and_inspect plus the thumbnail, so an import's pool of processes does the decoding work."""
    path, data, info = read_and_inspect(args)
    if data is None:
        return path, None, info, None
    try:
        return path, data, info, make_thumbnail(data)
    except InvalidImage as exc:
        return path, None, str(exc), None


def thumbnail_or_error(data: bytes) -> tuple[Thumbnail | None, str]:
    """(thumbnail, "") or (None, why): make_thumbnail for process pools, where a bad image is an answer,
    not an exception that ends the map."""
    try:
        return make_thumbnail(data), ""
    except InvalidImage as exc:
        return None, str(exc)
