"""Thin Celery tasks: ids in, one service call, safe to run twice."""

from celery import shared_task
from django.conf import settings

from modelzoo import services


@shared_task(
    name="modelzoo.tasks.training_run_execute_task",
    acks_late=True,
    soft_time_limit=settings.CELERY_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TRAINING_TIME_LIMIT,
)
def training_run_execute_task(run_id: int) -> None:
    services.training_run_execute(run_id=run_id)


@shared_task(name="modelzoo.tasks.retrain_if_enough_labels")
def retrain_if_enough_labels() -> None:
    services.retrain_if_enough_labels()
