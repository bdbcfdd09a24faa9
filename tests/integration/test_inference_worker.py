"""Uploads through the real path: HTTP API -> PostgreSQL -> Redis -> inference worker process."""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from factories import jpeg_bytes
from uploads.models import Upload
from uploads.services import uploads_requeue_stuck

pytestmark = pytest.mark.integration


def wait_for(upload_id, statuses, worker=None, seconds: float = 60) -> Upload:
    deadline = time.monotonic() + seconds
    while True:
        upload = Upload.objects.get(pk=upload_id)
        if upload.status in statuses:
            return upload
        if worker is not None:
            assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, f"upload still {upload.status} after {seconds} s"
        time.sleep(0.05)


def upload_photo(client) -> str:
    response = client.post("/api/uploads/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes(size=(300, 200)))})
    assert response.status_code == 202, response.content
    return response.json()["id"]


def mapped_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_it_gives_a_verdict_from_a_worker_that_never_loads_torch(
    transactional_db, postgres, real_broker, start_worker, active_model
):
    worker = start_worker("inference")
    client = APIClient()
    upload_id = upload_photo(client)
    upload = wait_for(upload_id, {"done"}, worker)
    assert upload.label in ("corrosion", "no_corrosion") and upload.model_version_id == active_model.pk
    body = client.get(f"/api/uploads/{upload_id}/").json()
    assert body["status"] == "done" and body["heatmap_url"]
    maps = mapped_libraries(worker.pid)
    assert "onnxruntime" in maps  # the worker did the inference itself...
    assert "libtorch" not in maps and "/torch/" not in maps  # ...without torch


def test_it_still_reaches_a_verdict_after_the_worker_is_killed_mid_task(
    transactional_db, postgres, real_broker, start_worker, active_model, settings, monkeypatch
):
    slow = start_worker("inference", INFERENCE_DELAY_SECONDS="30")
    upload_id = upload_photo(APIClient())
    wait_for(upload_id, {"running"}, slow)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    assert Upload.objects.get(pk=upload_id).status == "running"  # the task died with its worker

    worker = start_worker("inference")
    settings.UPLOAD_REQUEUE_AFTER = 1
    later = timezone.now() + timedelta(seconds=2)
    with monkeypatch.context() as clock:  # past UPLOAD_REQUEUE_AFTER without waiting for it
        clock.setattr(timezone, "now", lambda: later)
        assert uploads_requeue_stuck() == 1  # what the beat schedule does every minute
    upload = wait_for(upload_id, {"done"}, worker)
    assert upload.attempts == 2 and upload.heatmap
