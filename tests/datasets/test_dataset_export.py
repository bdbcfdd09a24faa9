import csv
import io
import os
import re
import tracemalloc
import zipfile

import pytest
from django.http import StreamingHttpResponse
from PIL import Image as PilImage

from datasets.apis import dataset_zip_response
from datasets.export import CSV_COLUMNS, DatasetExport, zip_stream
from datasets.selectors import ExportOptionsError, dataset_export_select
from factories import make_image
from quiz.models import Image, Label, LabelSource, Split
from quiz.services.images import image_import

pytestmark = pytest.mark.django_db


def exported(**options) -> zipfile.ZipFile:
    data = b"".join(DatasetExport(dataset_export_select(**options)).chunks())
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


def photos(archive: zipfile.ZipFile) -> list[str]:
    return [name for name in archive.namelist() if name not in ("labels.csv", "README.md")]


def labels(archive: zipfile.ZipFile) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))


def ids(selection) -> set[int]:
    return set(selection.image_ids)


def noise_image(side: int = 480) -> Image:
    """A photo of random noise: JPEG cannot shrink it, so it stays big (~200 KB at this size)."""
    buffer = io.BytesIO()
    PilImage.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "JPEG", quality=90)
    return image_import(data=buffer.getvalue(), split=Split.TRAIN, label=Label.CORROSION, expert=False).image


# --- which photos leave -------------------------------------------------------------------------------


def test_it_never_exports_excluded_or_unlabelled_images():
    kept = make_image(label=Label.CORROSION)
    make_image(label=None)
    make_image(label=Label.CORROSION, excluded=True, excluded_reason="a face")
    make_image(split=Split.VALIDATION, label=Label.NO_CORROSION, excluded=True)
    assert ids(dataset_export_select()) == {kept.pk}
    assert ids(dataset_export_select(base=Image.objects.all(), min_votes=0, balanced=False)) == {kept.pk}


def test_it_keeps_images_with_enough_votes_or_an_expert_label():
    crowd = make_image(label=None, votes_yes=4, votes_no=1, vote_count=5)
    make_image(label=Label.CORROSION, votes_yes=1, vote_count=1)  # imported label, too few votes
    train_expert = make_image(label=Label.NO_CORROSION, expert=True)  # no votes at all
    validation = make_image(split=Split.VALIDATION, label=Label.CORROSION)
    assert ids(dataset_export_select(min_votes=5)) == {crowd.pk, train_expert.pk, validation.pk}
    assert len(dataset_export_select(min_votes=0)) == 4


def test_it_balances_classes_within_each_split_keeping_the_lowest_hashes():
    train_corrosion = [make_image(label=Label.CORROSION) for _ in range(3)]
    train_clean = make_image(label=Label.NO_CORROSION)
    validation_corrosion = make_image(split=Split.VALIDATION, label=Label.CORROSION)
    validation_clean = [make_image(split=Split.VALIDATION, label=Label.NO_CORROSION) for _ in range(2)]

    selection = dataset_export_select(balanced=True)

    lowest = min(train_corrosion, key=lambda image: image.sha256)
    lowest_clean = min(validation_clean, key=lambda image: image.sha256)
    assert ids(selection) == {lowest.pk, train_clean.pk, validation_corrosion.pk, lowest_clean.pk}
    assert dataset_export_select(balanced=True).image_ids == selection.image_ids


def test_it_drops_a_split_with_one_class_from_a_balanced_export():
    make_image(label=Label.CORROSION)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    selection = dataset_export_select(balanced=True)
    assert {Image.objects.get(pk=pk).split for pk in selection.image_ids} == {Split.VALIDATION}


