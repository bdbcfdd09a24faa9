from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuizConfig(AppConfig):
    name = "quiz"
    verbose_name = "Quiz and image pool"

    def ready(self) -> None:
        from quiz import moderation_admin, review_admin  # noqa: F401  (register the queues with the admin site)

        post_migrate.connect(ensure_reaggregate_schedule, sender=self)


REAGGREGATE_SCHEDULE_NAME = "Re-aggregate crowd labels"


def ensure_reaggregate_schedule(sender=None, using="default", **kwargs) -> None:
    from django.conf import settings

    from corrosiondetector.schedules import ensure_periodic_task

    ensure_periodic_task(
        name=REAGGREGATE_SCHEDULE_NAME,
        task="quiz.tasks.crowd_labels_reaggregate",
        every=settings.QUIZ_REAGGREGATE_MINUTES,
        period="minutes",
        queue="default",
        description="With QUIZ_AGGREGATION=weighted: re-estimates every voter's reliability from all votes "
        "(Dawid–Skene, gold questions clamped) and relabels images whose crowd label changes. "
        "Does nothing under majority voting.",
        using=using,
    )
