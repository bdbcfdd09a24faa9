"""GET /healthz and the container probe against the real database, broker and a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


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


def test_it_answers_503_without_an_active_model(client, postgres, real_broker_settings):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "ok", "model": None}


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
        [sys.executable, "-m", "corrosiondetector.health", f"http://127.0.0.1:{free_port()}/healthz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead.returncode == 1 and "unreachable" in dead.stdout
