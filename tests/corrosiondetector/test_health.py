"""GET /healthz against the real database and broker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def real_broker_settings(settings, redis_url):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url
    return settings


def test_it_reports_healthy_with_database_broker_and_model(client, postgres, real_broker_settings, active_model):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "model": {"version": active_model.version, "val_accuracy": active_model.val_accuracy},
    }
    assert not response.cookies, "a probe must not be handed a voter, session or CSRF cookie"
    assert "no-store" in response["Cache-Control"]


def test_it_answers_503_quickly_when_the_broker_is_unreachable(client, postgres, real_broker_settings, active_model):
    real_broker_settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok" and response.json()["model"]["version"] == active_model.version


def test_it_answers_503_without_an_active_model(client, postgres, real_broker_settings):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "ok", "model": None}


def test_it_counts_in_process_tasks_as_a_working_broker(client, db, settings, active_model):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["broker"] == "eager"


def test_it_is_never_rate_limited(client, db, settings, active_model):
    settings.QUIZ_RATE_PER_IP = settings.QUIZ_RATE_PER_VOTER = 1
    settings.UPLOAD_RATE_PER_IP = settings.UPLOAD_RATE_PER_VOTER = 1
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


def test_it_answers_head_and_refuses_writes(client, db, active_model):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_it_answers_503_quickly_when_the_database_is_down(tmp_path):
    """A fresh process whose database does not answer (the test's own connection can't be broken safely)."""
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(r.status_code, json.dumps(r.json()))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"}},
        "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
        "SECRET_KEY": "health-test",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/nothing?connect_timeout=2",
    }
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert body == '{"status": "error", "database": "error", "broker": "eager", "model": null}'
    assert time.monotonic() - started < 15


def test_the_container_probe_tells_alive_from_ready(live_server, transactional_db, settings):
    def probe(*args):
        env = {**os.environ, "ALLOWED_HOSTS": "localhost"}
        return subprocess.run(
            [sys.executable, "-m", "corrosiondetector.health", live_server.url + "/healthz", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert probe().returncode == 0  # serving and reaching the database: no restart needed
    assert probe("--ready").returncode == 1  # but no model yet: not ready for traffic
    from factories import make_model_version
    from modelzoo.services import model_version_promote

    model_version_promote(version_id=make_model_version(version=1, val_accuracy=0.5).pk)
    ready = probe("--ready")
    assert ready.returncode == 0, ready.stdout
    dead = subprocess.run(
        [sys.executable, "-m", "corrosiondetector.health", f"http://127.0.0.1:{closed_port()}/healthz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead.returncode == 1 and "unreachable" in dead.stdout
