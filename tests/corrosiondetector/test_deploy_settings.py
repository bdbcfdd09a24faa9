"""Production settings (DEBUG off), each run in a fresh process as a deployment would start it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import production_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A migrated SQLite database and collected static files, shared by the tests that serve pages."""
    directory = tmp_path_factory.mktemp("site")
    env = production_env(directory)
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        result = run([sys.executable, "manage.py", *command], env)
        assert result.returncode == 0, result.stderr
    return directory


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
