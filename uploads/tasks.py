"""Thin Celery tasks of the inference queue: ids in, one service call, safe to run twice."""

from celery import shared_task
from django.conf import settings

from corrosiondetector.celery import retry_or_fail
from uploads import services


@shared_task(bind=True, name="uploads.tasks.classify_upload", acks_late=True, max_retries=settings.UPLOAD_MAX_RETRIES)
def classify_upload(self, upload_id: str) -> None:
    retry_or_fail(
        self,
        lambda: services.upload_classify(upload_id=upload_id),
        lambda reason: services.upload_fail(upload_id=upload_id, reason=reason),
    )


@shared_task(name="uploads.tasks.requeue_stuck_uploads")
def requeue_stuck_uploads() -> int:
    return services.uploads_requeue_stuck()


@shared_task(name="uploads.tasks.delete_expired_uploads")
def delete_expired_uploads() -> int:
    return services.uploads_delete_expired()
