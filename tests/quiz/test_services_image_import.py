import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from factories import jpeg_bytes
from quiz.imaging import make_thumbnail
from quiz.models import Image, Split
from quiz.services.images import image_import, image_thumbnail_set

pytestmark = pytest.mark.django_db


def stored_files(media_root: Path) -> list[str]:
    root = Path(media_root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def as_png(data: bytes) -> bytes:
    """Other bytes (so another image), the same pixels (so the same thumbnail)."""
    buffer = io.BytesIO()
    PILImage.open(io.BytesIO(data)).save(buffer, format="PNG")
    return buffer.getvalue()


def fail_on_save(monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Image, "save", broken)


def test_it_stores_a_content_addressed_thumbnail_with_its_size():
    data = jpeg_bytes(size=(1000, 800))
    image = image_import(data=data, split=Split.TRAIN, label=None, expert=False).image
    expected = make_thumbnail(data)
    assert image.thumbnail.name == expected.name
    assert (image.thumbnail_width, image.thumbnail_height) == (640, 512)
    with default_storage.open(image.thumbnail.name, "rb") as handle:
        assert handle.read() == expected.data
    image.refresh_from_db()
    assert image.display_url == image.thumbnail.url and (image.display_width, image.display_height) == (640, 512)


def test_it_reports_the_files_it_wrote(media_root):
    outcome = image_import(data=jpeg_bytes(), split=Split.TRAIN, label=None, expert=False)
    assert sorted(outcome.files_written) == stored_files(media_root)
    assert sorted(outcome.files_written) == sorted([outcome.image.file.name, outcome.image.thumbnail.name])
    data = jpeg_bytes(seed=999)
    assert len(image_import(data=data, split=Split.TRAIN, label=None, expert=False).files_written) == 2
    assert image_import(data=data, split=Split.TRAIN, label=None, expert=False).files_written == ()


def test_it_leaves_no_image_or_thumbnail_file_when_the_row_write_fails(monkeypatch, media_root):
    fail_on_save(monkeypatch)
    with pytest.raises(RuntimeError):
        image_import(data=jpeg_bytes(size=(900, 600)), split=Split.TRAIN, label=None, expert=False)
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_it_keeps_a_thumbnail_another_image_shares_when_the_row_write_fails(monkeypatch, media_root):
    data = jpeg_bytes(size=(900, 600))
    first = image_import(data=data, split=Split.TRAIN, label=None, expert=False).image
    twin = as_png(data)
    assert make_thumbnail(twin).name == first.thumbnail.name
    fail_on_save(monkeypatch)
    with pytest.raises(RuntimeError):
        image_import(data=twin, split=Split.TRAIN, label=None, expert=False)
    assert stored_files(media_root) == sorted([first.file.name, first.thumbnail.name])


def test_it_sets_a_missing_thumbnail_once():
    data = jpeg_bytes(size=(800, 800))
    image = image_import(data=data, split=Split.TRAIN, label=None, expert=False).image
    Image.objects.update(thumbnail="", thumbnail_width=None, thumbnail_height=None)
    default_storage.delete(image.thumbnail.name)
    thumbnail = make_thumbnail(data)
    assert image_thumbnail_set(image_id=image.pk, thumbnail=thumbnail)
    image.refresh_from_db()
    assert (image.thumbnail.name, image.thumbnail_width, image.thumbnail_height) == (thumbnail.name, 640, 640)
    assert default_storage.exists(thumbnail.name)
    assert not image_thumbnail_set(image_id=image.pk, thumbnail=make_thumbnail(jpeg_bytes(seed=77)))
    image.refresh_from_db()
    assert image.thumbnail.name == thumbnail.name


def test_it_leaves_no_file_when_setting_the_thumbnail_of_a_gone_image(media_root):
    assert not image_thumbnail_set(image_id=12345, thumbnail=make_thumbnail(jpeg_bytes()))
    assert stored_files(media_root) == []


def test_it_leaves_no_file_when_the_thumbnail_row_update_fails(monkeypatch, media_root):
    image = image_import(data=jpeg_bytes(), split=Split.TRAIN, label=None, expert=False).image
    Image.objects.update(thumbnail="", thumbnail_width=None, thumbnail_height=None)
    default_storage.delete(image.thumbnail.name)

    def broken(self, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(type(Image.objects.all()), "update", broken)
    with pytest.raises(RuntimeError):
        image_thumbnail_set(image_id=image.pk, thumbnail=make_thumbnail(jpeg_bytes(seed=5)))
    assert stored_files(media_root) == [image.file.name]
