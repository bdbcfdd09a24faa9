import io
import struct
import zlib

import pytest
from PIL import Image as PILImage

from factories import jpeg_bytes
from quiz.imaging import InvalidImage, clean_photo, inspect_image

MAX = 40_000_000


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that claims a huge canvas (compressed zeros)."""
    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 16)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_accepts_jpeg_png_and_webp(fmt):
    info = inspect_image(jpeg_bytes(fmt=fmt), max_pixels=MAX)
    assert info.format == fmt
    assert (info.width, info.height) == (64, 48)
    assert len(info.sha256) == 64


def test_it_refuses_empty_files():
    with pytest.raises(InvalidImage, match="empty"):
        inspect_image(b"", max_pixels=MAX)


def test_it_refuses_text_renamed_to_jpg():
    with pytest.raises(InvalidImage, match="not a JPEG, PNG or WebP"):
        inspect_image(b"hello, I am not a picture\n" * 10, max_pixels=MAX)


def test_it_refuses_truncated_images():
    data = jpeg_bytes(size=(320, 240))
    with pytest.raises(InvalidImage):
        inspect_image(data[: len(data) // 2], max_pixels=MAX)


def test_it_refuses_gif():
    buffer = io.BytesIO()
    PILImage.new("RGB", (10, 10), "red").save(buffer, format="GIF")
    with pytest.raises(InvalidImage, match="not a JPEG, PNG or WebP"):
        inspect_image(buffer.getvalue(), max_pixels=MAX)


def test_it_refuses_decompression_bombs_before_decoding():
    with pytest.raises(InvalidImage, match="too large"):
        inspect_image(png_bomb(60_000, 60_000), max_pixels=MAX)


def test_it_hashes_content_not_names():
    data = jpeg_bytes(seed=7)
    assert inspect_image(data, max_pixels=MAX).sha256 == inspect_image(bytes(data), max_pixels=MAX).sha256
    assert inspect_image(data, max_pixels=MAX).sha256 != inspect_image(jpeg_bytes(seed=8), max_pixels=MAX).sha256


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_keeps_nothing_but_pixels_when_cleaning_a_photo(fmt):
    source = PILImage.open(io.BytesIO(jpeg_bytes()))
    buffer = io.BytesIO()
    # A comment, EXIF and an ICC profile, each carrying a script; PNG keeps the comment as a text chunk.
    extra = {"comment": b"<script>alert(1)</script>"} if fmt == "JPEG" else {}
    exif = PILImage.Exif()
    exif[0x010E] = "<script>alert(2)</script>"
    source.save(buffer, format=fmt, exif=exif, icc_profile=b"<script>alert(3)</script>", **extra)
    cleaned = clean_photo(buffer.getvalue(), max_pixels=MAX, max_side=1600).data
    assert b"<script" not in cleaned
    with PILImage.open(io.BytesIO(cleaned)) as img:
        assert not img.info.get("comment") and not img.info.get("exif") and not img.info.get("icc_profile")
