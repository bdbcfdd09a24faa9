"""A deterministic corpus of malformed and hostile upload files (issue #7: ≥ 1,000 files the site must refuse).

Families: truncations of real JPEG/PNG/WebP files at many offsets, random bit flips and byte smashes,
empty / all-zero / junk files, decompression bombs and giant-dimension headers (PNG, JPEG, WebP, GIF, PNG
text and ICC chunks), polyglots (GIFAR, ZIP/HTML/PDF in front of a JPEG), other formats and scripts disguised
as .jpg/.png/.webp with lying content types, EXIF bombs (looping and oversized IFDs, a huge ICC profile),
and odd file names (path traversal, NUL, CR/LF, very long, unicode, RTL override).

Which files count as hostile is decided by an oracle that does not use the project's code: a file belongs
in the corpus when Pillow's strict decode rejects it (no truncated-image tolerance, any decode error or
warning-as-error counts), when it is not a JPEG, PNG or WebP, or when it breaks a limit (pixels, bytes).
Mutations that still decode (a bit flip in JPEG entropy data, a ZIP appended after a valid JPEG, an EXIF
bomb around valid pixels) are kept apart as *survivors*: the site may accept those, and the tests check that
it then stores only re-encoded pixels, never a 5xx.

Plain Pillow, no Django, so `bench/hostile_uploads.py` can use it against a running server.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import struct
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image as PILImage

from quiz.demo_images import make_demo_image

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
LYING_TYPES = ("image/jpeg", "image/png", "image/webp", "application/octet-stream")


@dataclass(frozen=True)
class HostileFile:
    family: str
    name: str
    content_type: str
    data: bytes
    note: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def strictly_refused(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
    """The oracle: would a strict Pillow decode, limited to JPEG/PNG/WebP and the limits, fail on these bytes?"""
    if not data or len(data) > max_bytes:
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:
                if img.format not in ACCEPTED_FORMATS or img.width * img.height > max_pixels:
                    return True
                img.load()
    except Exception:  # the oracle's question is "does it decode", whatever the reason it does not
        return True
    return False


# --- Building blocks ----------------------------------------------------------------------------------------


def _encode(fmt: str, *, seed: int, size=(96, 72), mode: str = "RGB", **options) -> bytes:
    img = make_demo_image("corrosion" if seed % 2 else "no_corrosion", seed=seed, size=size)
    if mode != "RGB":
        img = img.convert(mode)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@functools.cache
def base_files() -> dict[str, bytes]:
    """Real, valid files the mutations start from."""
    return {
        "jpeg": _encode("JPEG", seed=1, quality=85),
        "jpeg-progressive": _encode("JPEG", seed=2, size=(128, 96), quality=80, progressive=True),
        "png": _encode("PNG", seed=3),
        "png-palette": _encode("PNG", seed=4, mode="P"),
        "webp": _encode("WEBP", seed=5, quality=80),
        "webp-lossless": _encode("WEBP", seed=6, lossless=True),
    }


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_header(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    # A real (tiny) compressed zero stream behind a header that promises a huge picture.
    idat = zlib.compress(b"\x00" * 65536, 9)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _png_insert_chunk(png: bytes, kind: bytes, payload: bytes, *, before_idat: bool) -> bytes:
    at = 33 if before_idat else len(png) - 12  # after IHDR, or before IEND
    return png[:at] + _png_chunk(kind, payload) + png[at:]


def _jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """Rewrite the frame header (SOF0/SOF2) of a real JPEG with other dimensions."""
    at = 2
    while at < len(jpeg) - 4:
        marker, length = jpeg[at + 1], struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC2):
            return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]
        at += 2 + length
    raise ValueError("no frame header")


def _jpeg_insert_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _webp_vp8_with_size(webp: bytes, width: int, height: int) -> bytes:
    # Lossy: "VP8 " chunk at 12, frame tag (3 bytes) and start code 9d 01 2a, then 14-bit width and height.
    assert webp[12:16] == b"VP8 " and webp[23:26] == b"\x9d\x01\x2a"
    return webp[:26] + struct.pack("<HH", width & 0x3FFF, height & 0x3FFF) + webp[30:]


def _webp_vp8l_with_size(webp: bytes, width: int, height: int) -> bytes:
    # Lossless: "VP8L" chunk at 12, signature 0x2f, then (width-1) and (height-1) in 14 bits each.
    assert webp[12:16] == b"VP8L" and webp[20] == 0x2F
    bits = struct.unpack("<I", webp[21:25])[0]
    bits = (bits & ~0x0FFFFFFF) | ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14)
    return webp[:21] + struct.pack("<I", bits) + webp[25:]


def _webp_vp8x(canvas_width: int, canvas_height: int, inner: bytes) -> bytes:
    """An extended WebP whose canvas claims other dimensions than its frame."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (canvas_width - 1).to_bytes(3, "little") + (canvas_height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + inner[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _gif_with_size(width: int, height: int) -> bytes:
    header = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return header + descriptor + b"\x02\x02\x44\x01\x00\x3b"


