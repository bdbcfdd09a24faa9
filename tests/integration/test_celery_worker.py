"""A real Celery worker process on the real Redis broker."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(redis_url):
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "SECRET_KEY": "test-worker", "DEBUG": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "corrosiondetector", "worker", "-Q", "default",
         "--pool", "solo", "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_it_runs_a_task_through_redis_and_a_worker_process(redis_url, worker):
    from celery import Celery

    # A client app with a result backend, so the test can read the answer back.
    client = Celery("probe", broker=redis_url, backend=redis_url)
    result = client.send_task("corrosiondetector.ping", queue="default")
    deadline = time.monotonic() + 60
    while not result.ready():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not answer within 60 s"
        time.sleep(0.2)
    assert result.get(timeout=1) == "pong"
