from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(ensure_retention_schedule, sender=self)
        post_migrate.connect(ensure_requeue_schedule, sender=self)


RETENTION_SCHEDULE_NAME = "Delete expired unshared videos"


def ensure_retention_schedule(sender=None, using="default", **kwargs) -> None:
    from corrosiondetector.schedules import ensure_periodic_task

    ensure_periodic_task(
        name=RETENTION_SCHEDULE_NAME,
        task="videos.tasks.delete_expired_videos",
        every=1,
        period="hours",
        queue="default",
        description="Deletes unshared videos (seen by their uploader only) older than UPLOAD_RETENTION_DAYS, "
        "with their key frames, as for uploads.",
        using=using,
    )


REQUEUE_SCHEDULE_NAME = "Requeue stuck videos"


def ensure_requeue_schedule(sender=None, using="default", **kwargs) -> None:
    from corrosiondetector.schedules import ensure_periodic_task

    ensure_periodic_task(
        name=REQUEUE_SCHEDULE_NAME,
        task="videos.tasks.requeue_stuck_videos",
        every=1,
        period="minutes",
        queue="default",
        description="Gives videos whose worker died (stale heartbeat) or whose task was lost another try; "
        "fails a video after VIDEO_MAX_ATTEMPTS.",
        using=using,
    )
