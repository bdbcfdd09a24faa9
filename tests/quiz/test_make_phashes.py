from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from near_duplicate_photos import cropped_5_percent, jpeg, photo

from factories import jpeg_bytes
from quiz.imaging import make_thumbnail
from quiz.models import Image, Label, Split
from quiz.services.images import image_import

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("make_phashes", "--no-progress", *args, stdout=out)
    return out.getvalue()


def images_from_before_phashes() -> dict[str, Image]:
    """A leak as a database from before perceptual hashes holds it: a cropped validation photo in training."""
    images = {
        "validation": image_import(data=jpeg(photo(1), 90), split=Split.VALIDATION, label=Label.CORROSION, expert=True),
        "leak": image_import(data=cropped_5_percent(photo(1)), split=Split.TRAIN, label=None, expert=False),
        "other": image_import(data=jpeg(photo(100)), split=Split.TRAIN, label=None, expert=False),
        "small": image_import(data=jpeg_bytes(seed=7), split=Split.TRAIN, label=None, expert=False),
    }
    Image.objects.update(phash="", near_duplicate_of=None, excluded=False)
    return {name: outcome.image for name, outcome in images.items()}


def test_it_hashes_every_image_without_one_and_flags_the_leaks_it_finds():
    images = images_from_before_phashes()
    output = run("--batch-size", "3", "--jobs", "1")
    assert "Hashed 4 image(s); 0 could not be read. 1 train–validation near-duplicate pair(s) found" in output
    assert "1 training image(s) taken out of the pool" in output
    for image in Image.objects.all():
        with image.file.open("rb") as handle:
            assert image.phash == make_thumbnail(handle.read()).phash
    leak = Image.objects.get(pk=images["leak"].pk)
    assert leak.near_duplicate_of_id == images["validation"].pk and leak.excluded
    assert Image.objects.filter(excluded=True).count() == 1


@pytest.mark.parametrize("batch_size", ["1", "200"])
def test_it_finds_the_leak_whichever_image_of_the_pair_is_hashed_first(batch_size):
    images = images_from_before_phashes()
    # The training copy keeps its hash: only its validation photo is hashed now.
    leak = images["leak"]
    Image.objects.filter(pk=leak.pk).update(phash=make_thumbnail(default_storage.open(leak.file.name).read()).phash)
    run("--batch-size", batch_size, "--jobs", "1")
    assert Image.objects.get(pk=leak.pk).near_duplicate_of_id == images["validation"].pk


def test_it_changes_nothing_when_run_again():
    images_from_before_phashes()
    run("--jobs", "1")
    before = list(Image.objects.order_by("pk").values_list("phash", "near_duplicate_of", "excluded"))
    assert "Hashed 0 image(s)" in run("--jobs", "1")
    assert list(Image.objects.order_by("pk").values_list("phash", "near_duplicate_of", "excluded")) == before


def test_it_hashes_in_worker_processes():
    images_from_before_phashes()
    assert "Hashed 4 image(s)" in run("--jobs", "2", "--batch-size", "2")
    assert not Image.objects.filter(phash="").exists()


def test_it_reports_an_unreadable_image_and_goes_on():
    images = images_from_before_phashes()
    default_storage.delete(images["other"].file.name)
    with default_storage.open(images["small"].file.name, "wb") as handle:
        handle.write(b"not an image any more")
    with pytest.raises(CommandError, match="2 image"):
        run("--jobs", "1")
    assert set(Image.objects.filter(phash="").values_list("pk", flat=True)) == {images["other"].pk, images["small"].pk}
    assert Image.objects.get(pk=images["leak"].pk).excluded
