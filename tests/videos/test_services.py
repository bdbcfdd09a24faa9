import uuid

import pytest
from django.core.files.base import ContentFile

from corrosiondetector.media import private_storage
from videos import services
from videos.models import Video

pytestmark = pytest.mark.django_db


def stored_video(data: bytes, **fields) -> Video:
    """A video row whose file skipped the upload's probe: what a worker may meet."""
    name = private_storage.save(f"unshared/videos/{uuid.uuid4()}/source.mp4", ContentFile(data))
    return Video.objects.create(uploader_key=uuid.uuid4(), file=name, size=len(data), every_s=1.0, **fields)


def test_it_fails_a_garbage_video_with_a_reason_and_keeps_working(active_model, rust_classifier, clip):
    broken = stored_video(b"\x1a\x45\xdf\xa3" + b"\xff" * 4000)
    services.video_analyse(video_id=broken.pk)
    broken.refresh_from_db()
    assert broken.status == Video.Status.FAILED and broken.failure_reason
    # The same process goes on to the next clip.
    good = stored_video(clip(seconds=3, corroded={1}).read_bytes())
    assert services.video_analyse(video_id=good.pk).status == Video.Status.DONE


def test_it_fails_a_video_whose_decoder_runs_out_of_time(active_model, rust_classifier, clip, settings):
    settings.VIDEO_DECODE_TIMEOUT = 0.05
    video = stored_video(clip(seconds=3).read_bytes())
    services.video_analyse(video_id=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "longer than" in video.failure_reason


def test_it_restarts_a_video_cleanly_when_run_again_after_a_killed_worker(
    active_model, rust_classifier, clip, media_root
):
    # What a killed worker leaves: running, half the progress, some frames.
    video = stored_video(
        clip(seconds=4, corroded={2}).read_bytes(),
        status=Video.Status.RUNNING,
        progress_done=2,
        progress_total=4,
        frames=[{"t": 0.0, "probability": 0.9, "label": "corrosion"}],
    )
    services.video_analyse(video_id=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.DONE and video.attempts == 1
    assert [frame["t"] for frame in video.frames] == [0.0, 1.0, 2.0, 3.0]
    assert [(s["start"], s["end"]) for s in video.segments] == [(2.0, 3.0)]
    # Finished videos are not analysed again (a redelivered message).
    assert services.video_analyse(video_id=video.pk).attempts == 1


def test_it_marks_a_video_no_model_when_none_is_active(clip):
    video = stored_video(clip(seconds=2).read_bytes())
    assert services.video_analyse(video_id=video.pk).status == Video.Status.NO_MODEL
