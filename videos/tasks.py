"""Thin Celery task of the `video` queue: an id in, one service call, safe to run twice."""

from celery import shared_task
from django.conf import settings

from corrosiondetector.celery import retry_or_fail
from videos import services

# Decoding alone may take VIDEO_DECODE_TIMEOUT; classification and storing come on top.
_TIME_LIMIT = settings.VIDEO_DECODE_TIMEOUT + 600


@shared_task(
    bind=True,
    name="videos.tasks.analyse_video",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.UPLOAD_MAX_RETRIES,
    soft_time_limit=_TIME_LIMIT,
    time_limit=_TIME_LIMIT + 60,
)
def analyse_video(self, video_id: str) -> None:
    retry_or_fail(
        self,
        lambda: services.video_analyse(video_id=video_id),
        lambda reason: services.video_fail(video_id=video_id, reason=reason),
    )


@shared_task(name="videos.tasks.delete_expired_videos")
def delete_expired_videos() -> int:
    return services.videos_delete_expired()


@shared_task(name="videos.tasks.requeue_stuck_videos")
def requeue_stuck_videos() -> int:
    return services.videos_requeue_stuck()
