"""Faults with real processes: Redis restarted under a live site, a training worker killed mid-run.

No mocks: gunicorn, redis-server, Celery workers and PostgreSQL are real processes; faults are signals.
(Killing the inference worker mid-task is in test_inference_worker.py.)
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import ROOT, database_url_for_workers, free_port, unavailable
from factories import jpeg_bytes, make_image
from modelzoo.models import ModelVersion, TrainingRun
from quiz.models import Image, Label, Split, Vote, Voter
from uploads.models import Upload

pytestmark = pytest.mark.integration
TINY = {"epochs": 1, "width": 4, "input_size": 32, "batch_size": 8}


def wait_until(condition, seconds: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(interval)


class OwnRedis:
    """A redis-server of the test's own on a free port (never the shared one), that it can kill and restart."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart loses every queued message, the worst case for lost tasks.
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, 10, "redis-server start")

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        unavailable("needs the redis-server binary (apt-get install redis-server)")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


class Browser:
    """One HTTP client with its own cookie jar (the voter cookie)."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "application/json", auth=""):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        if body:
            headers["Content-Type"] = content_type
        # A connection per request: gunicorn closes idle keep-alive connections after 2 s.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, payload

    def vote_round(self) -> int:
        """Take a round and answer it; return the votes the site acknowledged."""
        status, payload = self.request("GET", "/api/quiz/round/")
        assert status == 200, payload
        served = json.loads(payload)
        assert served["images"], "no images left to vote on"
        answer = {"round": served["round"], "corrosion": [served["images"][0]["id"]]}
        status, payload = self.request("POST", "/api/quiz/round/", json.dumps(answer).encode())
        assert status == 201, payload
        return json.loads(payload)["recorded"]

    def upload(self) -> str:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + jpeg_bytes(size=(300, 200))
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, payload = self.request("POST", "/api/uploads/", body, f"multipart/form-data; boundary={boundary}")
        assert status == 202, payload
        return json.loads(payload)["id"]

    def retrain(self, auth: str) -> dict:
        status, payload = self.request("POST", "/api/models/retrain/", b"{}", auth=auth)
        assert status == 202, payload
        return json.loads(payload)


@pytest.fixture
def site(own_redis, media_root, tmp_path):
    """gunicorn serving the test database, with the broker and the rate-limit cache on `own_redis`."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
        "DATABASE_URL": database_url_for_workers(),
        "CELERY_BROKER_URL": own_redis.url,
        "MEDIA_ROOT": str(media_root),
        "SECRET_KEY": "test-faults",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        # On, so every request touches Redis; high enough never to refuse this test.
        "QUIZ_RATE_PER_VOTER": "100000",
        "QUIZ_RATE_PER_IP": "100000",
        "UPLOAD_RATE_PER_VOTER": "100000",
        "UPLOAD_RATE_PER_IP": "100000",
    }
    log = tmp_path / "gunicorn.log"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "corrosiondetector.wsgi", "-b", f"127.0.0.1:{port}"]
        + ["--worker-class", "gthread", "-w", "1", "--threads", "4"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up() -> bool:
        assert web.poll() is None, log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/quiz/voter/")
            return conn.getresponse().status == 200
        except OSError:
            return False

    wait_until(up, 30, "gunicorn start", interval=0.2)
    yield type("Site", (), {"port": port, "env": env, "log": log})
    os.killpg(web.pid, signal.SIGTERM)
    web.wait(timeout=20)


def requeue_stuck_uploads(env: dict) -> int:
    """What the beat schedule does every minute, run as its own process against `env`'s broker."""
    code = "import django; django.setup(); from uploads.services import uploads_requeue_stuck as r; print(r())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "UPLOAD_REQUEUE_AFTER": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().splitlines()[-1])


def upload_status(upload_id: str) -> str:
    return Upload.objects.get(pk=upload_id).status


def test_it_keeps_voting_and_queueing_through_a_redis_restart(
    transactional_db, postgres, own_redis, site, start_worker, active_model
):
    for _ in range(30):  # each voter answers 5 rounds of 4 different images
        make_image(label=None)
    # Hashed as the site (production settings) checks it, not with the tests' fast hasher.
    User.objects.create(
        username="staff", is_staff=True, password=PBKDF2PasswordHasher().encode("staff-pw-123", "faultsalt")
    )
    worker = start_worker("inference", CELERY_BROKER_URL=own_redis.url)
    voters = [Browser(site.port) for _ in range(3)]
    acknowledged = 0

    acknowledged += sum(v.vote_round() for v in voters)
    before = voters[0].upload()
    wait_until(lambda: upload_status(before) == "done", 45, "verdict with Redis up", interval=0.2)

    own_redis.kill()
    assert not own_redis.answers()
    # The site keeps serving: rate limits fail open, votes go to PostgreSQL.
    acknowledged += sum(v.vote_round() for v in voters for _ in range(2))
    # The upload is stored; its task cannot be queued now and is left for the requeue schedule.
    during = voters[1].upload()
    assert upload_status(during) == "queued"
    # A retrain that cannot be queued fails at once instead of blocking every later trigger.
    refused = voters[0].retrain("staff:staff-pw-123")
    assert refused["state"] == "failed", refused
    assert "broker unavailable" in TrainingRun.objects.get(pk=refused["id"]).error

    own_redis.start()  # same port, empty: whatever was queued is gone
    acknowledged += sum(v.vote_round() for v in voters for _ in range(2))
    after = voters[2].upload()
    # The worker reconnects by itself and takes new tasks again.
    wait_until(lambda: upload_status(after) == "done", 45, "verdict after Redis came back", interval=0.2)
    assert upload_status(during) == "queued"
    assert requeue_stuck_uploads(site.env) == 1
    wait_until(lambda: upload_status(during) == "done", 30, "requeued upload's verdict", interval=0.2)
    assert worker.poll() is None
    queued = voters[0].retrain("staff:staff-pw-123")
    assert queued["state"] == "queued"
    assert redis.Redis(port=own_redis.port).llen("training") == 1  # its task is on the training queue

    # No vote lost, and every counter agrees with the vote rows.
    assert acknowledged == 3 * 5 * 4
    assert Vote.objects.count() == acknowledged
    assert Image.objects.aggregate(n=Sum("vote_count"))["n"] == acknowledged
    assert Voter.objects.aggregate(n=Sum("votes_cast"))["n"] == acknowledged
    log = site.log.read_text()
    assert "cache unavailable" in log  # the throttle said it failed open
    assert "Internal Server Error" not in log


def test_it_fails_a_run_whose_training_worker_is_killed_and_trains_again(
    transactional_db, postgres, real_broker, start_worker, active_model, settings, staff
):
    for i in range(8):
        make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    for i in range(4):
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    settings.TRAINING_HEARTBEAT_TIMEOUT = 3
    slow = start_worker(
        "training", TRAINING_CONFIG=json.dumps({**TINY, "epochs": 10_000}), TRAINING_HEARTBEAT_SECONDS="0.5"
    )
    client = APIClient()
    client.force_authenticate(staff)
    response = client.post("/api/models/retrain/", {}, format="json")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]

    def beating() -> bool:
        assert slow.poll() is None, slow.stdout.read().decode()
        run = TrainingRun.objects.get(pk=run_id)
        return run.state == "running" and run.epoch >= 1 and run.heartbeat_at > run.started_at

    wait_until(beating, 45, "training run running with a heartbeat", interval=0.2)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    killed_at = time.monotonic()
    fresh = start_worker("training", TRAINING_CONFIG=json.dumps(TINY))  # boots while the heartbeat goes stale

    # Within the heartbeat timeout the run could still be alive: a new trigger is refused...
    assert client.post("/api/models/retrain/", {}, format="json").status_code == 409
    assert TrainingRun.objects.get(pk=run_id).state == "running"
    time.sleep(max(0.0, killed_at + settings.TRAINING_HEARTBEAT_TIMEOUT + 0.5 - time.monotonic()))
    # ...once its heartbeat is stale, the run is marked failed and the next trigger goes through.
    response = client.post("/api/models/retrain/", {}, format="json")
    assert response.status_code == 202, response.content
    dead = TrainingRun.objects.get(pk=run_id)
    assert dead.state == "failed" and "heartbeat" in dead.error and dead.finished_at
    assert dead.worker.endswith(f":{slow.pid}")  # solo pool: the worker's own process trained
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).pk == active_model.pk
    assert ModelVersion.objects.count() == 1

    run = wait_until(
        lambda: (r := TrainingRun.objects.get(pk=response.json()["id"])).state in ("done", "failed") and r,
        50,
        "the next training run",
        interval=0.3,
    )
    assert run.state == "done", run.error
    assert ModelVersion.objects.filter(training_run=run).exists()
    assert fresh.poll() is None
    assert TrainingRun.objects.get(pk=run_id).state == "failed"  # the dead run stays failed


def test_it_leaves_a_slow_run_alone_while_its_heartbeat_is_fresh(transactional_db, postgres, settings):
    from modelzoo.services import retrain_if_enough_labels

    settings.TRAINING_HEARTBEAT_TIMEOUT = 60
    settings.RETRAIN_MIN_NEW_LABELS = 1_000_000
    long_ago = timezone.now() - timedelta(hours=5)
    run = TrainingRun.objects.create(
        triggered_by="test", state="running", started_at=long_ago, heartbeat_at=timezone.now()
    )
    TrainingRun.objects.filter(pk=run.pk).update(updated_at=long_ago)  # no epoch reported for hours
    retrain_if_enough_labels()  # the beat schedule's check
    assert TrainingRun.objects.get(pk=run.pk).state == "running"
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    retrain_if_enough_labels()
    assert TrainingRun.objects.get(pk=run.pk).state == "failed"
