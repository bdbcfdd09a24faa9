"""/metrics from gunicorn as deployed: corrosiondetector/gunicorn.conf.py, several workers, multiprocess mode."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = secrets.token_urlsafe(24)
PREVIOUS_RUN = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.base")
from corrosiondetector import metrics
metrics.UPLOADS_CREATED.inc(7)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, **headers) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": "example.org", "Connection": "close", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_it_sums_every_gunicorn_worker_and_forgets_a_previous_run(tmp_path):
    port = free_port()
    prometheus = tmp_path / "prometheus"
    own = ("SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "ALLOWED_HOSTS")
    env = {
        **{k: v for k, v in os.environ.items() if k not in own and not k.startswith(("SECURE_", "WEB_"))},
        "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "2",
        "WEB_THREADS": "2",
    }
    subprocess.run([sys.executable, "-c", PREVIOUS_RUN], cwd=ROOT, env=env, check=True, timeout=60)
    assert list(prometheus.glob("counter_*.db")), "the previous run left its values behind"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "corrosiondetector/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/metrics")
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.3)
        for _ in range(20):
            assert get(base + "/healthz")[0] == 503  # no model yet
        # Plain http, as Prometheus scrapes inside the network: no https redirect, but the token.
        assert get(base + "/metrics")[0] == 401
        status, body = get(base + "/metrics", Authorization=f"Bearer {TOKEN}")
        assert status == 200
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    answers = ("method", "GET"), ("status", "503"), ("view", "healthz")
    assert found[("django_http_responses_total_by_status_view_method_total", answers)] == 20
    assert found[("corrosiondetector_uploads_created_total", ())] == 0
