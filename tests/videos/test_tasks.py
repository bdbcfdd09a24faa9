import uuid

import pytest
from django.conf import settings

from corrosiondetector.celery import app
from videos.models import Video
from videos.tasks import analyse_video


def test_it_routes_videos_to_their_own_queue_with_room_for_the_decoder():
    route = app.amqp.router.route({}, analyse_video.name)
    assert route["queue"].name == "video"
    assert analyse_video.acks_late and analyse_video.reject_on_worker_lost
    assert analyse_video.soft_time_limit > settings.VIDEO_DECODE_TIMEOUT


@pytest.mark.django_db
def test_it_fails_the_video_with_the_error_once_retries_are_spent(monkeypatch, settings):
    video = Video.objects.create(uploader_key=uuid.uuid4(), file="unshared/videos/x/source.mp4", size=1, every_s=1.0)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("videos.services.video_analyse", broken)
    monkeypatch.setattr(analyse_video, "max_retries", 0)
    analyse_video.delay(str(video.pk))
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "the database went away" in video.failure_reason
