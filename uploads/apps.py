from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UploadsConfig(AppConfig):
    name = "uploads"

    def ready(self) -> None:
        post_migrate.connect(ensure_requeue_schedule, sender=self)


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
