import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

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
    # What a killed worker leaves: running, half the progress, some frames, a heartbeat gone stale.
    video = stored_video(
        clip(seconds=4, corroded={2}).read_bytes(),
        status=Video.Status.RUNNING,
        progress_done=2,
        progress_total=4,
        frames=[{"t": 0.0, "probability": 0.9, "label": "corrosion"}],
        heartbeat_at=timezone.now() - timedelta(hours=1),
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


def test_it_leaves_a_video_alone_while_a_live_worker_stamps_it(active_model, rust_classifier, clip):
    # A second delivery of the task while the first worker is alive: nothing to claim, nothing redone.
    video = stored_video(clip(seconds=2).read_bytes(), status=Video.Status.RUNNING, heartbeat_at=timezone.now())
    services.video_analyse(video_id=video.pk)
    video.refresh_from_db()
    assert (video.status, video.attempts, rust_classifier.calls) == (Video.Status.RUNNING, 0, [])


def test_it_requeues_stale_videos_once_and_fails_those_out_of_attempts(
    clip, settings, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(services, "_enqueue", enqueued.append)
    settings.VIDEO_STALE_AFTER = 60
    settings.VIDEO_MAX_ATTEMPTS = 3
    long_ago = timezone.now() - timedelta(minutes=5)
    data = clip(seconds=2).read_bytes()
    dead = stored_video(data, status=Video.Status.RUNNING, heartbeat_at=long_ago, attempts=1)
    lost = stored_video(data, created_at=long_ago)  # queued, its message lost
    alive = stored_video(data, status=Video.Status.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    waiting = stored_video(data)  # queued a moment ago
    poison = stored_video(data, status=Video.Status.RUNNING, heartbeat_at=long_ago, attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.videos_requeue_stuck() == 2
    assert sorted(enqueued) == sorted([dead.pk, lost.pk])
    states = dict(Video.objects.values_list("pk", "status"))
    assert states[dead.pk] == states[lost.pk] == states[waiting.pk] == Video.Status.QUEUED
    assert states[alive.pk] == Video.Status.RUNNING
    poison.refresh_from_db()
    assert poison.status == Video.Status.FAILED and "3 times" in poison.failure_reason
    # Idempotent: the next run (a minute later) finds the requeued videos freshly stamped.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.videos_requeue_stuck() == 0
    assert len(enqueued) == 2


def test_it_schedules_the_requeue_every_minute_on_the_default_queue():
    from django_celery_beat.models import PeriodicTask

    from corrosiondetector.celery import app
    from videos.apps import REQUEUE_SCHEDULE_NAME

    task = PeriodicTask.objects.get(name=REQUEUE_SCHEDULE_NAME)
    assert (task.task, task.queue, task.interval.every, task.interval.period) == (
        "videos.tasks.requeue_stuck_videos",
        "default",
        1,
        "minutes",
    )
    assert app.amqp.router.route({}, task.task)["queue"].name == "default"


@pytest.fixture
def analysed(active_model, rust_classifier, clip):
    """A shared, analysed video with one corrosion segment and its key frames, as the uploader left it."""

    def make(shared: bool = True) -> Video:
        video = stored_video(clip(seconds=6, corroded={2, 3}).read_bytes(), shared=shared)
        return services.video_analyse(video_id=video.pk)

    return make


def test_it_shares_key_frames_as_moderated_photo_uploads_once(analysed, settings, django_capture_on_commit_callbacks):
    from quiz.models import Moderation
    from uploads.models import Upload

    settings.UPLOAD_MODERATION = "pre"
    video = analysed()
    assert video.status == Video.Status.DONE and len(video.key_frames) >= 2
    with django_capture_on_commit_callbacks(execute=True):
        shared = services.video_frames_share(video_id=video.pk, uploader_key=video.uploader_key)
    assert [frame["t"] for frame in shared] == [frame["t"] for frame in video.key_frames]
    uploads = Upload.objects.select_related("image").filter(pk__in=[frame["upload_id"] for frame in shared])
    assert uploads.count() == len(video.key_frames)
    for upload in uploads:
        # The photos' own path: the uploader's, shared, waiting for staff before volunteers see it.
        assert upload.uploader_key == video.uploader_key and upload.shared
        assert upload.image.moderation == Moderation.PENDING and upload.image.excluded
    # Sharing again adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.video_frames_share(video_id=video.pk, uploader_key=video.uploader_key)
    assert again == shared and Upload.objects.count() == len(video.key_frames)


def test_it_keeps_the_frames_of_an_unshared_video_or_of_someone_else(analysed):
    from uploads.models import Upload
    from videos.errors import VideoNotFound, VideoNotShared

    private = analysed(shared=False)
    with pytest.raises(VideoNotShared):
        services.video_frames_share(video_id=private.pk, uploader_key=private.uploader_key)
    shared = analysed()
    for stranger in (uuid.uuid4(), None):
        with pytest.raises(VideoNotFound):
            services.video_frames_share(video_id=shared.pk, uploader_key=stranger)
    assert not Upload.objects.exists()
