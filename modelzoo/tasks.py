"""Thin Celery tasks: ids in, one service call, safe to run twice."""

from celery import shared_task
from django.conf import settings

from modelzoo import scoring, services

# Images scored per task on the inference queue before it hands the rest to a fresh task, so
# uploads waiting for a verdict are not stuck behind a whole pool's worth of scoring.
SCORING_SLICE = 512


@shared_task(
    name="modelzoo.tasks.training_run_execute_task",
    acks_late=True,
    soft_time_limit=settings.CELERY_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TRAINING_TIME_LIMIT,
)
def training_run_execute_task(run_id: int) -> None:
    services.training_run_execute(run_id=run_id)


@shared_task(
    name="modelzoo.tasks.suspect_labels_find_task",
    acks_late=True,
    soft_time_limit=settings.CELERY_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TRAINING_TIME_LIMIT,
)
def suspect_labels_find_task() -> None:
    # Idempotent: a second run recomputes the same marks from the same labels.
    services.suspect_labels_find()


@shared_task(name="modelzoo.tasks.retrain_if_enough_labels")
def retrain_if_enough_labels() -> None:
    services.retrain_if_enough_labels()


# Named as it was when quiz owned scoring: messages already queued under that name still find the
# task, and CELERY_TASK_ROUTES sends it to the inference queue (modelzoo.tasks.* goes to training).
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
