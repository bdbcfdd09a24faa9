"""Health of what a request needs: the database, the broker and an active model.

Every check is bounded in time so a load balancer or container healthcheck gets an answer
even while a dependency hangs. Run as a module, it is the container healthcheck itself:

    python -m corrosiondetector.health [URL] [--ready]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)

# A broker that does not accept a connection within this long counts as down.
BROKER_TIMEOUT_SECONDS = 1.0
OK, ERROR, EAGER = "ok", "error", "eager"


def check_database() -> str:
    """The connection's own timeout bounds this (DATABASE_URL's `?connect_timeout=`)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: database unreachable: %s", exc)
        return ERROR
    return OK


def check_broker() -> str:
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return EAGER  # tasks run in-process: there is no broker to lose
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(
                url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as connection:
                connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # whatever the client raises, an unreachable broker means the same: down
        logger.warning("health: broker unreachable: %s", exc)
        return ERROR
    return OK


def check_model(database: str) -> dict | None:
    if database != OK:
        return None
    from django.db import DatabaseError

    from modelzoo.selectors import model_version_active

    try:
        version = model_version_active()
    except DatabaseError:
        return None
    if version is None:
        return None
    return {"version": version.version, "val_accuracy": version.val_accuracy}


def health_report() -> tuple[bool, dict]:
    """(healthy, report): healthy when the database answers, the broker is reachable and a model is active."""
    database = check_database()
    broker = check_broker()
    model = check_model(database)
    healthy = database == OK and broker in (OK, EAGER) and model is not None
    return healthy, {"status": OK if healthy else ERROR, "database": database, "broker": broker, "model": model}


# --- The container healthcheck -----------------------------------------------------------------


def probe_host() -> str:
    """A Host header the site accepts: the first of ALLOWED_HOSTS (the request comes from inside)."""
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    if not hosts or hosts[0] == "*":
        return "localhost"
    return hosts[0].lstrip(".")


def probe(url: str, *, ready: bool, timeout: float = 10.0) -> tuple[bool, str]:
    """Alive: the site answers and reaches its database and broker (a missing model is not
    fixed by restarting it). Ready: /healthz says 200, the model included."""
    request = urllib.request.Request(url, headers={"Host": probe_host()})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (OSError, urllib.error.URLError) as exc:
        return False, f"unreachable: {exc}"
    try:
        report = json.loads(body)
    except ValueError:
        return False, f"HTTP {status}, not JSON: {body[:200]!r}"
    if ready:
        return status == 200, f"HTTP {status} {report}"
    alive = status in (200, 503) and report.get("database") == OK and report.get("broker") in (OK, EAGER)
    return alive, f"HTTP {status} {report}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 0 when the site at URL is healthy.")
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000/healthz")
    parser.add_argument("--ready", action="store_true", help="also require an active model (HTTP 200)")
    args = parser.parse_args(argv)
    healthy, detail = probe(args.url, ready=args.ready)
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
