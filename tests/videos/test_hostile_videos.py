"""The hostile-video corpus (tests/hostile_videos.py, 200+ generated files) through the real upload and decode
path: the API, the probe and the sampler in their child processes, the analysis as the worker runs it
(eagerly, in this process: one decoder child per step, not 200 worker round trips). The real worker meets a
subset in tests/integration/test_video_worker.py."""

import collections
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hostile_videos import hostile_videos
from rest_framework.test import APIClient

from corrosiondetector.media import private_storage
from videos.models import Video

REFUSALS = {400, 413, 415}
# Uploads sent at once: the time goes into the decoder's child processes, which run side by side.
PARALLEL = 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return hostile_videos(tmp_path_factory.mktemp("hostile-videos"))


@pytest.fixture
def caps(settings):
    # Lowered so that "huge" and "too long" need no gigabytes or hours; the decoder gets a short leash.
    settings.VIDEO_MAX_BYTES = 3 * 1024 * 1024
    settings.UPLOAD_RATE_PER_VOTER = settings.UPLOAD_RATE_PER_IP = 0  # 220 uploads in a minute
    settings.VIDEO_MAX_SECONDS = 150
    settings.VIDEO_MAX_FRAME_PIXELS = 640 * 480
    settings.VIDEO_DECODE_TIMEOUT = 30
    return settings


def send(cookies, path: Path):
    """One upload from its own client (one per thread); tasks run eagerly once the upload commits."""
    client = APIClient()
    client.cookies = cookies
    try:
        started = time.monotonic()
        response = client.post(
            "/api/videos/", {"video": SimpleUploadedFile(path.name, path.read_bytes())}, format="multipart"
        )
        return response, time.monotonic() - started
    finally:
        connection.close()  # this thread's own


def stored_files(media_root) -> set[str]:
    """Every file under the videos' folder (the model's files live elsewhere in MEDIA_ROOT)."""
    root = Path(media_root)
    return {str(path.relative_to(root)) for path in (root / "unshared" / "videos").rglob("*") if path.is_file()}


def test_it_refuses_or_fails_every_hostile_video_and_keeps_decoding(
    corpus, caps, uploader, active_model, rust_classifier, clip, media_root, transactional_db
):
    assert len(corpus) >= 200
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda hostile: send(uploader.client.cookies, hostile.path), corpus))
    outcomes = collections.Counter()
    unexpected = []
    for hostile, (response, _) in zip(corpus, answers):
        assert response.status_code < 500, (hostile.name, response.content)
        if response.status_code in REFUSALS:
            body = response.json()
            assert body["detail"] and body["code"], hostile.name
            outcomes[hostile.kind, str(response.status_code)] += 1
            continue
        assert response.status_code == 202, (hostile.name, response.status_code, response.content)
        video = Video.objects.get(pk=response.json()["id"])
        assert video.is_final, f"{hostile.name}: still {video.status}"
        if video.status == Video.Status.FAILED:
            assert video.failure_reason, hostile.name
        elif not hostile.may_decode:
            unexpected.append((hostile.name, video.status))
        else:
            # Damage FFmpeg decodes around: the frames it could read make a consistent timeline.
            assert video.status == Video.Status.DONE, (hostile.name, video.status)
            assert video.frames and all(0 <= f["probability"] <= 1 for f in video.frames), hostile.name
        outcomes[hostile.kind, video.status] += 1
    slowest = max(answers, key=lambda answer: answer[1])[1]
    print(sorted(outcomes.items()), f"slowest {slowest:.1f} s of {settings.VIDEO_DECODE_TIMEOUT} s allowed")
    assert not unexpected, f"usable as a video, though none should be: {unexpected}"
    # A refused upload leaves no row: there is one for each 202, no more.
    assert Video.objects.count() == sum(1 for response, _ in answers if response.status_code == 202)

    # Every kind that is no usable video at all was refused or failed: none slipped through as `done`.
    for kind, outcome in outcomes:
        if outcome == "done":
            assert kind in {"truncated", "bit-flipped", "absurd dimensions", "absurd frame rate", "one-pixel frames"}
    assert outcomes["huge file", "413"] == 2 and outcomes["too long", "413"] == 1
    assert outcomes["frames over the pixel cap", "413"] == 1
    assert (
        sum(count for (kind, _), count in outcomes.items() if kind == "wrong container")
        == outcomes["wrong container", "415"]
    )
    # No orphans: the files on disk are exactly those of the videos still there, and all of them exist.
    expected = {name for video in Video.objects.all() for name in video.file_names()}
    assert stored_files(media_root) == expected
    assert all(private_storage.exists(name) for name in expected)
    # The decoder keeps serving: a good clip after the corpus.
    response, _ = send(uploader.client.cookies, clip(seconds=4, corroded={1, 2}))
    assert Video.objects.get(pk=response.json()["id"]).status == Video.Status.DONE
