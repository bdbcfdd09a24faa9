"""Periodic tasks the project needs, created once after migrate; admins may edit them afterwards."""


def ensure_periodic_task(
    *, name: str, task: str, every: int, period: str, queue: str, description: str, using="default"
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.using(using).filter(name=name).exists():
        return
    interval, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=period)
    PeriodicTask.objects.using(using).create(
        name=name, task=task, interval=interval, queue=queue, description=description
    )
