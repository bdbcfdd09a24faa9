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


def make_long_clip(path: Path, *, seconds: int, fps: int = 10, size=(640, 480)) -> Path:
    """A VGA clip long enough that its analysis takes a few seconds (time to kill a worker): a slow fade,
    so no frame is a scene change and one frame a second is sampled."""
    import av
    import numpy as np

    ramp = np.linspace(0, 255, size[0], dtype=np.float32)[None, :, None]
    total = seconds * fps
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(total):
            pixels = np.broadcast_to((ramp * index / total), (size[1], size[0], 3)).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def test_it_finishes_a_video_whose_worker_was_killed_mid_video(
    transactional_db, postgres, real_broker, start_worker, active_model, tmp_path, settings
):
    import os
    import signal

    from videos.tasks import requeue_stuck_videos

    # Short heartbeats, so the test need not wait minutes for the video to look abandoned.
    timing = {"VIDEO_HEARTBEAT_SECONDS": "0.2", "VIDEO_STALE_AFTER": "2"}
    settings.VIDEO_HEARTBEAT_SECONDS, settings.VIDEO_STALE_AFTER = 0.2, 2.0
    worker = start_worker("video", **timing)
    clip = make_long_clip(tmp_path / "long.mp4", seconds=60)
    client = APIClient()
    response = client.post(
        "/api/videos/", {"video": SimpleUploadedFile("long.mp4", clip.read_bytes())}, format="multipart"
    )
    assert response.status_code == 202, response.content
    video_id = response.json()["id"]
    running = wait_for(video_id, {"running", "done", "failed"}, worker, seconds=60)
    assert running.status == "running", "the worker finished before it could be killed"
    # SIGKILL to the worker's whole process group (the decoder child too): no goodbye, no ack.
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    killed = Video.objects.get(pk=video_id)
    assert killed.status == "running" and killed.progress_done < 60 and killed.attempts == 1

    # A worker comes back; the beat's requeue task (on the default queue) finds the stale heartbeat.
    restarted = start_worker("video,default", **timing)
    time.sleep(2.5)
    requeue_stuck_videos.delay()
    done = wait_for(video_id, {"done", "failed"}, restarted, seconds=120)
    assert done.status == "done", done.failure_reason
    assert done.attempts == 2 and done.progress_done == done.progress_total == len(done.frames) == 60
    assert [frame["t"] for frame in done.frames][:3] == [0.0, 1.0, 2.0]


def test_it_keeps_serving_after_a_subset_of_the_hostile_corpus(
    transactional_db, postgres, real_broker, start_worker, active_model, tmp_path, settings
):
    from hostile_videos import hostile_videos

    # The same caps for the web side (this process) and the worker (its environment).
    caps = {
        "VIDEO_MAX_BYTES": 3 * 1024 * 1024,
        "VIDEO_MAX_SECONDS": 150,
        "VIDEO_MAX_FRAME_PIXELS": 640 * 480,
        "VIDEO_DECODE_TIMEOUT": 30,
    }
    for name, value in caps.items():
        setattr(settings, name, value)
    settings.UPLOAD_RATE_PER_VOTER = settings.UPLOAD_RATE_PER_IP = 0
    worker = start_worker("video", **{name: str(value) for name, value in caps.items()})
    corpus = hostile_videos(tmp_path / "corpus", one_pixel_frames=2000)
    # Those the upload's probe lets through, so the worker's own decode meets them: one of each kind at most.
    by_kind = {}
    for hostile in corpus:
        by_kind.setdefault(hostile.kind, []).append(hostile)
    picked = [hostiles[len(hostiles) // 2] for hostiles in by_kind.values()] + by_kind["bit-flipped"][:6]
    client = APIClient()
    accepted = []
    for hostile in picked:
        response = client.post(
            "/api/videos/", {"video": SimpleUploadedFile(hostile.name, hostile.path.read_bytes())}, format="multipart"
        )
        assert response.status_code in {202, 400, 413, 415}, (hostile.name, response.content)
        if response.status_code == 202:
            accepted.append((hostile, response.json()["id"]))
    assert len(accepted) >= 5
    for hostile, video_id in accepted:
        video = wait_for(video_id, {"done", "failed"}, worker, seconds=120)
        assert video.status == "failed" and video.failure_reason or hostile.may_decode, hostile.name
    clip = make_clip(tmp_path / "good.mp4", seconds=3, corroded={1})
    response = client.post(
        "/api/videos/", {"video": SimpleUploadedFile("good.mp4", clip.read_bytes())}, format="multipart"
    )
    assert wait_for(response.json()["id"], {"done", "failed"}, worker).status == "done"