def _zip(names: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _tiff_ifd(entries: list[tuple[int, int, int, bytes]], *, next_ifd: int = 0) -> bytes:
    out = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack(">HHI", tag, kind, count) + value
    return out + struct.pack(">I", next_ifd)


def _other_format(fmt: str, **options) -> bytes:
    return _encode(fmt, seed=9, size=(32, 24), **options)


HTML = b"<!doctype html><html><body><script>fetch('/api/models/retrain/',{method:'POST'})</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><rect/></svg>'
XML_XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\ntrailer<</Root 1 0 R>>"
PSD = b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03" + struct.pack(">II", 8, 8) + b"\x00\x08\x00\x03" + b"\x00" * 64


@functools.cache
def _disguises() -> dict[str, bytes]:
    return {
        "html": HTML,
        "svg": SVG,
        "xml-xxe": XML_XXE,
        "xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
        "pdf": PDF,
        "psd": PSD,
        "php": b"<?php system($_GET['c']); ?>",
        "shell": b"#!/bin/sh\nrm -rf --no-preserve-root /\n",
        "python": b"import os\nos.system('id')\n",
        "javascript": b"/*\xff\xd8*/ alert(document.domain);",
        "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
        "windows-exe": b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00",
        "postscript": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n",
        "zip": _zip({"evil.sh": b"#!/bin/sh\n"}),
        "gif": _other_format("GIF"),
        "bmp": _other_format("BMP"),
        "tiff": _other_format("TIFF"),
        "ico": _other_format("ICO"),
        "ppm": _other_format("PPM"),
        "jpeg2000-signature": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64,
        "heic-signature": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        "avif-signature": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
    }


# --- Families -----------------------------------------------------------------------------------------------


def _truncations() -> Iterator[tuple[str, bytes, str]]:
    for base_name, data in base_files().items():
        # Dense through the headers, where parsers branch most, then spread over the rest of the file.
        offsets = set(range(1, min(64, len(data))))
        offsets |= {len(data) * i // 48 for i in range(1, 48)}
        offsets |= {len(data) - k for k in (1, 2, 3, 4, 8, 16)}
        for offset in sorted(o for o in offsets if 0 < o < len(data)):
            yield "truncation", data[:offset], f"{base_name} cut at byte {offset} of {len(data)}"


def _bit_flips(rng: random.Random, per_base: int = 120) -> Iterator[tuple[str, bytes, str]]:
    for base_name, data in base_files().items():
        for i in range(per_base):
            mutated = bytearray(data)
            kind = i % 3
            if kind == 0:  # a few single-bit flips anywhere
                flips = rng.choice((1, 2, 4, 8, 32))
                for _ in range(flips):
                    at = rng.randrange(len(mutated))
                    mutated[at] ^= 1 << rng.randrange(8)
                note = f"{base_name}: {flips} bit flips"
            elif kind == 1:  # a flip inside the first 64 bytes (headers, lengths, dimensions)
                at = rng.randrange(min(64, len(mutated)))
                mutated[at] ^= 1 << rng.randrange(8)
                note = f"{base_name}: header bit flip at {at}"
            else:  # a run of random bytes
                at, length = rng.randrange(len(mutated)), rng.choice((4, 16, 64, 256))
                mutated[at : at + length] = bytes(rng.randrange(256) for _ in range(length))
                note = f"{base_name}: {length} random bytes at {at}"
            yield "bit_flip", bytes(mutated), note


def _junk(rng: random.Random) -> Iterator[tuple[str, bytes, str]]:
    yield "zero_or_junk", b"", "zero bytes"
    for size in (1, 2, 3, 4, 8, 16, 64, 512, 4096, 65536, 1024 * 1024):
        yield "zero_or_junk", b"\x00" * size, f"{size} zero bytes"
    for size in (1, 16, 4096):
        yield "zero_or_junk", b"\xff" * size, f"{size} 0xff bytes"
    for size in (8, 256, 4096, 65536):
        yield "zero_or_junk", rng.randbytes(size), f"{size} random bytes"
    for name, magic in {
        "jpeg-soi": b"\xff\xd8",
        "jpeg-soi-marker": b"\xff\xd8\xff",
        "jpeg-soi-eoi": b"\xff\xd8\xff\xd9",
        "png-signature": b"\x89PNG\r\n\x1a\n",
        "png-ihdr-only": _png_with_header(8, 8)[:33],
        "riff-webp": b"RIFF\x00\x00\x00\x00WEBP",
        "riff-webp-vp8": b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00",
        "gif-signature": b"GIF89a",
    }.items():
        yield "zero_or_junk", magic, f"signature only: {name}"
        yield "zero_or_junk", magic + b"\x00" * 1024, f"signature then zeros: {name}"


def _bombs_and_giant_dimensions() -> Iterator[tuple[str, bytes, str]]:
    bases = base_files()
    for width, height in (
        (50_000, 50_000),
        (100_000, 100_000),
        (65_535, 65_535),
        (2**31 - 1, 1),
        (1, 2**31 - 1),
        (2**31 - 1, 2**31 - 1),
        (40_001, 1_000),
        (6_325, 6_325),
        (1, 40_000_001),
        (0, 0),
        (0, 100),
    ):
        yield "bomb_or_giant", _png_with_header(width, height), f"PNG IHDR {width}x{height}"
    yield "bomb_or_giant", _png_with_header(20_000, 20_000, bit_depth=1, colour=0), "PNG 1-bit 20000x20000"
    yield "bomb_or_giant", _png_with_header(8, 8, bit_depth=7), "PNG with an impossible bit depth"
    text_bomb = zlib.compress(b"\x00" * 50_000_000, 9)
    for kind, prefix in ((b"zTXt", b"k\x00\x00"), (b"iTXt", b"k\x00\x01\x00\x00\x00"), (b"iCCP", b"icc\x00\x00")):
        for before in (True, False):
            data = _png_insert_chunk(bases["png"], kind, prefix + text_bomb, before_idat=before)
            yield (
                "bomb_or_giant",
                data,
                f"PNG {kind.decode()} zlib bomb (50 MB), {'before' if before else 'after'} IDAT",
            )
    for name in ("jpeg", "jpeg-progressive"):
        for width, height in ((65_535, 65_535), (65_500, 1_000), (10_000, 5_000), (7_000, 7_000), (0, 72), (96, 0)):
            yield "bomb_or_giant", _jpeg_with_size(bases[name], width, height), f"{name} frame header {width}x{height}"
    for width, height in ((16_383, 16_383), (16_383, 4_000), (8_000, 8_000), (0, 0)):
        yield "bomb_or_giant", _webp_vp8_with_size(bases["webp"], width, height), f"WebP VP8 frame {width}x{height}"
    for width, height in ((16_384, 16_384), (16_384, 3_000), (7_000, 7_000)):
        data = _webp_vp8l_with_size(bases["webp-lossless"], width, height)
        yield "bomb_or_giant", data, f"WebP VP8L frame {width}x{height}"
    for width, height in ((16_777_216, 16_777_216), (100_000, 1_000), (16_000, 16_000)):
        yield "bomb_or_giant", _webp_vp8x(width, height, bases["webp"]), f"WebP VP8X canvas {width}x{height}"
    for width, height in ((65_535, 65_535), (10_000, 10_000)):
        yield "bomb_or_giant", _gif_with_size(width, height), f"GIF screen {width}x{height}"
    padding = _segment(0xFE, b"\x00" * 65_000)
    oversized = _jpeg_insert_segments(bases["jpeg"], [padding] * 170)
    yield "bomb_or_giant", oversized, f"valid JPEG padded to {len(oversized):,} bytes (over the 10 MB cap)"


def _polyglots() -> Iterator[tuple[str, bytes, str]]:
    bases = base_files()
    archive = _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "Evil.class": b"\xca\xfe\xba\xbe"})
    gif = _other_format("GIF")
    yield "polyglot", gif + archive, "GIFAR: GIF then JAR"
    yield "polyglot", archive + bases["jpeg"], "ZIP then JPEG"
    yield "polyglot", HTML + bases["jpeg"], "HTML then JPEG"
    yield "polyglot", PDF + bases["jpeg"], "PDF then JPEG"
    yield "polyglot", SVG + bases["png"], "SVG then PNG"
    yield "polyglot", bases["jpeg"][:20] + HTML, "JPEG header then HTML"
    yield "polyglot", bases["png"][:33] + HTML, "PNG header then HTML"
    yield "polyglot", bases["webp"][:30] + HTML, "WebP header then HTML"
    yield "polyglot", bases["jpeg"][:-2] + archive, "JPEG without its end marker, then ZIP"
    # Still valid images: the site may take them, and must then keep only re-encoded pixels (survivors).
    yield "polyglot", bases["jpeg"] + archive, "JPEG then ZIP"
    yield "polyglot", bases["jpeg"] + HTML, "JPEG then HTML"
    yield "polyglot", bases["png"] + archive, "PNG then ZIP"
    yield "polyglot", bases["png"] + HTML, "PNG then HTML"
    yield "polyglot", _jpeg_insert_segments(bases["jpeg"], [_segment(0xFE, HTML)]), "JPEG with HTML in a comment"


