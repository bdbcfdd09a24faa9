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
