"""A real Celery worker process on the real Redis broker."""

import time

import pytest

pytestmark = pytest.mark.integration


def test_it_runs_a_task_through_redis_and_a_worker_process(redis_url, start_worker):
    from celery import Celery
    from celery.result import allow_join_result

    worker = start_worker("default")
    # A client app with a result backend, so the test can read the answer back.
    client = Celery("probe", broker=redis_url, backend=redis_url)
    result = client.send_task("corrosiondetector.ping", queue="default")
    deadline = time.monotonic() + 60
    while not result.ready():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not answer within 60 s"
        time.sleep(0.2)
    # Celery's "never join inside a task" guard is one process-wide flag that an eager task sets while it runs;
    # a live-server thread of an earlier browser test may still be running one. This process is no worker.
    with allow_join_result():
        assert result.get(timeout=1) == "pong"
