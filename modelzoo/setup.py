"""Defaults created after migrations: the researchers' group and the retrain schedule.

Done after migrate (not in a data migration) because permissions only exist once
post_migrate has run; both are created once and then left for admins to edit.
"""

from django.conf import settings

from corrosiondetector.schedules import ensure_periodic_task

RESEARCHERS = "Researchers"
RESEARCHER_PERMISSIONS = [
    ("modelzoo", "trigger_training"),
    ("modelzoo", "view_trainingrun"),
    ("modelzoo", "view_modelversion"),
    ("modelzoo", "change_modelversion"),
    ("quiz", "view_image"),
    ("quiz", "view_vote"),
]
SCHEDULE_NAME = "Retrain when enough new labels"


def ensure_defaults(sender=None, using="default", **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.using(using).get_or_create(name=RESEARCHERS)
    for app_label, codename in RESEARCHER_PERMISSIONS:
        permission = (
            Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
        )
        if permission is not None:
            group.permissions.add(permission)

    ensure_periodic_task(
        name=SCHEDULE_NAME,
        task="modelzoo.tasks.retrain_if_enough_labels",
        every=settings.RETRAIN_CHECK_MINUTES,
        period="minutes",
        queue="default",
        description="Queues a training run once RETRAIN_MIN_NEW_LABELS images gained a label "
        "since the active model's training data was taken.",
        using=using,
    )
