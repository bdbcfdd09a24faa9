from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from factories import jpeg_bytes
from quiz.imaging import make_thumbnail
from quiz.models import Image, Split
from quiz.services.images import image_import

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("make_thumbnails", "--no-progress", *args, stdout=out)
    return out.getvalue()


def images_from_before_thumbnails(count: int, size=(900, 600)) -> list[Image]:
    """Images as a database migrated from before thumbnails holds them: no thumbnail, no thumbnail file."""
    images = [
        image_import(data=jpeg_bytes(seed=500 + i, size=size), split=Split.TRAIN, label=None, expert=False).image
        for i in range(count)
    ]
    for image in images:
        default_storage.delete(image.thumbnail.name)
    Image.objects.update(thumbnail="", thumbnail_width=None, thumbnail_height=None)
    return images


def test_it_gives_every_image_without_one_its_thumbnail():
    images = images_from_before_thumbnails(5)
    output = run("--batch-size", "2", "--jobs", "1")
    assert "Made 5 thumbnail(s); 0 image(s) could not be read." in output
    for image in images:
        image.refresh_from_db()
        with image.file.open("rb") as handle:
            expected = make_thumbnail(handle.read())
        assert image.thumbnail.name == expected.name and default_storage.exists(expected.name)
        assert (image.thumbnail_width, image.thumbnail_height) == (640, 427)


def test_it_changes_nothing_when_run_again():
    images_from_before_thumbnails(3)
    run("--jobs", "1")
    before = list(Image.objects.order_by("pk").values_list("thumbnail", "thumbnail_width", "thumbnail_height"))
    assert "Made 0 thumbnail(s)" in run("--jobs", "1")
    assert list(Image.objects.order_by("pk").values_list("thumbnail", "thumbnail_width", "thumbnail_height")) == before


def test_it_leaves_images_that_have_a_thumbnail_alone():
    kept = image_import(data=jpeg_bytes(seed=1, size=(100, 80)), split=Split.TRAIN, label=None, expert=False).image
    images_from_before_thumbnails(2)
    Image.objects.filter(pk=kept.pk).update(thumbnail="thumbnails/ke/kept.jpg")
    assert "Made 2 thumbnail(s)" in run("--jobs", "1")
    assert Image.objects.get(pk=kept.pk).thumbnail.name == "thumbnails/ke/kept.jpg"


def test_it_makes_thumbnails_in_worker_processes():
    images_from_before_thumbnails(3)
    assert "Made 3 thumbnail(s)" in run("--jobs", "2", "--batch-size", "2")
    assert not Image.objects.filter(thumbnail="").exists()


def test_it_goes_on_past_unreadable_images_and_says_so():
    missing, corrupt, fine = images_from_before_thumbnails(3)
    default_storage.delete(missing.file.name)
    with open(default_storage.path(corrupt.file.name), "wb") as handle:
        handle.write(b"not a photo any more")
    out = StringIO()
    with pytest.raises(CommandError, match="2 image"):
        call_command("make_thumbnails", "--no-progress", "--jobs", "1", stdout=out, stderr=StringIO())
    assert "Made 1 thumbnail(s); 2 image(s) could not be read." in out.getvalue()
    assert Image.objects.get(pk=missing.pk).thumbnail == Image.objects.get(pk=corrupt.pk).thumbnail == ""
    assert Image.objects.get(pk=fine.pk).thumbnail != ""
