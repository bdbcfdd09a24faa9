"""Metrics against the real broker: queue lengths from Redis, and a prefork worker's own metrics port."""

from __future__ import annotations

import time
import urllib.request

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from conftest import free_port
from factories import jpeg_bytes
from uploads.models import Upload

pytestmark = pytest.mark.integration
TOKEN = "metrics-token-for-the-tests-0123456789"
QUEUES = ("default", "inference", "training")


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def empty_queues(redis_url):
    client = redis.Redis.from_url(redis_url)

    def purge():
        for key in client.scan_iter():
            if key.split(b"\x06\x16")[0].decode(errors="replace") in QUEUES:
                client.delete(key)

    purge()
    yield client
    purge()


def test_it_reports_each_queues_length_from_redis(client, settings, redis_url, real_broker, empty_queues):
    settings.METRICS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL = redis_url
    for _ in range(3):
        real_broker.send_task("corrosiondetector.ping", queue="training")
    # A message with a priority lands in a list of its own; it still waits in the same queue.
    real_broker.send_task("corrosiondetector.ping", queue="training", priority=5)
    real_broker.send_task("corrosiondetector.ping", queue="inference")

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    found = samples(response.content.decode())
    assert found[("corrosiondetector_celery_broker_up", ())] == 1
    lengths = {queue: found[("corrosiondetector_celery_queue_length", (("queue", queue),))] for queue in QUEUES}
    assert lengths == {"default": 0, "inference": 1, "training": 4}

    empty_queues.delete("inference")
    found = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
    assert found[("corrosiondetector_celery_queue_length", (("queue", "inference"),))] == 0


@pytest.fixture
def prefork_worker(start_worker, tmp_path):
    """A real `celery worker` with the prefork pool (two children) serving its metrics on a port."""
    port = free_port()
    process = start_worker(
        "inference",
        pool="prefork",
        concurrency=2,
        CELERY_METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    return process, f"http://127.0.0.1:{port}/metrics"


def scrape_worker(process, url: str, until, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                found = samples(response.read().decode())
            if until(found):
                return found
        except OSError:
            pass  # not listening yet
        assert time.monotonic() < deadline, f"worker metrics never showed what was expected: {url}"
        time.sleep(0.2)


def test_it_serves_the_prefork_workers_task_failures_and_inference_latency(
    transactional_db, postgres, real_broker, prefork_worker, active_model, empty_queues
):
    process, url = prefork_worker
    response = APIClient().post("/api/uploads/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes(size=(300, 200)))})
    assert response.status_code == 202
    # Fails in a pool child: ping takes no argument.
    real_broker.send_task("corrosiondetector.ping", args=[1], queue="inference")

    failures = ("corrosiondetector_celery_task_failures_total", (("task", "corrosiondetector.ping"),))
    inferences = ("corrosiondetector_inference_seconds_count", ())
    found = scrape_worker(process, url, lambda found: found.get(failures) and found.get(inferences))
    assert found[failures] == 1 and found[inferences] == 1
    assert 0 < found[("corrosiondetector_inference_seconds_sum", ())] < 30
    # The latency is observed while the verdict is still being saved: wait for the row, not just the metric.
    upload_id, deadline = response.json()["id"], time.monotonic() + 30
    while Upload.objects.get(pk=upload_id).status != "done":
        assert time.monotonic() < deadline, Upload.objects.get(pk=upload_id).status
        time.sleep(0.2)
