"""The site served by gunicorn as deployed (corrosiondetector/gunicorn.conf.py), from a fresh process."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, free_port, gunicorn, production_env

pytestmark = pytest.mark.integration
TOKEN = secrets.token_urlsafe(24)
PREVIOUS_RUN = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.base")
from corrosiondetector import metrics
metrics.UPLOADS_CREATED.inc(7)
"""


def run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def site(tmp_path) -> Path:
    """A migrated SQLite database and collected static files."""
    env = production_env(tmp_path)
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        result = run([sys.executable, "manage.py", *command], env)
        assert result.returncode == 0, result.stderr
    return tmp_path


def http_get(url: str, headers: dict):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_it_serves_the_production_config_behind_a_tls_proxy(site):
    """Collected static files and the proxy header."""
    port = free_port()
    env = production_env(
        site,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto:https",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="2",
    )
    base = f"http://127.0.0.1:{port}"
    host = {"Host": "example.org"}
    with gunicorn(env, ready=lambda: http_get(base + "/healthz", host)):
        status, headers, body = http_get(base + "/healthz", host)
        # Plain http from inside (a container healthcheck) gets an answer, not a redirect: no model yet.
        assert status == 503 and json.loads(body)["database"] == "ok"
        assert "Set-Cookie" not in headers
        status, headers, _ = http_get(base + "/", host)
        assert status == 301 and headers["Location"] == "https://example.org/"
        proxied = {**host, "X-Forwarded-Proto": "https"}
        status, headers, body = http_get(base + "/static/css/site.css", proxied)
        assert status == 200 and body == (ROOT / "static/css/site.css").read_bytes()
        status, headers, _ = http_get(base + "/", proxied)
        assert status == 200
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        cookies = headers.get_all("Set-Cookie")
        assert any(cookie.startswith("cd_voter=") for cookie in cookies), cookies
        assert all("; Secure" in cookie for cookie in cookies), cookies
        probe = run([sys.executable, "-m", "corrosiondetector.health", base + "/healthz"], env, timeout=30)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        ready = run([sys.executable, "-m", "corrosiondetector.health", base + "/healthz", "--ready"], env, timeout=30)
        assert ready.returncode == 1 and "503" in ready.stdout


def test_it_sums_every_workers_metrics_and_forgets_a_previous_run(tmp_path):
    port = free_port()
    prometheus = tmp_path / "prometheus"
    env = production_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="corrosiondetector.settings.base",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(prometheus),
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        WEB_THREADS="2",
    )
    run([sys.executable, "-c", PREVIOUS_RUN], env, timeout=60).check_returncode()
    assert list(prometheus.glob("counter_*.db")), "the previous run left its values behind"
    base = f"http://127.0.0.1:{port}"
    host = {"Host": "example.org", "Connection": "close"}
    with gunicorn(env, ready=lambda: http_get(base + "/metrics", host)):
        for _ in range(20):
            assert http_get(base + "/healthz", host)[0] == 503  # no model yet
        # Plain http, as Prometheus scrapes inside the network: no https redirect, but the token.
        assert http_get(base + "/metrics", host)[0] == 401
        status, _, body = http_get(base + "/metrics", {**host, "Authorization": f"Bearer {TOKEN}"})
        assert status == 200
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    answers = ("method", "GET"), ("status", "503"), ("view", "healthz")
    assert found[("django_http_responses_total_by_status_view_method_total", answers)] == 20
    assert found[("corrosiondetector_uploads_created_total", ())] == 0
