"""GET /healthz in-process; tests/integration/test_health.py has it against the real broker and a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_it_answers_503_when_the_broker_is_unreachable_waiting_one_second_at_most(
    client, db, settings, active_model, redis_clients_opened
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    # A broker that hangs rather than refusing costs the probe these timeouts, not the load balancer's.
    assert redis_clients_opened == [{"socket_connect_timeout": 1.0, "socket_timeout": 1.0}]
    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok" and response.json()["model"]["version"] == active_model.version


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


def test_it_answers_503_when_the_database_is_down(tmp_path):
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
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2",
    }
    # connect_timeout=2 in the URL bounds the check; the subprocess timeout only stops a hung test.
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert body == '{"status": "error", "database": "error", "broker": "eager", "model": null}'
