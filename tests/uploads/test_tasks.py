import uuid

import pytest
from django.core.files.storage import default_storage

from factories import jpeg_bytes
from uploads.models import Upload
from uploads.services import upload_create
from uploads.tasks import classify_upload

pytestmark = pytest.mark.django_db


def test_it_gives_up_after_capped_retries_with_a_reason(active_model, settings):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    default_storage.delete(upload.image.file.name)  # every attempt will fail to read the photo
    # The attempt a worker makes after UPLOAD_MAX_RETRIES retries (countdowns do not run in-process).
    classify_upload.apply(args=[str(upload.pk)], retries=settings.UPLOAD_MAX_RETRIES, throw=False)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert "FileNotFoundError" in upload.failure_reason


def test_it_retries_a_failing_attempt_before_the_cap(active_model):
    from celery.exceptions import Retry

    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    default_storage.delete(upload.image.file.name)
    with pytest.raises(Retry):
        classify_upload.apply(args=[str(upload.pk)], retries=0)
    upload.refresh_from_db()
    # Left for the retry to pick up: not failed, no reason recorded, one attempt counted.
    assert upload.status == Upload.Status.RUNNING
    assert upload.attempts == 1 and upload.failure_reason == ""


def test_it_ignores_a_redelivered_task_for_a_finished_upload(active_model):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    classify_upload.apply(args=[str(upload.pk)])
    classify_upload.apply(args=[str(upload.pk)])
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.attempts == 1


def test_it_ignores_an_unknown_upload(monkeypatch):
    from uploads import services

    failed = []
    monkeypatch.setattr(services, "upload_fail", lambda **kwargs: failed.append(kwargs))
    result = classify_upload.apply(args=[str(uuid.uuid4())])
    # Done at once: no retry scheduled, no failure recorded, no upload made up.
    assert result.successful() and result.result is None
    assert failed == [] and not Upload.objects.exists()
