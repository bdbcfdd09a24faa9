"""Production settings (DEBUG off), each run in a fresh process as a deployment would start it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The settings this file is about; the test run's own values must not leak into the child.
OWN = {
    "SECRET_KEY",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "STATIC_ROOT",
    "CSRF_TRUSTED_ORIGINS",
}
OWN_PREFIXES = ("SECURE_", "WEB_")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A migrated SQLite database and collected static files, shared by the tests that serve pages."""
    directory = tmp_path_factory.mktemp("site")
    env = production_env(directory)
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        result = run([sys.executable, "manage.py", *command], env)
        assert result.returncode == 0, result.stderr
    return directory


def production_env(tmp_path: Path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in OWN and not k.startswith(OWN_PREFIXES)}
    return {
        **clean,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        **env,
    }


def run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def settings_values(env: dict, *names: str) -> dict:
    code = (
        "import json, corrosiondetector.settings.base as s;"
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}))"
    )
    result = run([sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_passes_the_deployment_checklist_without_a_warning(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_locks_a_production_site_to_https(tmp_path):
    values = settings_values(
        production_env(tmp_path),
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_COOKIES",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_PROXY_SSL_HEADER",
        "ALLOWED_HOSTS",
    )
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_COOKIES": True,  # the voter cookie (quiz/identity.py) follows this
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$", "^metrics$"],
        "SECURE_PROXY_SSL_HEADER": None,
        "ALLOWED_HOSTS": ["example.org"],
    }


def test_it_keeps_plain_http_on_localhost_in_debug(tmp_path):
    env = production_env(tmp_path, DEBUG="1")
    del env["SECRET_KEY"]
    values = settings_values(env, "SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")
    assert values == {"SESSION_COOKIE_SECURE": False, "SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0}


def test_it_reads_the_proxy_header_and_trusted_origins_from_the_environment(tmp_path):
    env = production_env(
        tmp_path,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto:https",
        CSRF_TRUSTED_ORIGINS="https://example.org,https://www.example.org",
    )
    values = settings_values(env, "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS")
    assert values == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://example.org", "https://www.example.org"],
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("CSRF_TRUSTED_ORIGINS", "example.org"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_SSL_REDIRECT", "maybe"),
    ],
)
def test_it_fails_loudly_on_a_malformed_security_setting(tmp_path, name, value):
    result = run([sys.executable, "manage.py", "check"], production_env(tmp_path, **{name: value}))
    assert result.returncode != 0
    assert name in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def test_it_serves_the_production_config_with_gunicorn_behind_a_tls_proxy(site):
    """gunicorn with corrosiondetector/gunicorn.conf.py, collected static files and the proxy header."""
    port = free_port()
    env = production_env(
        site,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto:https",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="2",
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "corrosiondetector/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    host = {"Host": "example.org"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = http_get(base + "/healthz", host)
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.3)
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
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)


def test_it_serves_the_web_app_without_torch(site):
    """The web image has the inference requirements and gunicorn only: nothing it loads may need torch."""
    code = """
import sys, importlib.abc

class NoTraining(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "torchvision", "onnx", "ml_dtypes", "tqdm", "matplotlib"}:
            raise ImportError(f"{name} is not in the web image")

sys.meta_path.insert(0, NoTraining())
import django
django.setup()
from django.core.management import call_command
from django.urls import get_resolver
call_command("check")
get_resolver().url_patterns
from django.test import Client
for path in ["/", "/upload/", "/healthz", "/admin/login/"]:
    status = Client(HTTP_HOST="example.org").get(path, secure=True).status_code
    assert status in (200, 503), (path, status)
print("ok")
"""
    env = production_env(site)
    result = run([sys.executable, "-c", code], {**env, "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
