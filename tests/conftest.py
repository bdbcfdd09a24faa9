from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient


def services_required() -> bool:
    """In CI a missing service must fail the run rather than skip tests silently."""
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """locale/*/django.mo, compiled from the committed .po files where missing or older (`make test` does it too).

    Without gettext's msgfmt nothing is compiled, and tests/corrosiondetector/test_translations.py says so.
    """
    root = Path(__file__).resolve().parents[1]
    stale = [
        po
        for po in sorted((root / "locale").glob("*/LC_MESSAGES/django.po"))
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale and shutil.which("msgfmt"):
        for po in stale:
            subprocess.run(["msgfmt", "--check", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
        from django.utils.translation import trans_real

        trans_real._translations = {}  # catalogs read before the compile would lack the new messages


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        unavailable("needs PostgreSQL (set DATABASE_URL=postgres://...)")
    return connection


@pytest.fixture
def redis_url():
    import redis

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        unavailable("needs Redis (set CELERY_BROKER_URL=redis://...)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.fixture
def api_client():
    return APIClient()


# The fixed cast of people, for permission tests and anything that needs someone signed in. Admin pages
# use pytest-django's `admin_client` (a superuser). Passwords are "pw" where a test signs in with one.
@pytest.fixture
def volunteer(db):
    """Signed in, but neither staff nor a researcher: an account gives no rights beyond voting and uploading."""
    from django.contrib.auth.models import User

    return User.objects.create_user("volunteer", password="pw")


@pytest.fixture
def uploader(db):
    """Someone without an account who uploads: their voter key, and a client that sends it in the voter cookie."""
    import uuid
    from types import SimpleNamespace

    from django.conf import settings

    from quiz.identity import voter_cookie_value

    key = uuid.uuid4()
    client = APIClient()
    client.cookies[settings.VOTER_COOKIE_NAME] = voter_cookie_value(key)
    return SimpleNamespace(key=key, client=client)


@pytest.fixture
def staff(db):
    """The site's staff: `is_staff` alone opens the models API, retraining and the dashboard."""
    from django.contrib.auth.models import User

    return User.objects.create_user("staff", password="pw", is_staff=True)


@pytest.fixture
def researcher(db):
    """In the Researchers group migrate creates (modelzoo.setup): that group's permissions, not staff."""
    from django.contrib.auth.models import Group, User

    from modelzoo.setup import RESEARCHERS

    user = User.objects.create_user("researcher", password="pw")
    user.groups.add(Group.objects.get(name=RESEARCHERS))
    return user


class FakeClock:
    """Stands in for the `time` module of the code under test: time stands still until a test moves it."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch):
    """`fake_clock(module, ...)`: those modules read the returned FakeClock instead of the wall clock."""
    clock = FakeClock()

    def install(*modules) -> FakeClock:
        for module in modules:
            monkeypatch.setattr(module, "time", clock)
        return clock

    return install


ROOT = Path(__file__).resolve().parents[1]
# The settings a production process reads; the test run's own values must not leak into the child.
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


def free_port() -> int:
    """A loopback port nothing listens on once the probe socket is closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(directory: Path, **env) -> dict:
    """DEBUG off, a fresh secret, an SQLite database and static root in `directory`, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in OWN and not k.startswith(OWN_PREFIXES)}
    return {
        **clean,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "STATIC_ROOT": str(directory / "static"),
        **env,
    }


@contextlib.contextmanager
def gunicorn(env: dict, ready: Callable[[], object], seconds: float = 60) -> Iterator[subprocess.Popen]:
    """gunicorn as deployed (corrosiondetector/gunicorn.conf.py), once `ready()` stops raising OSError."""
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "corrosiondetector/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                ready()
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.3)
        yield web
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)


def database_url_for_workers() -> str:
    """The URL of the database this test uses (the test database), for worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


@pytest.fixture
def start_worker(redis_url, media_root):
    """Start real `celery worker` processes on the real broker; all are stopped at the end of the test."""
    import signal

    processes = []

    def start(queues: str, *, pool: str = "solo", concurrency: int = 1, **env) -> subprocess.Popen:
        environment = {
            **os.environ,
            "CELERY_BROKER_URL": redis_url,
            "DATABASE_URL": database_url_for_workers(),
            "MEDIA_ROOT": str(media_root),
            "SECRET_KEY": "test-worker",
            "DEBUG": "0",
            **env,
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "corrosiondetector",
                "worker",
                "-Q",
                queues,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def redis_clients_opened(monkeypatch) -> list[dict]:
    """The options of every client made with redis.Redis.from_url during the test (they still connect)."""
    import redis

    opened = []
    from_url = redis.Redis.from_url
    monkeypatch.setattr(
        redis.Redis, "from_url", lambda url, **options: opened.append(options) or from_url(url, **options)
    )
    return opened


@pytest.fixture
def real_broker(redis_url):
    """Send tasks to the real broker instead of running them in-process."""
    from corrosiondetector.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(scope="session")
def tiny_onnx_model() -> bytes:
    """A real (untrained, tiny) exported network: serving code runs on it exactly as on a real one."""
    import tempfile

    from modelzoo.ml.export import export_onnx
    from modelzoo.ml.network import CorrosionNet

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.onnx")
        export_onnx(CorrosionNet(width=4).eval(), path, input_size=32)
        with open(path, "rb") as handle:
            return handle.read()


@pytest.fixture
def active_model(db, tiny_onnx_model):
    from factories import make_model_version
    from modelzoo.services import model_version_promote

    version = make_model_version(version=1, val_accuracy=0.5, onnx=tiny_onnx_model)
    model_version_promote(version_id=version.pk)
    version.refresh_from_db()
    return version
