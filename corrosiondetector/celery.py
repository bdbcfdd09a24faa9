"""The one Celery app. Settings live in Django settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.base")

app = Celery("corrosiondetector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="corrosiondetector.ping", ignore_result=False)
def ping() -> str:
    """Round trip through broker and worker; used by health checks and integration tests."""
    return "pong"
