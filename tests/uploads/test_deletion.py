"""Deletion and retention: every path leaves no row of the photo, no vote it fed, and no file behind."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from factories import jpeg_bytes, make_image, make_model_version
from modelzoo.models import ModelVersion
from quiz.models import Image, Vote, Voter, VoteTally
from quiz.services.votes import vote_set
from uploads.models import Upload
from uploads.services import upload_correct, upload_create, upload_remove, uploads_delete_expired
from uploads.tasks import delete_expired_uploads

pytestmark = pytest.mark.django_db
URL = "/api/uploads/"


def files_under(root) -> set[str]:
    """Every file under MEDIA_ROOT: the public storage's and the private one's (unshared/, models/)."""
    root = Path(root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def tally() -> tuple[int, int]:
    totals = VoteTally.objects.aggregate(votes=Sum("votes"), yes=Sum("yes"))
    return totals["votes"] or 0, totals["yes"] or 0


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def classified(uploader, active_model, run_on_commit, settings):
    """The uploader's classified photo, with their vote and two volunteers' votes on it."""
    settings.QUIZ_MIN_VOTES = 1

    def make(shared: bool = False, data: bytes | None = None) -> Upload:
        photo = SimpleUploadedFile("p.jpg", data or jpeg_bytes())
        with run_on_commit(execute=True):
            body = uploader.client.post(URL, {"image": photo, "share": str(shared).lower()}).json()
        upload = Upload.objects.get(pk=body["id"])
        assert upload.status == Upload.Status.DONE and upload.heatmap
        upload_correct(upload_id=upload.pk, voter_key=uploader.key, corrosion=True)
        for corrosion in (True, False):
            vote_set(voter_key=uuid.uuid4(), image_id=upload.image_id, corrosion=corrosion)
        return upload

    return make


def assert_gone_without_a_trace(upload: Upload, media_root, files_before: set[str]) -> None:
    assert not Upload.objects.filter(pk=upload.pk).exists()
    assert not Image.objects.filter(pk=upload.image_id).exists()
    assert not Vote.objects.exists()
    assert not Voter.objects.filter(votes_cast__gt=0).exists()
    assert tally() == (0, 0)
    assert files_under(media_root) == files_before


def test_it_deletes_an_upload_through_the_api_for_its_uploader_alone(uploader, classified, media_root, run_on_commit):
    before = files_under(media_root)
    upload = classified()
    assert files_under(media_root) - before, "the upload wrote no file to check"
    assert tally() == (3, 2)
    for stranger in (APIClient(), Client()):
        assert stranger.delete(f"{URL}{upload.pk}/").status_code == 404
    assert Upload.objects.filter(pk=upload.pk).exists()
    with run_on_commit(execute=True):
        response = uploader.client.delete(f"{URL}{upload.pk}/")
    assert response.status_code == 204 and not response.content
    assert_gone_without_a_trace(upload, media_root, before)
    assert uploader.client.delete(f"{URL}{upload.pk}/").status_code == 404


def test_it_deletes_an_upload_from_its_page_with_a_csrf_protected_form(uploader, classified, media_root, run_on_commit):
    before = files_under(media_root)
    upload = classified(shared=True)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = uploader.client.cookies
    page = browser.get(f"/upload/{upload.pk}/").content.decode()
    assert f'action="/upload/{upload.pk}/delete/"' in page and "csrfmiddlewaretoken" in page
    assert browser.post(f"/upload/{upload.pk}/delete/").status_code == 403  # no CSRF token
    token = browser.cookies["csrftoken"].value
    with run_on_commit(execute=True):
        response = browser.post(f"/upload/{upload.pk}/delete/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/uploads/mine/"
    assert_gone_without_a_trace(upload, media_root, before)


def test_it_deletes_uploads_from_the_admin_one_and_in_bulk(admin_client, classified, media_root, run_on_commit):
    before = files_under(media_root)
    first, second, third = classified(), classified(shared=True), classified()
    with run_on_commit(execute=True):
        response = admin_client.post(f"/admin/uploads/upload/{first.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Image.objects.filter(pk=first.image_id).exists()
    with run_on_commit(execute=True):
        admin_client.post(
            "/admin/uploads/upload/",
            {"action": "delete_selected", "_selected_action": [second.pk, third.pk], "post": "yes"},
        )
    for upload in (first, second, third):
        assert_gone_without_a_trace(upload, media_root, before)


def test_it_deletes_images_from_the_admin_with_their_files_votes_and_uploads(
    admin_client, classified, media_root, run_on_commit
):
    before = files_under(media_root)
    first, second, third = classified(), classified(shared=True), classified()
    seed = make_image(label=None)
    vote_set(voter_key=uuid.uuid4(), image_id=seed.pk, corrosion=True)
    with run_on_commit(execute=True):
        admin_client.post(f"/admin/quiz/image/{first.image_id}/delete/", {"post": "yes"})
    with run_on_commit(execute=True):
        admin_client.post(
            "/admin/quiz/image/",
            {
                "action": "delete_selected",
                "_selected_action": [second.image_id, third.image_id, seed.pk],
                "post": "yes",
            },
        )
    for upload in (first, second, third):
        assert_gone_without_a_trace(upload, media_root, before)


def test_it_keeps_a_photo_other_uploads_hold_and_takes_back_only_this_uploaders_vote(
    uploader, classified, media_root, settings, run_on_commit
):
    data = jpeg_bytes()
    upload = classified(shared=True, data=data)
    with run_on_commit(execute=True):
        other = upload_create(data=data, uploader_key=uuid.uuid4(), shared=False)
    other.refresh_from_db()
    assert other.image_id == upload.image_id
    image = Image.objects.get(pk=upload.image_id)
    assert (image.votes_yes, image.votes_no, image.crowd_label) == (2, 1, "corrosion")
    with run_on_commit(execute=True):
        assert uploader.client.delete(f"{URL}{upload.pk}/").status_code == 204
    image.refresh_from_db()
    # 1 yes, 1 no: a tie, so no crowd label any more.
    assert (image.votes_yes, image.votes_no, image.crowd_label) == (1, 1, None)
    assert not Vote.objects.filter(voter__key=uploader.key).exists()
    assert Voter.objects.get(key=uploader.key).votes_cast == 0 and tally() == (2, 1)
    # Its last shared upload gone, the photo is private again: its files moved off the public storage.
    assert (image.shared, image.excluded) == (False, True)
    names = {image.file.name, image.thumbnail.name, other.heatmap.name} - {""}
    assert all(name.startswith("unshared/") for name in names) and names <= files_under(media_root)
    assert not any(name.split("/")[0] in ("images", "thumbnails", "heatmaps") for name in files_under(media_root))


def test_it_records_the_withdrawal_on_every_version_that_trained_on_the_photo(uploader, classified, run_on_commit):
    upload = classified()
    trained = make_model_version(version=2, val_accuracy=0.7)
    ModelVersion.objects.filter(pk=trained.pk).update(train_image_ids=[upload.image_id, 999_999])
    with run_on_commit(execute=True):
        uploader.client.delete(f"{URL}{upload.pk}/")
    trained.refresh_from_db()
    assert [entry["image_id"] for entry in trained.withdrawn_images] == [upload.image_id]
    assert ModelVersion.objects.get(version=1).withdrawn_images == []  # the active model never saw it


def test_it_shows_the_withdrawn_photos_in_the_model_version_admin(admin_client):
    version = make_model_version(version=1, val_accuracy=0.7)
    ModelVersion.objects.filter(pk=version.pk).update(
        withdrawn_images=[{"image_id": 4242, "withdrawn_at": "2026-12-02T00:00:00+00:00"}]
    )
    page = admin_client.get(f"/admin/modelzoo/modelversion/{version.pk}/change/").content.decode()
    assert "Images deleted after it trained on them" in page and "<td>4242</td>" in page
    listing = admin_client.get("/admin/modelzoo/modelversion/").content.decode()
    assert "Withdrawn images" in listing


def test_it_leaves_everything_in_place_when_the_deletion_rolls_back(classified, media_root, run_on_commit):
    upload = classified()
    before = files_under(media_root)
    with run_on_commit(execute=True) as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            upload_remove(upload_id=upload.pk)
            raise RuntimeError("something later in the same transaction failed")
    assert callbacks == []
    assert Upload.objects.filter(pk=upload.pk).exists() and Vote.objects.count() == 3
    assert files_under(media_root) == before


def test_it_deletes_unshared_uploads_after_the_retention_period(
    uploader, classified, media_root, settings, monkeypatch, run_on_commit
):
    settings.UPLOAD_RETENTION_DAYS = 30
    before = files_under(media_root)
    private, kept_shared = classified(), classified(shared=True)
    created = timezone.now()
    later = created + timedelta(days=29, hours=23)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert delete_expired_uploads.apply().get() == 0
    assert Upload.objects.count() == 2
    later = created + timedelta(days=30, minutes=1)
    with run_on_commit(execute=True):
        assert delete_expired_uploads.apply().get() == 1
    assert list(Upload.objects.values_list("pk", flat=True)) == [kept_shared.pk]
    assert not Image.objects.filter(pk=private.image_id).exists()
    assert files_under(media_root) - before == {
        kept_shared.image.file.name,
        kept_shared.image.thumbnail.name,
        kept_shared.heatmap.name,
    }
    assert uploads_delete_expired() == 0  # idempotent: nothing left to do


def test_it_registers_the_retention_schedule():
    from django_celery_beat.models import PeriodicTask

    from uploads.apps import RETENTION_SCHEDULE_NAME

    task = PeriodicTask.objects.get(name=RETENTION_SCHEDULE_NAME)
    assert task.task == "uploads.tasks.delete_expired_uploads" and task.enabled
