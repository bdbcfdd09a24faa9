from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class UploadsConfig(AppConfig):
    name = "uploads"

    def ready(self) -> None:
        from quiz.models import Image
        from uploads import receivers
        from uploads.models import Upload

        post_migrate.connect(ensure_requeue_schedule, sender=self)
        post_migrate.connect(ensure_retention_schedule, sender=self)
        post_delete.connect(receivers.image_deleted, sender=Image, dispatch_uid="uploads.image_deleted")
        post_delete.connect(receivers.upload_deleted, sender=Upload, dispatch_uid="uploads.upload_deleted")


REQUEUE_SCHEDULE_NAME = "Requeue stuck uploads"


def ensure_requeue_schedule(sender=None, using="default", **kwargs) -> None:
    from corrosiondetector.schedules import ensure_periodic_task

    ensure_periodic_task(
        name=REQUEUE_SCHEDULE_NAME,
        task="uploads.tasks.requeue_stuck_uploads",
        every=1,
        period="minutes",
        queue="default",
        description="Gives uploads whose classification task was lost (dead worker, broker restart) another try.",
        using=using,
    )


RETENTION_SCHEDULE_NAME = "Delete expired unshared uploads"


def ensure_retention_schedule(sender=None, using="default", **kwargs) -> None:
    from corrosiondetector.schedules import ensure_periodic_task

    ensure_periodic_task(
        name=RETENTION_SCHEDULE_NAME,
        task="uploads.tasks.delete_expired_uploads",
        every=1,
        period="hours",
        queue="default",
        description="Deletes unshared uploads (seen by their uploader only) older than UPLOAD_RETENTION_DAYS, "
        "with their files and votes.",
        using=using,
    )
