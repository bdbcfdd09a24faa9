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


def test_it_deletes_unshared_videos_past_the_retention_with_their_files(
    clip, settings, media_root, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    old = stored_video(clip(seconds=2).read_bytes(), created_at=timezone.now() - timedelta(days=31))
    shared_old = stored_video(clip(seconds=2).read_bytes(), shared=True, created_at=old.created_at)
    recent = stored_video(clip(seconds=2).read_bytes())
    settings.UPLOAD_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        assert services.videos_delete_expired() == 1
    assert set(Video.objects.values_list("pk", flat=True)) == {shared_old.pk, recent.pk}
    assert not private_storage.exists(old.file.name) and private_storage.exists(recent.file.name)


def test_it_schedules_the_retention_on_the_default_queue():
    from django_celery_beat.models import PeriodicTask

    from corrosiondetector.celery import app
    from videos.apps import RETENTION_SCHEDULE_NAME

    task = PeriodicTask.objects.get(name=RETENTION_SCHEDULE_NAME)
    assert (task.task, task.queue) == ("videos.tasks.delete_expired_videos", "default")
    assert app.amqp.router.route({}, task.task)["queue"].name == "default"
