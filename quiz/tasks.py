"""Thin Celery tasks of the quiz: one service call each, safe to run twice."""

from celery import shared_task
from django.conf import settings

from quiz.services import relabel


@shared_task(
    name="quiz.tasks.crowd_labels_reaggregate",
    soft_time_limit=settings.CELERY_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TRAINING_TIME_LIMIT,
)
def crowd_labels_reaggregate() -> None:
    # The schedule exists whatever the setting; under majority voting there is nothing to re-derive.
    if settings.QUIZ_AGGREGATION == "weighted":
        relabel.crowd_labels_reaggregate()
