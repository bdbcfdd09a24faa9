import hashlib
import io
import uuid
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from factories import jpeg_bytes, mpo_bytes
from hostile_files import bad_files
from modelzoo.inference import classifier_for
from quiz.demo_images import make_demo_image
from quiz.models import Image, Source, Split, Vote
from uploads.errors import NotTheUploader, UploadError, UploadTooLarge
from uploads.models import Upload
from uploads.services import upload_classify, upload_correct, upload_create, uploads_requeue_stuck

pytestmark = pytest.mark.django_db


def photo_with_metadata(orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: rotated by EXIF, with GPS coordinates and a camera model."""
    img = make_demo_image("corrosion", seed=1, size=(120, 60))
    exif = PILImage.Exif()
    exif[0x0112] = orientation  # Orientation: rotate 90° clockwise when shown
    exif[0x0110] = "SecretPhone 9"  # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in Path(media_root).rglob("*") if p.is_file()] if Path(media_root).exists() else []


def test_it_stores_a_shared_photo_in_the_quiz_pool(settings):
    settings.UPLOAD_MODERATION = "off"
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True)
    image = upload.image
    assert (image.source, image.split, image.effective_label) == (Source.UPLOAD, Split.TRAIN, None)
    assert default_storage.exists(image.file.name)
    assert (image.shared, image.excluded) == (True, False)
    assert upload.status == Upload.Status.NO_MODEL  # no model trained yet


def test_it_queues_classification_when_a_model_is_active(active_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    assert upload.status == Upload.Status.QUEUED and len(callbacks) == 1


def test_it_strips_exif_and_gps_and_applies_orientation():
    upload = upload_create(data=photo_with_metadata(), uploader_key=uuid.uuid4())
    with upload.image.file.open("rb") as handle:
        data = handle.read()
    stored = PILImage.open(io.BytesIO(data))
    assert stored.size == (60, 120)  # turned upright, as the phone showed it
    assert not stored.getexif()
    assert b"SecretPhone" not in data and b"GPS" not in data
    assert "exif" not in stored.info and "icc_profile" not in stored.info


def test_it_keeps_only_the_primary_image_of_a_phone_photo_with_a_gain_map():
    upload = upload_create(data=mpo_bytes(size=(120, 60)), uploader_key=uuid.uuid4())
    with default_storage.open(upload.image.file.name) as handle:
        stored = PILImage.open(io.BytesIO(handle.read()))
    assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1 and stored.size == (120, 60)
    assert upload.image.file.name.endswith(".jpg")


def test_it_strips_png_text_chunks():
    buffer = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    make_demo_image("corrosion", seed=2).save(buffer, format="PNG", pnginfo=info)
    upload = upload_create(data=buffer.getvalue(), uploader_key=uuid.uuid4())
    with upload.image.file.open("rb") as handle:
        assert b"Secret Lane" not in handle.read()


def test_it_shrinks_huge_photos(settings):
    settings.UPLOAD_MAX_SIDE = 100
    upload = upload_create(data=jpeg_bytes(size=(400, 300)), uploader_key=uuid.uuid4())
    assert (upload.image.width, upload.image.height) == (100, 75)


def test_it_makes_a_thumbnail_of_each_upload(settings):
    upload = upload_create(data=jpeg_bytes(size=(1600, 1200)), uploader_key=uuid.uuid4(), shared=True)
    image = upload.image
    assert image.thumbnail.name.startswith("thumbnails/") and default_storage.exists(image.thumbnail.name)
    assert (image.thumbnail_width, image.thumbnail_height) == (640, 480)
    with default_storage.open(image.thumbnail.name, "rb") as handle, PILImage.open(handle) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (640, 480)) and not thumbnail.getexif()


def test_it_makes_one_image_of_the_same_photo_uploaded_twice():
    data = jpeg_bytes(seed=42)
    first = upload_create(data=data, uploader_key=uuid.uuid4())
    second = upload_create(data=data, uploader_key=uuid.uuid4())
    assert first.image_id == second.image_id and first.pk != second.pk
    assert Image.objects.count() == 1


@pytest.mark.parametrize("name", list(bad_files()))
def test_it_refuses_bad_files_and_leaves_nothing(name, media_root):
    data, status = bad_files()[name]
    with pytest.raises(UploadError) as error:
        upload_create(data=data, uploader_key=uuid.uuid4())
    assert error.value.status_code == status
    assert error.value.message
    assert not Upload.objects.exists() and not Image.objects.exists()
    assert stored_files(media_root) == []


def test_it_refuses_oversized_files(settings):
    settings.UPLOAD_MAX_BYTES = 2048
    with pytest.raises(UploadTooLarge, match="larger than"):
        upload_create(data=jpeg_bytes(size=(600, 400)), uploader_key=uuid.uuid4())
    assert not Image.objects.exists()


def test_it_removes_the_file_when_the_database_write_fails(monkeypatch, media_root):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Upload.objects, "create", broken)
    with pytest.raises(RuntimeError):
        upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_it_keeps_files_an_earlier_image_shows_when_the_database_write_fails(monkeypatch, media_root):
    earlier = upload_create(data=jpeg_bytes(seed=3), uploader_key=uuid.uuid4()).image
    files_before = stored_files(media_root)
    assert len(files_before) == 2  # the photo and its thumbnail

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Upload.objects, "create", broken)
    with pytest.raises(RuntimeError):
        upload_create(data=jpeg_bytes(seed=3), uploader_key=uuid.uuid4())
    assert list(Image.objects.all()) == [earlier]
    assert stored_files(media_root) == files_before


def test_it_classifies_with_the_active_model_and_renders_a_heatmap(active_model):
    upload = upload_create(data=jpeg_bytes(size=(200, 150)), uploader_key=uuid.uuid4())
    done = upload_classify(upload_id=upload.pk)
    assert done.status == Upload.Status.DONE
    with done.image.file.open("rb") as handle:
        expected = classifier_for(active_model).classify([handle.read()])[0]
    assert (done.label, done.probability) == (expected.label, pytest.approx(expected.probability))
    assert done.model_version_id == active_model.pk and done.attempts == 1
    with done.heatmap.open("rb") as handle:
        heatmap = PILImage.open(io.BytesIO(handle.read()))
        assert heatmap.format == "PNG" and heatmap.size == (200, 150)


def test_it_names_the_heatmap_by_its_content(active_model):
    upload = upload_create(data=jpeg_bytes(size=(200, 150)), uploader_key=uuid.uuid4(), shared=True)
    done = upload_classify(upload_id=upload.pk)
    with done.heatmap.open("rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    assert done.heatmap.name == f"heatmaps/{digest[:2]}/{digest}.png"


def test_it_does_not_classify_twice(active_model, media_root):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True)
    upload_classify(upload_id=upload.pk)
    again = upload_classify(upload_id=upload.pk)
    assert again.attempts == 1
    assert len(stored_files(Path(media_root) / "heatmaps")) == 1


def test_it_writes_no_heatmap_when_a_redelivered_twin_finished_first(active_model, media_root, monkeypatch):
    import modelzoo.ml.serving

    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True)
    kept = upload_classify(upload_id=upload.pk).heatmap.name
    Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.QUEUED)
    render = modelzoo.ml.serving.render_heatmap_overlay

    def twin_finishes_meanwhile(preview, cam, **kwargs):
        # The twin's verdict (with the heatmap kept) lands while this one renders other pixels.
        Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.DONE)
        return render(preview.rotate(90, expand=True), cam, **kwargs)

    monkeypatch.setattr(modelzoo.ml.serving, "render_heatmap_overlay", twin_finishes_meanwhile)
    upload_classify(upload_id=upload.pk)
    assert Upload.objects.get(pk=upload.pk).heatmap.name == kept
    assert [p.name for p in stored_files(Path(media_root) / "heatmaps")] == [Path(kept).name]


def test_it_ends_no_model_when_the_model_disappeared(active_model):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    active_model.status = "retired"
    active_model.save()
    assert upload_classify(upload_id=upload.pk).status == Upload.Status.NO_MODEL


def test_it_counts_the_uploaders_correction_as_their_vote(settings, uploader):
    settings.QUIZ_MIN_VOTES = 1
    upload = upload_create(data=jpeg_bytes(), uploader_key=uploader.key)
    upload_correct(upload_id=upload.pk, voter_key=uploader.key, corrosion=True)
    image = Image.objects.get(pk=upload.image_id)
    assert (image.votes_yes, image.votes_no, image.crowd_label) == (1, 0, "corrosion")
    upload_correct(upload_id=upload.pk, voter_key=uploader.key, corrosion=False)  # changed their mind
    image.refresh_from_db()
    assert (image.votes_yes, image.votes_no, image.crowd_label) == (0, 1, "no_corrosion")
    assert Vote.objects.count() == 1
    assert Upload.objects.get(pk=upload.pk).corrected_label == "no_corrosion"


def test_it_lets_only_the_uploader_correct(uploader):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uploader.key)
    with pytest.raises(NotTheUploader):
        upload_correct(upload_id=upload.pk, voter_key=uuid.uuid4(), corrosion=True)
    assert not Vote.objects.exists()


def test_it_requeues_uploads_whose_task_was_lost(active_model, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    settings.UPLOAD_REQUEUE_AFTER = 30
    with django_capture_on_commit_callbacks():
        upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    fresh = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    Upload.objects.filter(pk=upload.pk).update(status="running", created_at=timezone.now() - timedelta(minutes=5))
    assert uploads_requeue_stuck() == 1  # run eagerly in tests: the verdict is there now
    assert Upload.objects.get(pk=upload.pk).status == Upload.Status.DONE
    assert Upload.objects.get(pk=fresh.pk).status == Upload.Status.QUEUED
