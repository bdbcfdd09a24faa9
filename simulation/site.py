"""A live Corrosion Detector site for the simulation: its own SQLite database and media folder,
driven by `manage.py` subprocesses and served by gunicorn on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

from django.conf import settings

from quiz.models import Label

# The site's own settings; everything else (e.g. TRAINING_CONFIG) passes through from the caller's environment.
OVERRIDDEN = ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY")


class SiteError(RuntimeError):
    pass


class Site:
    def __init__(self, workdir: Path, settings_env: dict[str, str] | None = None):
        self.workdir = workdir
        self.database = workdir / "db.sqlite3"
        self.media = workdir / "media"
        env = {key: value for key, value in os.environ.items() if key not in OVERRIDDEN}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
                "DATABASE_URL": f"sqlite:///{self.database.resolve()}",
                "MEDIA_ROOT": str(self.media.resolve()),
                # The Quick start's configuration: tasks run in-process, no broker.
                "DEBUG": "1",
                # Every simulated volunteer comes from 127.0.0.1 and votes faster than a person.
                "QUIZ_RATE_PER_IP": "0",
                "QUIZ_RATE_PER_VOTER": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(settings_env or {})
        self.env = env

    def manage(self, *args: str) -> str:
        command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, cwd=settings.BASE_DIR)
        if done.returncode != 0:
            raise SiteError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def copy_to(self, workdir: Path, settings_env: dict[str, str]) -> Site:
        """A copy of this site (database and media) with other settings; media files are hard links."""
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        shutil.copy2(self.database, workdir / "db.sqlite3")
        shutil.copytree(self.media, workdir / "media", copy_function=os.link)
        site = Site(workdir, settings_env)
        # The base may predate a migration of the code under test.
        site.manage("migrate", "--noinput")
        return site

    @contextmanager
    def serving(self):
        """Run gunicorn on a free loopback port; yield the base URL."""
        port = _free_port()
        log = open(self.workdir / "gunicorn.log", "ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "corrosiondetector.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
            env=self.env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base_url, process)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()

    def crowd_labels(self) -> dict[str, str]:
        """Content hash → crowd label of every training image the crowd has labelled (a read-only look)."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT sha256, crowd_label FROM quiz_image WHERE split = 'train' AND crowd_label IS NOT NULL"
            ).fetchall()
        return dict(rows)

    def model_labels(self, version: int) -> dict[str, str]:
        """Content hash → label of each photo that version's training labelled itself (self-training)."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            (stored,) = db.execute(
                "SELECT pseudo_labels FROM modelzoo_modelversion WHERE version = ?", (version,)
            ).fetchone()
            sha_by_id = dict(db.execute("SELECT id, sha256 FROM quiz_image").fetchall())
        names = {1: Label.CORROSION.value, 0: Label.NO_CORROSION.value}  # as crowd_labels() gives them
        return {sha_by_id[int(image_id)]: names[label] for image_id, label in json.loads(stored or "{}").items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SiteError(f"the server exited with {process.returncode}; see its gunicorn.log")
        try:
            with urllib.request.urlopen(f"{base_url}/api/quiz/voter/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise SiteError(f"the server at {base_url} did not answer within {timeout:.0f} s")


class QuizClient:
    """One volunteer's browser as far as the quiz API is concerned: its own cookie jar, JSON in and out."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def round(self) -> dict:
        return self._call("GET", "/api/quiz/round/")

    def submit(self, *, token: str, corrosion_ids: list[int]) -> dict:
        return self._call("POST", "/api/quiz/round/", {"round": token, "corrosion": corrosion_ids})

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SiteError(f"{method} {path} answered {error.code}: {error.read()[:300]!r}") from None