def test_it_balances_after_the_vote_floor_and_the_split_filter():
    for _ in range(2):
        make_image(label=None, votes_yes=5, vote_count=5)
    make_image(label=None, votes_no=5, vote_count=5)
    make_image(label=Label.NO_CORROSION)  # no votes: below the floor
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    selection = dataset_export_select(split="train", min_votes=5, balanced=True)
    chosen = Image.objects.filter(pk__in=selection.image_ids)
    assert sorted(chosen.values_list("effective_label", flat=True)) == [Label.CORROSION, Label.NO_CORROSION]
    assert {image.split for image in chosen} == {Split.TRAIN}


def test_it_filters_by_split():
    train = make_image(label=Label.CORROSION)
    validation = make_image(split=Split.VALIDATION)
    assert ids(dataset_export_select(split="validation")) == {validation.pk}
    assert ids(dataset_export_select(split="train")) == {train.pk}
    assert ids(dataset_export_select(split="all")) == {train.pk, validation.pk}


@pytest.mark.parametrize("options", [{"split": "test"}, {"split": ""}, {"min_votes": -1}])
def test_it_refuses_options_that_make_no_export(options):
    with pytest.raises(ExportOptionsError):
        dataset_export_select(**options)


def test_it_exports_only_within_the_given_base_queryset():
    chosen = make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    excluded = make_image(label=Label.NO_CORROSION, excluded=True)
    base = Image.objects.filter(pk__in=[chosen.pk, excluded.pk]).order_by("-pk")
    assert dataset_export_select(base=base).image_ids == [chosen.pk]


def test_it_leaves_out_a_photo_excluded_after_the_selection():
    first, second = make_image(label=Label.CORROSION), make_image(label=Label.NO_CORROSION)
    selection = dataset_export_select()
    Image.objects.filter(pk=second.pk).update(excluded=True)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(DatasetExport(selection).chunks())))
    assert [row["file"] for row in labels(archive)] == photos(archive) == [f"train/corrosion/{first.sha256[:16]}.jpg"]


def test_it_leaves_out_photos_whose_file_is_gone_and_says_so():
    kept, lost = make_image(label=Label.CORROSION), make_image(label=Label.NO_CORROSION)
    lost.file.storage.delete(lost.file.name)
    export = DatasetExport(dataset_export_select())
    archive = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks())))
    assert photos(archive) == [f"train/corrosion/{kept.sha256[:16]}.jpg"]
    assert export.missing == [lost.pk]
    assert "1 selected photos were left out" in archive.read("README.md").decode()


# --- what the zip holds -------------------------------------------------------------------------------


def test_it_lays_photos_out_as_an_image_folder():
    train = make_image(label=Label.CORROSION)
    validation = make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    archive = exported()
    assert photos(archive) == [
        f"train/corrosion/{train.sha256[:16]}.jpg",
        f"validation/no_corrosion/{validation.sha256[:16]}.jpg",
    ]
    with train.file.open("rb") as original:
        assert archive.read(f"train/corrosion/{train.sha256[:16]}.jpg") == original.read()
    assert archive.getinfo(photos(archive)[0]).compress_type == zipfile.ZIP_STORED


def test_it_writes_a_labels_csv_row_per_photo_with_votes_and_provenance():
    crowd = make_image(label=Label.NO_CORROSION, votes_yes=1, votes_no=3, vote_count=4)
    overruled = make_image(label=None, votes_yes=5, vote_count=5, expert_label=Label.NO_CORROSION)
    archive = exported()
    header = archive.read("labels.csv").decode().splitlines()[0]
    assert header.split(",") == CSV_COLUMNS
    rows = {row["file"]: row for row in labels(archive)}
    assert set(rows) == set(photos(archive))
    assert rows[f"train/no_corrosion/{crowd.sha256[:16]}.jpg"] == {
        "file": f"train/no_corrosion/{crowd.sha256[:16]}.jpg",
        "split": "train",
        "effective_label": "no_corrosion",
        "label_source": LabelSource.IMPORTED,
        "yes_votes": "1",
        "no_votes": "3",
        "agreement": "0.7500",
        "expert_label": "",
        # Counters set directly, no vote rows: nothing to split by wording.
        "yes_votes_any": "0",
        "no_votes_any": "0",
        "yes_votes_repair": "0",
        "no_votes_repair": "0",
    }
    row = rows[f"train/no_corrosion/{overruled.sha256[:16]}.jpg"]
    assert (row["label_source"], row["expert_label"], row["yes_votes"], row["agreement"]) == (
        LabelSource.EXPERT,
        "no_corrosion",
        "5",
        "1.0000",
    )


