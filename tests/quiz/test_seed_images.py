from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from factories import image_folder
from quiz.models import Image, Split

pytestmark = pytest.mark.django_db


def seed(**kwargs) -> str:
    out = StringIO()
    call_command("seed_images", stdout=out, **kwargs)
    return out.getvalue()


def test_it_generates_a_labelled_demo_set_and_says_so(settings):
    settings.SEED_IMAGES_DIR = None
    output = seed()
    assert "DEMO" in output and "SEED_IMAGES_DIR" in output
    # Both classes in both splits, half each, and the validation photos labelled by an expert.
    train = Image.objects.filter(split=Split.TRAIN)
    validation = Image.objects.filter(split=Split.VALIDATION)
    assert sorted(train.values_list("effective_label", flat=True)) == ["corrosion"] * 12 + ["no_corrosion"] * 12
    assert sorted(validation.values_list("expert_label", flat=True)) == ["corrosion"] * 4 + ["no_corrosion"] * 4


def test_it_does_nothing_when_the_pool_has_images(settings):
    settings.SEED_IMAGES_DIR = None
    seed()
    count = Image.objects.count()
    assert "nothing to seed" in seed()
    assert Image.objects.count() == count


def test_it_imports_train_and_validation_from_seed_images_dir(settings, tmp_path):
    image_folder(tmp_path / "train", {"corrosion": 2, "no_corrosion": 1})
    image_folder(tmp_path / "validation", {"corrosion": 1, "no_corrosion": 1}, start=50)
    settings.SEED_IMAGES_DIR = str(tmp_path)
    seed()
    assert Image.objects.filter(split=Split.TRAIN, imported_label__isnull=False).count() == 3
    assert Image.objects.filter(split=Split.VALIDATION, expert_label__isnull=False).count() == 2


def test_it_gives_every_seeded_image_its_thumbnail(settings):
    settings.SEED_IMAGES_DIR = None
    seed()
    for image in Image.objects.all():
        assert image.thumbnail.name.startswith("thumbnails/") and default_storage.exists(image.thumbnail.name)
        assert (image.thumbnail_width, image.thumbnail_height) == (image.width, image.height)  # small: not enlarged
