import io
import struct
import zlib

import pytest
from PIL import Image as PILImage

from factories import jpeg_bytes, mpo_bytes
from quiz.imaging import InvalidImage, clean_photo, image_folder_files, inspect_image, make_thumbnail, sha256_of

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


def test_it_takes_a_phone_photo_with_a_secondary_image_for_the_jpeg_it_is():
    data = mpo_bytes(size=(80, 60))
    assert PILImage.open(io.BytesIO(data)).format == "MPO"  # what Pillow calls it
    info = inspect_image(data, max_pixels=MAX)
    assert (info.format, info.extension, info.width, info.height) == ("JPEG", "jpg", 80, 60)
    cleaned = PILImage.open(io.BytesIO(clean_photo(data, max_pixels=MAX, max_side=1600).data))
    assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1


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


def test_it_makes_thumbnails_no_larger_than_the_longest_side():
    wide = make_thumbnail(jpeg_bytes(size=(2000, 1000)), max_side=640)
    assert (wide.width, wide.height) == (640, 320)
    with PILImage.open(io.BytesIO(wide.data)) as img:
        assert (img.format, img.size, img.mode) == ("JPEG", (640, 320), "RGB")
    tall = make_thumbnail(jpeg_bytes(size=(300, 900)), max_side=640)
    assert (tall.width, tall.height) == (213, 640)


def test_it_never_enlarges_a_small_image_into_a_thumbnail():
    thumbnail = make_thumbnail(jpeg_bytes(size=(120, 80)), max_side=640)
    assert (thumbnail.width, thumbnail.height) == (120, 80)


def test_it_makes_thumbnails_upright_and_without_metadata():
    source = PILImage.open(io.BytesIO(jpeg_bytes(size=(200, 100))))
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    source.save(buffer, format="JPEG", exif=exif, comment=b"secret", icc_profile=b"profile")
    thumbnail = make_thumbnail(buffer.getvalue(), max_side=640)
    assert (thumbnail.width, thumbnail.height) == (100, 200)
    with PILImage.open(io.BytesIO(thumbnail.data)) as img:
        assert not img.info.get("exif") and not img.info.get("comment") and not img.info.get("icc_profile")
        assert not img.getexif()


def test_it_addresses_thumbnails_by_their_content():
    data = jpeg_bytes(seed=5, size=(900, 700))
    first, again = make_thumbnail(data), make_thumbnail(bytes(data))
    assert first.data == again.data
    assert first.sha256 == sha256_of(first.data)
    assert first.name == f"thumbnails/{first.sha256[:2]}/{first.sha256}.jpg"
    assert make_thumbnail(jpeg_bytes(seed=6, size=(900, 700))).name != first.name


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_it_makes_jpeg_thumbnails_of_png_and_webp_with_transparency(fmt):
    img = PILImage.new("RGBA", (800, 400), (255, 0, 0, 0))
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    thumbnail = make_thumbnail(buffer.getvalue(), max_side=640)
    with PILImage.open(io.BytesIO(thumbnail.data)) as out:
        assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (640, 320))
        assert out.getpixel((10, 10)) == (255, 255, 255)  # transparent became white, not black


def test_it_makes_the_thumbnail_of_a_phone_photos_primary_image():
    thumbnail = make_thumbnail(mpo_bytes(size=(1280, 960)), max_side=640)
    assert (thumbnail.width, thumbnail.height) == (640, 480)
    with PILImage.open(io.BytesIO(thumbnail.data)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1


def test_it_refuses_to_make_a_thumbnail_of_what_is_not_an_image():
    with pytest.raises(InvalidImage):
        make_thumbnail(b"not an image at all")


def test_it_walks_an_image_folder_tree_in_the_order_of_the_labels_asked_for(tmp_path):
    for relative in ("corrosion/b.jpg", "corrosion/deep/a.PNG", "corrosion/notes.txt", "no_corrosion/c.webp"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")

    found = image_folder_files(tmp_path, ["no_corrosion", "corrosion", "missing"])

    assert [(str(path.relative_to(tmp_path)), label) for path, label in found] == [
        ("no_corrosion/c.webp", "no_corrosion"),
        ("corrosion/b.jpg", "corrosion"),
        ("corrosion/deep/a.PNG", "corrosion"),
    ]