def _disguised() -> Iterator[tuple[str, bytes, str]]:
    for name, data in _disguises().items():
        yield "disguised", data, f"{name} posing as an image"


def _exif_bombs() -> Iterator[tuple[str, bytes, str]]:
    jpeg = base_files()["jpeg"]
    orientation = (0x0112, 3, 1, struct.pack(">HH", 6, 0))
    ifds = {
        "IFD0 chained to itself": _tiff_ifd([orientation], next_ifd=8),
        "Exif IFD pointer looping to IFD0": _tiff_ifd([(0x8769, 4, 1, struct.pack(">I", 8)), orientation]),
        "GPS IFD pointer out of range": _tiff_ifd([(0x8825, 4, 1, struct.pack(">I", 0xFFFFFFF0))]),
        "2^31 count on a string tag": _tiff_ifd([(0x010E, 2, 0x7FFFFFFF, struct.pack(">I", 100))]),
        "65535 entries declared, 100 present": b"MM\x00\x2a\x00\x00\x00\x08\xff\xff"
        + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" * 100,
        "orientation 9999": _tiff_ifd([(0x0112, 3, 1, struct.pack(">HH", 9999, 0))]),
        "orientation as a rational out of range": _tiff_ifd([(0x0112, 5, 1, struct.pack(">I", 0xFFFFFFF0))]),
        "orientation of an unknown type": _tiff_ifd([(0x0112, 99, 1, struct.pack(">HH", 6, 0))]),
        "byte order marker unknown": b"XX\x00\x2a\x00\x00\x00\x08" + b"\x00" * 16,
    }
    for note, tiff in ifds.items():
        yield "exif_bomb", _jpeg_insert_segments(jpeg, [_segment(0xE1, b"Exif\x00\x00" + tiff)]), f"EXIF: {note}"
    big = _tiff_ifd([(0x010E, 2, 60_000, struct.pack(">I", 26))]) + b"A" * 60_000
    yield "exif_bomb", _jpeg_insert_segments(jpeg, [_segment(0xE1, b"Exif\x00\x00" + big)]), "EXIF: 60 kB string"
    many = [_segment(0xE1, b"Exif\x00\x00" + _tiff_ifd([orientation])) for _ in range(2_000)]
    yield "exif_bomb", _jpeg_insert_segments(jpeg, many), "EXIF: 2,000 APP1 segments"
    chunk_size, chunks = 65_000, 120  # an ICC profile of ~7.8 MB, split over APP2 segments as the format does
    icc = [_segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, chunks]) + b"\x00" * chunk_size) for i in range(chunks)]
    yield "exif_bomb", _jpeg_insert_segments(jpeg, icc), "ICC profile of 7.8 MB in 120 APP2 segments"
    bad_icc = [_segment(0xE2, b"ICC_PROFILE\x00" + bytes([5, 2]) + b"\x00" * 100)]
    yield "exif_bomb", _jpeg_insert_segments(jpeg, bad_icc), "ICC chunk 5 of 2"
    png, webp = base_files()["png"], base_files()["webp"]
    exif = b"MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" * 100
    yield "exif_bomb", _png_insert_chunk(png, b"eXIf", exif, before_idat=True), "PNG eXIf with a lying entry count"
    riff = webp[12:] + b"EXIF" + struct.pack("<I", len(exif)) + exif
    yield "exif_bomb", b"RIFF" + struct.pack("<I", len(riff) + 4) + b"WEBP" + riff, "WebP with a trailing EXIF chunk"


