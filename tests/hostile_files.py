"""Bad and hostile files for upload tests, generated on the fly."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image as PILImage

from factories import jpeg_bytes


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 16)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def gif() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(buffer, format="GIF")
    return buffer.getvalue()


def bmp() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(buffer, format="BMP")
    return buffer.getvalue()


PSD = b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03" + struct.pack(">II", 8, 8) + b"\x00\x08\x00\x03" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'
)
HTML = b"<html><script>alert(1)</script></html>"


def bad_files() -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, expected HTTP status)"""
    good = jpeg_bytes(size=(320, 240))
    return {
        "empty.jpg": (b"", 400),
        "truncated.jpg": (good[: len(good) // 2], 400),
        "text-renamed.jpg": (b"just some text, honestly\n" * 20, 415),
        "bomb.png": (png_bomb(), 413),
        "animation.gif": (gif(), 415),
        "bitmap.bmp": (bmp(), 415),
        "layers.psd": (PSD, 415),
        "document.pdf": (PDF, 415),
        "drawing.svg": (SVG, 415),
        "page.html": (HTML, 415),
        "jpeg-header-then-html.jpg": (good[:20] + HTML, 415),
    }
