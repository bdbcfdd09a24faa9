from io import StringIO
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from factories import image_folder, jpeg_bytes
from quiz.models import Image, Label, LabelSource, Split

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("import_images", *[str(a) for a in args], "--no-progress", "--jobs", "1", stdout=out)
    return out.getvalue()


def test_it_imports_folder_names_as_imported_labels(tmp_path):
    folder = image_folder(tmp_path / "set", {"corrosion": 3, "no_corrosion": 2})
    output = run(folder)
    assert "Imported 5 new image(s)" in output
    assert Image.objects.filter(imported_label=Label.CORROSION).count() == 3
    assert Image.objects.filter(imported_label=Label.NO_CORROSION).count() == 2
    image = Image.objects.first()
    assert image.label_source == LabelSource.IMPORTED
    assert image.split == Split.TRAIN
    assert default_storage.exists(image.file.name)


def test_it_imports_a_folder_without_labels_for_the_crowd(tmp_path):
    folder = image_folder(tmp_path / "set", {"corrosion": 2, "no_corrosion": 1})
    (folder / "loose.jpg").write_bytes(jpeg_bytes(seed=99))
    output = run(folder, "--unlabelled")
    assert "Imported 4 new image(s)" in output
    assert Image.objects.filter(split=Split.TRAIN, effective_label__isnull=True).count() == 4


def test_it_refuses_unlabelled_validation_images(tmp_path):
    folder = image_folder(tmp_path / "val", {"corrosion": 1})
    with pytest.raises(CommandError, match="--unlabelled"):
        run(folder, "--unlabelled", "--split", "validation", "--expert")


def test_it_imports_expert_labels_into_validation(tmp_path):
    folder = image_folder(tmp_path / "val", {"corrosion": 2, "no_corrosion": 2})
    run(folder, "--split", "validation", "--expert")
    assert Image.objects.filter(split=Split.VALIDATION, expert_label__isnull=False).count() == 4
    assert not Image.objects.filter(imported_label__isnull=False).exists()


def test_it_refuses_validation_without_expert_labels(tmp_path):
    folder = image_folder(tmp_path / "val", {"corrosion": 1})
    with pytest.raises(CommandError, match="--expert"):
        run(folder, "--split", "validation")
    assert Image.objects.count() == 0


def test_it_treats_reimporting_the_same_pictures_as_a_no_op(tmp_path):
    folder = image_folder(tmp_path / "set", {"corrosion": 2, "no_corrosion": 2})
    run(folder)
    files_before = sorted(p.name for p in Path(default_storage.location).rglob("*.jpg"))
    output = run(folder)
    assert "Imported 0 new image(s)" in output and "4 already present" in output
    assert Image.objects.count() == 4
    assert sorted(p.name for p in Path(default_storage.location).rglob("*.jpg")) == files_before


def test_it_skips_bad_files_and_leaves_nothing_of_them(tmp_path):
    folder = image_folder(tmp_path / "set", {"corrosion": 2})
    (folder / "corrosion" / "notes.jpg").write_bytes(b"this is a text file")
    good = jpeg_bytes(seed=99, size=(200, 150))
    (folder / "corrosion" / "cut.jpg").write_bytes(good[: len(good) // 3])
    (folder / "corrosion" / "empty.png").write_bytes(b"")
    output = run(folder)
    assert "3 skipped as unreadable" in output
    assert Image.objects.count() == 2
    stored = sorted(str(p.relative_to(default_storage.location)) for p in Path(default_storage.location).rglob("*.*"))
    assert stored == sorted(
        [image.file.name for image in Image.objects.all()] + [image.thumbnail.name for image in Image.objects.all()]
    )


def test_it_fails_clearly_on_a_folder_without_class_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no images found"):
        run(tmp_path / "empty")
    with pytest.raises(CommandError, match="not a directory"):
        run(tmp_path / "missing")


def test_it_decodes_in_worker_processes(tmp_path):
    folder = image_folder(tmp_path / "set", {"corrosion": 3, "no_corrosion": 3})
    out = StringIO()
    call_command("import_images", str(folder), "--no-progress", "--jobs", "2", stdout=out)
    assert Image.objects.count() == 6


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_it_stores_a_thumbnail_with_every_imported_image(tmp_path, jobs):
    folder = tmp_path / "set" / "corrosion"
    folder.mkdir(parents=True)
    (folder / "big.jpg").write_bytes(jpeg_bytes(seed=3, size=(1280, 800)))
    (folder / "small.png").write_bytes(jpeg_bytes(seed=4, size=(200, 100), fmt="PNG"))
    call_command("import_images", str(tmp_path / "set"), "--no-progress", "--jobs", jobs, stdout=StringIO())
    sizes = {}
    for image in Image.objects.all():
        assert image.thumbnail.name.startswith("thumbnails/") and image.thumbnail.name.endswith(".jpg")
        assert default_storage.exists(image.thumbnail.name)
        sizes[image.original_name] = (image.thumbnail_width, image.thumbnail_height)
    assert sizes == {"big.jpg": (640, 400), "small.png": (200, 100)}