ODD_NAMES = (
    "../../../../etc/passwd.jpg",
    "..\\..\\..\\windows\\win.ini.jpg",
    "/etc/shadow.png",
    "C:\\boot.ini.webp",
    "photo\x00.php.jpg",
    "\x00",
    "a" * 4096 + ".jpg",
    "é" * 300 + ".png",
    "фото.jpg",
    "写真.png",
    "🦀🦀🦀.webp",
    "\u202egpj.exe",
    "photo.jpg\r\nContent-Type: text/html",
    'quote".jpg',
    "semi;colon.jpg",
    "new\nline.jpg",
    "tab\tname.jpg",
    "%2e%2e%2fetc%2fpasswd.jpg",
    "photo.jpg.exe",
    "photo.php%00.jpg",
    "<script>alert(1)</script>.jpg",
    "'; DROP TABLE uploads_upload;--.jpg",
    ".jpg",
    " ",
    "CON.jpg",
    "NUL.png",
    ".htaccess",
    "~",
    "$(reboot).jpg",
    "`id`.png",
)


def _odd_names(refused_payloads: list[bytes]) -> Iterator[tuple[str, bytes, str, str]]:
    for i, name in enumerate(ODD_NAMES):
        yield "odd_filename", refused_payloads[i % len(refused_payloads)], f"name {name[:40]!r}", name


