"""What the benchmarks share: a fresh PostgreSQL database, a loopback server's environment, waiting for it to answer.

Importable as `benchlib` because Python puts a script's own folder (bench/) first on sys.path.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import time


def recreate_database(url: str) -> None:
    """Drop and create the database `url` names, so every run starts from the same empty state."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(**overrides: str) -> dict[str, str]:
    """Production settings (DEBUG off) over plain http on loopback, plus the benchmark's own overrides."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
        "SECRET_KEY": "bench-only-secret",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain http: no https redirect or Secure-only cookies.
        "SECURE_COOKIES": "0",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def wait_for_http(port: int, path: str, *, server: subprocess.Popen | None = None, seconds: float = 60) -> None:
    """Return once GET `path` answers 200; fail early if `server` has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")
