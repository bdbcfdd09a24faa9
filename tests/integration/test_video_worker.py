"""Videos through the real path: HTTP API -> PostgreSQL -> Redis -> `video` worker process -> decoder child."""

import time
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from video_clips import make_clip

from corrosiondetector.media import private_storage
from videos.models import Video
from videos.tasks import analyse_video

pytestmark = pytest.mark.integration


def wait_for(video_id, statuses, worker, seconds: float = 90) -> Video:
    deadline = time.monotonic() + seconds
    while True:
        video = Video.objects.get(pk=video_id)
        if video.status in statuses:
            return video
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, f"video still {video.status} after {seconds} s"
        time.sleep(0.1)


def test_it_classifies_a_clip_on_the_video_queue_and_survives_a_hostile_file(
    transactional_db, postgres, real_broker, start_worker, active_model, tmp_path
):
    worker = start_worker("video")
    hostile_name = private_storage.save(
        f"unshared/videos/{uuid.uuid4()}/source.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"\xde\xad" * 3000)
    )
    hostile = Video.objects.create(uploader_key=uuid.uuid4(), file=hostile_name, size=6000, every_s=1.0)
    analyse_video.delay(str(hostile.pk))
    failed = wait_for(hostile.pk, {"failed", "done"}, worker)
    assert failed.status == "failed" and failed.failure_reason

    client = APIClient()
    clip = make_clip(tmp_path / "clip.mp4", seconds=5, corroded={1, 2})
    response = client.post(
        "/api/videos/", {"video": SimpleUploadedFile("clip.mp4", clip.read_bytes())}, format="multipart"
    )
    assert response.status_code == 202, response.content
    video = wait_for(response.json()["id"], {"done", "failed"}, worker)
    assert video.status == "done", video.failure_reason
    body = client.get(f"/api/videos/{video.pk}/").json()
    assert body["progress"] == {"done": 5, "total": 5} and body["model_version"] == active_model.version
    assert [frame["t"] for frame in body["frames"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(0.0 <= frame["probability"] <= 1.0 for frame in body["frames"])
    maps = Path(f"/proc/{worker.pid}/maps").read_text()
    assert "onnxruntime" in maps and "libtorch" not in maps and "/torch/" not in maps