def _named(family: str, index: int, data: bytes) -> tuple[str, str]:
    extension = ("jpg", "png", "webp", "jpeg")[index % 4]
    return f"{family}-{index:04d}.{extension}", LYING_TYPES[index % len(LYING_TYPES)]


@functools.cache
def hostile_corpus(
    *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES, seed: int = 7
) -> tuple[tuple[HostileFile, ...], tuple[HostileFile, ...]]:
    """(corpus, survivors): the files the oracle refuses, and the generated mutations that still decode.

    Deterministic for a given seed and Pillow version; duplicates (same bytes) are kept once.
    """
    rng = random.Random(seed)
    generated = [
        *_truncations(),
        *_bit_flips(rng),
        *_junk(rng),
        *_bombs_and_giant_dimensions(),
        *_polyglots(),
        *_disguised(),
        *_exif_bombs(),
    ]
    refused: list[HostileFile] = []
    survivors: list[HostileFile] = []
    seen: set[bytes] = set()
    for index, (family, data, note) in enumerate(generated):
        digest = hashlib.sha256(data).digest()
        if digest in seen:
            continue
        seen.add(digest)
        name, content_type = _named(family, index, data)
        item = HostileFile(family=family, name=name, content_type=content_type, data=data, note=note)
        (refused if strictly_refused(data, max_pixels=max_pixels, max_bytes=max_bytes) else survivors).append(item)
    # Odd names travel with small refused payloads: the name must change nothing about the answer.
    small = [item.data for item in refused if 0 < len(item.data) < 4096][:10]
    for index, (family, data, note, name) in enumerate(_odd_names(small)):
        refused.append(HostileFile(family, name, LYING_TYPES[index % len(LYING_TYPES)], data, note))
    return tuple(refused), tuple(survivors)


def family_counts(files) -> Counter:
    return Counter(item.family for item in files)


if __name__ == "__main__":
    corpus, survivors = hostile_corpus()
    print(f"corpus: {len(corpus)} files, {sum(len(f.data) for f in corpus):,} bytes")
    kept, survived = family_counts(corpus), family_counts(survivors)
    for family in sorted(kept | survived):
        print(f"  {family:14} {kept[family]:5}   (+{survived[family]} mutations that still decode)")
