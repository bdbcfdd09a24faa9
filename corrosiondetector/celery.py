"""The one Celery app. Settings live in Django settings under the CELERY_ prefix."""

import os

from celery import Celery, signals

from corrosiondetector import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.base")

app = Celery("corrosiondetector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Metrics (corrosiondetector/metrics.py): failures counted wherever a task fails, eager runs included.
signals.task_failure.connect(metrics.task_failed, weak=False)
signals.worker_init.connect(metrics.worker_metrics_start, weak=False)
signals.worker_process_shutdown.connect(metrics.worker_child_exited, weak=False)


@app.task(name="corrosiondetector.ping", ignore_result=False)
def ping() -> str:
    """Round trip through broker and worker; used by health checks and integration tests."""
    return "pong"


def retry_or_fail(task, work, fail) -> None:
    """Run `work()` in a bound task; on an error retry with backoff, and after the last retry call `fail(reason)`
    so the row ends failed with why instead of waiting for a verdict that will never come."""
    try:
        work()
    except Exception as exc:
        if task.request.retries >= task.max_retries:
            fail(f"{exc.__class__.__name__}: {exc}")
            return
        raise task.retry(exc=exc, countdown=min(30, 2**task.request.retries)) from exc