def test_it_writes_a_readme_with_counts_date_and_provenance():
    for _ in range(2):
        make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    readme = exported(min_votes=3).read("README.md").decode()
    # Only the validation photo has an expert label; the train photos have no votes.
    assert "| train | 0 | 0 | 0 |" in readme and "| validation | 0 | 1 | 1 |" in readme
    readme = exported().read("README.md").decode()
    assert "| train | 2 | 1 | 3 |" in readme and "| validation | 0 | 1 | 1 |" in readme
    assert re.search(r"Exported \d{4}-\d\d-\d\d \d\d:\d\d UTC: 4 photos", readme)
    assert "crowd-sourced" in readme and "label_source" in readme and "never exported" in readme


def test_it_describes_majority_voting_when_the_site_counts_votes(settings):
    settings.QUIZ_AGGREGATION, settings.QUIZ_MIN_VOTES = "majority", 5
    make_image(label=Label.CORROSION)
    readme = exported().read("README.md").decode()
    assert "Once a photo has 5 votes its crowd label is the majority" in readme
    assert "Dawid–Skene" not in readme


def test_it_describes_weighted_aggregation_when_the_site_weighs_votes(settings):
    settings.QUIZ_AGGREGATION = "weighted"
    settings.QUIZ_MIN_VOTES, settings.QUIZ_MIN_VOTES_CONFIDENT, settings.QUIZ_LABEL_CONFIDENCE = 5, 3, 0.95
    make_image(label=Label.CORROSION)
    readme = exported().read("README.md").decode()
    assert "majority" not in readme.replace("majority side", "")
    assert "Dawid–Skene" in readme and "reliability" in readme
    assert "once 3 votes make it at least 95% likely" in readme and "once it has 5 votes" in readme


def test_it_writes_a_valid_zip_when_nothing_matches():
    archive = exported(balanced=True)
    assert archive.namelist() == ["labels.csv", "README.md"]
    assert labels(archive) == []


# --- streaming ----------------------------------------------------------------------------------------


def test_it_zips_each_entry_only_when_its_turn_comes():
    produced = []

    def producer(name, size):
        def produce():
            produced.append(name)
            for _ in range(size // 1000):
                yield b"x" * 1000

        return produce

    stream = zip_stream([("a.bin", producer("a", 200_000)), ("b.bin", producer("b", 200_000))])
    first = next(stream)
    assert produced == ["a"] and first.startswith(b"PK\x03\x04")
    rest = b"".join(stream)
    assert produced == ["a", "b"]
    archive = zipfile.ZipFile(io.BytesIO(first + rest))
    assert archive.read("b.bin") == b"x" * 200_000 and archive.testzip() is None


def test_it_streams_a_big_export_in_many_chunks_with_bounded_memory():
    for _ in range(30):
        noise_image()
    selection = dataset_export_select()
    response = dataset_zip_response(selection)
    assert isinstance(response, StreamingHttpResponse)

    tracemalloc.start()
    try:
        total = chunks = largest = 0
        for chunk in response.streaming_content:
            total, chunks, largest = total + len(chunk), chunks + 1, max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    response.close()

    assert total > 30 * 150_000 and chunks >= 30
    assert largest < 256 * 1024
    # Fixed buffers and one batch of rows (about 0.5 MB), never the archive (over 6 MB).
    assert peak < total / 5, f"peak {peak} bytes for a {total}-byte zip"
