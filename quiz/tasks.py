"""Thin Celery tasks of the quiz: one service call each, safe to run twice."""

from celery import shared_task
from django.conf import settings

from quiz import scoring
from quiz.services import relabel

# Images scored per task on the inference queue before it hands the rest to a fresh task, so
# uploads waiting for a verdict are not stuck behind a whole pool's worth of scoring.
SCORING_SLICE = 512


@shared_task(
    name="quiz.tasks.crowd_labels_reaggregate",
    soft_time_limit=settings.CELERY_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TRAINING_TIME_LIMIT,
)
def crowd_labels_reaggregate() -> None:
    # The schedule exists whatever the setting; under majority voting there is nothing to re-derive.
    if settings.QUIZ_AGGREGATION == "weighted":
        relabel.crowd_labels_reaggregate()


@shared_task(bind=True, name="quiz.tasks.images_score_unlabelled", acks_late=True)
def images_score_unlabelled(self, version_id: int, after_id: int = 0) -> None:
    if self.request.is_eager:
        # In-process (no broker): nothing else waits on this process's queue, and chaining would
        # recurse once per slice.
        scoring.images_score_unlabelled(version_id=version_id, after_id=after_id)
        return
    progress = scoring.images_score_unlabelled(version_id=version_id, after_id=after_id, max_images=SCORING_SLICE)
    if not progress.finished:
        images_score_unlabelled.delay(version_id, progress.last_id)
