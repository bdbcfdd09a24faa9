"""Near-duplicates of validation photos never reach training: caught at upload and import, flagged in the admin."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from near_duplicate_photos import (
    CHANGES,
    OTHER_SEEDS,
    VALIDATION_SEEDS,
    brighter_10_percent,
    cropped_5_percent,
    half,
    jpeg,
    photo,
    quality_60,
)

from factories import image_folder
from modelzoo.selectors import training_data, training_images_unlabelled
from quiz.imaging import make_thumbnail, phash_distance
from quiz.models import Image, Label, Split
from quiz.services import near_duplicates
from quiz.services.images import image_import
from quiz.services.near_duplicates import MAX_DISTANCE, near_duplicate_of_validation
from quiz.services.votes import vote_set
from uploads.services import upload_create

pytestmark = pytest.mark.django_db


def validation_image(seed: int) -> Image:
    return image_import(data=jpeg(photo(seed), 90), split=Split.VALIDATION, label=Label.CORROSION, expert=True).image


def train_import(data: bytes) -> Image:
    return image_import(data=data, split=Split.TRAIN, label=Label.CORROSION, expert=False).image


def import_command(*args) -> str:
    out = StringIO()
    call_command("import_images", *[str(a) for a in args], "--no-progress", "--jobs", "1", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
@pytest.mark.parametrize("seed", VALIDATION_SEEDS[:2])
def test_it_catches_a_changed_copy_of_a_validation_photo_at_upload(change, seed):
    original = validation_image(seed)
    upload = upload_create(data=change(photo(seed)), uploader_key=uuid.uuid4())
    image = Image.objects.get(pk=upload.image_id)
    assert image.sha256 != original.sha256  # other bytes: only the perceptual hash can tell
    assert image.near_duplicate_of == original and image.excluded
    assert image.phash == make_thumbnail(image.file.read()).phash


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
@pytest.mark.parametrize("seed", VALIDATION_SEEDS[2:])
def test_it_catches_a_changed_copy_of_a_validation_photo_at_import(change, seed):
    original = validation_image(seed)
    image = train_import(change(photo(seed)))
    assert image.near_duplicate_of == original and image.excluded
    assert Image.objects.get(pk=image.pk).excluded


def test_it_lets_different_photos_in(settings):
    settings.UPLOAD_MODERATION = "off"  # shared, unmoderated: nothing but a near-duplicate could keep them out
    validation = {validation_image(seed).pk for seed in VALIDATION_SEEDS}
    for seed in OTHER_SEEDS:
        upload = upload_create(data=jpeg(photo(seed), 90), uploader_key=uuid.uuid4(), shared=True)
        image = Image.objects.get(pk=upload.image_id)
        assert image.near_duplicate_of is None and not image.excluded, seed
    train = Image.objects.filter(split=Split.TRAIN)
    assert train.count() == len(OTHER_SEEDS)
    # And they are far apart, not just over the line.
    for image in train:
        for other in Image.objects.filter(pk__in=validation):
            assert phash_distance(image.phash, other.phash) > MAX_DISTANCE + 2


def test_it_never_trains_on_a_flagged_upload(settings):
    settings.UPLOAD_MODERATION = "off"
    validation_image(1)
    leaked = upload_create(data=cropped_5_percent(photo(1)), uploader_key=uuid.uuid4(), shared=True).image
    kept = upload_create(data=jpeg(photo(100), 90), uploader_key=uuid.uuid4(), shared=True).image
    assert [image_id for image_id, _ in training_images_unlabelled()] == [kept.pk]
    for image in (leaked, kept):
        vote_set(voter_key=uuid.uuid4(), image_id=image.pk, corrosion=True)
    Image.objects.filter(pk__in=[leaked.pk, kept.pk]).update(expert_label=Label.CORROSION)
    for image in Image.objects.filter(pk__in=[leaked.pk, kept.pk]):
        image.refresh_effective_label()
        image.save()
    trained_on = [source for source, _ in training_data().train]
    assert trained_on == [Image.objects.get(pk=kept.pk).file.path]
    assert Image.objects.get(pk=leaked.pk).excluded


def test_it_flags_training_images_already_in_the_pool_when_their_validation_photo_arrives():
    leaked = train_import(brighter_10_percent(photo(2)))
    other = train_import(jpeg(photo(101)))
    assert leaked.near_duplicate_of is None and not leaked.excluded
    original = validation_image(2)
    leaked.refresh_from_db()
    other.refresh_from_db()
    assert leaked.near_duplicate_of == original and leaked.excluded
    assert other.near_duplicate_of is None and not other.excluded


def test_it_checks_an_upload_without_reading_the_validation_hashes_again(django_assert_num_queries):
    validation_image(1)
    phash = make_thumbnail(jpeg(photo(1))).phash
    near_duplicate_of_validation(phash)
    # One aggregate tells the cached hashes are still the set's; no row is read.
    with django_assert_num_queries(1):
        assert near_duplicate_of_validation(phash) is not None
    # Another process hashes a validation image (make_phashes): the set changed, its hashes are read again.
    second = validation_image(2)
    Image.objects.filter(pk=second.pk).update(phash="")
    assert near_duplicate_of_validation(second.phash) is None
    Image.objects.filter(pk=second.pk).update(phash=second.phash)
    with django_assert_num_queries(2):
        assert near_duplicate_of_validation(second.phash) == second.pk


def test_it_picks_the_nearest_validation_photo(monkeypatch):
    first, second = validation_image(3), validation_image(4)
    monkeypatch.setattr(near_duplicates, "MAX_DISTANCE", 64)
    assert near_duplicate_of_validation(first.phash) == first.pk
    assert near_duplicate_of_validation(second.phash) == second.pk


def test_it_reports_near_duplicates_across_the_splits_at_import(tmp_path):
    train = image_folder(tmp_path / "train", {"corrosion": 2}, start=50)
    (train / "corrosion" / "copy_of_1.jpg").write_bytes(cropped_5_percent(photo(1)))
    (train / "corrosion" / "copy_of_2.jpg").write_bytes(half(photo(2)))
    validation = tmp_path / "validation" / "corrosion"
    validation.mkdir(parents=True)
    (validation / "one.jpg").write_bytes(jpeg(photo(1), 90))
    (validation / "two.jpg").write_bytes(jpeg(photo(2), 90))

    output = import_command(train)
    assert "Near-duplicates across the train and validation splits: 0 pair(s)" in output
    output = import_command(tmp_path / "validation", "--split", "validation", "--expert")
    assert "2 pair(s) within 10 bits of the perceptual hash; 2 training image(s) newly taken out of the pool" in output
    one, two = Image.objects.get(original_name="one.jpg"), Image.objects.get(original_name="two.jpg")
    copy_1, copy_2 = Image.objects.get(original_name="copy_of_1.jpg"), Image.objects.get(original_name="copy_of_2.jpg")
    assert f"train #{copy_1.pk} (copy_of_1.jpg) ~ validation #{one.pk} (one.jpg)" in output
    assert f"train #{copy_2.pk} (copy_of_2.jpg) ~ validation #{two.pk} (two.jpg)" in output
    assert (copy_1.near_duplicate_of, copy_2.near_duplicate_of) == (one, two)
    assert Image.objects.filter(split=Split.TRAIN, excluded=False).count() == 2

    # Importing the training folder again finds the same pairs, against the pool; nothing new is flagged.
    output = import_command(train)
    assert "2 pair(s) within 10 bits of the perceptual hash; 0 training image(s) newly taken out" in output


def test_it_reports_files_that_are_already_an_image_of_the_other_split(tmp_path):
    folder = tmp_path / "validation" / "corrosion"
    folder.mkdir(parents=True)
    data = jpeg(photo(3), 90)
    (folder / "same.jpg").write_bytes(data)
    existing = train_import(data)
    output = import_command(tmp_path / "validation", "--split", "validation", "--expert")
    assert "1 file(s) are already in the pool as an image of another split than validation" in output
    assert f"same.jpg is train image #{existing.pk}" in output


def test_it_lists_at_most_twenty_pairs(tmp_path, monkeypatch):
    monkeypatch.setattr(near_duplicates, "MAX_DISTANCE", 64)
    for seed in range(1, 6):
        validation_image(seed)
    output = import_command(image_folder(tmp_path / "train", {"corrosion": 5}))
    assert "25 pair(s)" in output and "… and 5 more" in output
    assert output.count(" bit(s) apart") == 20


def test_it_shows_near_duplicates_in_the_admin(admin_client):
    original = validation_image(1)
    leaked = train_import(quality_60(photo(1)))
    kept = train_import(jpeg(photo(100)))
    response = admin_client.get("/admin/quiz/image/?near_duplicate=yes")
    assert [row.pk for row in response.context["cl"].result_list] == [leaked.pk]
    link = f'<a href="/admin/quiz/image/{original.pk}/change/">validation #{original.pk}</a>'
    assert link in response.content.decode()
    response = admin_client.get("/admin/quiz/image/?near_duplicate=no")
    assert {row.pk for row in response.context["cl"].result_list} == {original.pk, kept.pk}
    page = admin_client.get(f"/admin/quiz/image/{leaked.pk}/change/").content.decode()
    assert f"/admin/quiz/image/{original.pk}/change/" in page and leaked.phash in page
