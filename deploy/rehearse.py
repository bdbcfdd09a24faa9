"""The production stack on this machine, without Docker: `make rehearse`.

Starts, in the foreground: Caddy with deploy/Caddyfile (the file compose uses) and a self-signed certificate
for 127.0.0.1 and localhost; gunicorn with production settings (DEBUG off, https redirect, HSTS, Secure
cookies, one trusted proxy); the inference worker; beat. They use this machine's PostgreSQL and Redis, in a
database and a Redis database of their own. Before that it migrates, collects static files, imports
REHEARSE_IMAGES into an empty pool (default: the generated demo images), trains a first model when none is
active and, when asked, creates a staff account.

When everything answers it prints one line to stdout, `URL=https://127.0.0.1:<port>/` (everything else goes
to stderr; each server's log is a file under the scratch directory). Ctrl-C or SIGTERM stops every process
it started, by process group, and exits 0.

Environment (all optional):
  REHEARSE_PORT=8443            https port (Caddy)
  REHEARSE_HTTP_PORT=8080       Caddy's http -> https redirect port
  REHEARSE_DB=corrosiondetector_rehearse   database, created when missing
  REHEARSE_REDIS_DB=10          Redis database number (broker, cache, rate limits)
  REHEARSE_POSTGRES=postgres://postgres@127.0.0.1:5432   REHEARSE_REDIS=redis://127.0.0.1:6379
  REHEARSE_DIR=.rehearse/<db>   scratch: media, static files, certificate, secret key, logs
  REHEARSE_FRESH=0              1: drop the database, flush the Redis database and empty the scratch media first
  REHEARSE_IMAGES               an ImageFolder (corrosion/, no_corrosion/; or train/ and validation/ inside)
  REHEARSE_EPOCHS=8             epochs of the first model
  REHEARSE_STAFF_USER / REHEARSE_STAFF_PASSWORD   a superuser to create (or whose password to reset)
  REHEARSE_READY_TIMEOUT=180    seconds to wait for the servers
  WEB_WORKERS=2, REHEARSE_INFERENCE_CONCURRENCY=2, and any other setting of .env.example (e.g. QUIZ_RATE_PER_IP)
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


class Stop(Exception):
    """SIGINT or SIGTERM arrived: stop everything and exit 0."""


def log(message: str) -> None:
    print(f"rehearse: {message}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        sys.exit(f"rehearse: {name}={value!r} is not a whole number")


def signalled(signum, frame):
    raise Stop


# --- processes ------------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Runs in each child before exec: SIGTERM when the rehearsal dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """Children, each in a process group of its own (a terminal's Ctrl-C reaches only us; we stop them)."""

    def __init__(self):
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], *, env: dict, log_file: Path | None = None) -> subprocess.Popen:
        output = open(log_file, "ab") if log_file else sys.stderr  # noqa: SIM115 (closed when the child exits)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        if log_file:
            output.close()
        self.running.append((name, process))
        log(f"{name}: pid {process.pid}" + (f", log {log_file}" if log_file else ""))
        return process

    def run(self, name: str, command: list[str], *, env: dict) -> None:
        """A setup step, in the foreground (still stopped by a signal)."""
        process = self.start(name, command, env=env)
        returncode = process.wait()
        self.running.remove((name, process))
        if returncode != 0:
            raise SystemExit(f"rehearse: {name} failed (exit {returncode})")

    def died(self) -> tuple[str, int] | None:
        for name, process in self.running:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self, grace: float = 20.0) -> None:
        for name, process in reversed(self.running):
            if process.poll() is None:
                log(f"stopping {name} (process group {process.pid})")
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for name, process in self.running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {grace:.0f} s: killing it")
            # Whatever is left in the group (a worker's child): nothing we started may outlive us.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        self.running.clear()


# --- machine prerequisites ----------------------------------------------------------------------------


def apt_install(package: str) -> None:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    log(f"installing {package} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        if subprocess.run(prefix + command, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit(f"rehearse: could not install {package}; install it (apt-get install {package}) and retry")


def require_command(command: str, package: str) -> str:
    if not shutil.which(command):
        apt_install(package)
    return shutil.which(command)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = require_command("openssl", "openssl")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def database_ensure(server: str, name: str, *, fresh: bool) -> tuple[str, bool]:
    """The database's URL, and whether it was created now."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(server)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
        if fresh:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        created = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        if created:
            log(f"creating database {name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(parts._replace(path=f"/{name}")), created


def redis_ensure(server: str, number: int, *, fresh: bool) -> str:
    import redis

    url = f"{server.rstrip('/')}/{number}"
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    client.ping()
    if fresh:
        client.flushdb()
    return url


# --- the stack ---------------------------------------------------------------------------------------------


def settings_env(*, scratch: Path, database_url: str, broker_url: str, port: int, upstream: str) -> dict:
    secret_file = scratch / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(50))
        secret_file.chmod(0o600)
    origins = [f"https://127.0.0.1:{port}", f"https://localhost:{port}"]
    env = {**os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="corrosiondetector.settings.base",
        PYTHONUNBUFFERED="1",
        DEBUG="0",
        SECRET_KEY=secret_file.read_text().strip(),
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS=",".join(origins),
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto:https",
        TRUSTED_PROXY_COUNT="1",
        MEDIA_ACCEL_REDIRECT_PREFIX="/_protected/",
        MEDIA_ROOT=str(scratch / "media"),
        STATIC_ROOT=str(scratch / "static"),
        WEB_BIND=upstream,
        WEB_WORKERS=os.environ.get("WEB_WORKERS", "2"),
    )
    # Production defaults stay on: whatever the caller's shell says, this is the deployed configuration.
    for name in ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "CACHE_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    # Set per service below: two services sharing one multiprocess directory would sum each other's values.
    for name in ("PROMETHEUS_MULTIPROC_DIR", "CELERY_METRICS_PORT"):
        env.pop(name, None)
    return env


def with_metrics_dir(env: dict, directory: Path) -> dict:
    """The service's own, empty multiprocess directory (prometheus_client reads stale files as live)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


SETUP = """
import os, django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("seed_images")
epochs = os.environ["REHEARSE_EPOCHS"]
# A faster learning rate than the paper's, as `make run` does: a fresh site gives verdicts at once.
call_command("train", if_no_model=True, epochs=int(epochs), lr=0.002, json=True)
user, password = os.environ.get("REHEARSE_STAFF_USER"), os.environ.get("REHEARSE_STAFF_PASSWORD")
if user and password:
    from django.contrib.auth.models import User
    account, _ = User.objects.get_or_create(username=user, defaults={"email": f"{user}@localhost"})
    account.is_staff = account.is_superuser = True
    account.set_password(password)
    account.save()
    print(f"staff account {user!r} ready")
"""


def wait_until_ready(processes: Processes, url: str, worker_log: Path, timeout: float) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    last, worker_ready = "no answer yet", False
    while time.monotonic() < deadline:
        dead = processes.died()
        if dead:
            raise SystemExit(f"rehearse: {dead[0]} exited ({dead[1]}) before the site was ready; see its log")
        try:
            with urllib.request.urlopen(url + "healthz", context=context, timeout=5) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status, last = error.code, error.read()[:300].decode(errors="replace")
        except OSError as error:
            status, last = None, str(error)
        worker_ready = worker_log.exists() and b" ready." in worker_log.read_bytes()
        if status == 200 and worker_ready:
            return
        time.sleep(0.5)
    raise SystemExit(f"rehearse: not ready after {timeout:.0f} s ({url}healthz: {last}; worker ready: {worker_ready})")


def main() -> int:
    signal.signal(signal.SIGTERM, signalled)
    signal.signal(signal.SIGINT, signalled)
    port = env_int("REHEARSE_PORT", 8443)
    http_port = env_int("REHEARSE_HTTP_PORT", 8080)
    database = os.environ.get("REHEARSE_DB") or "corrosiondetector_rehearse"
    fresh = os.environ.get("REHEARSE_FRESH", "0") == "1"
    scratch = Path(os.environ.get("REHEARSE_DIR") or ROOT / ".rehearse" / database).resolve()
    images = os.environ.get("REHEARSE_IMAGES")
    if images and not Path(images).is_dir():
        sys.exit(f"rehearse: REHEARSE_IMAGES={images} is not a directory")
    for wanted in (port, http_port):
        if not port_free(wanted):
            sys.exit(f"rehearse: port {wanted} is taken (set REHEARSE_PORT / REHEARSE_HTTP_PORT)")

    processes = Processes()
    try:
        caddy = require_command("caddy", "caddy")
        if fresh and scratch.exists():
            shutil.rmtree(scratch)
        had_media = (scratch / "media").is_dir()
        for sub in ("media", "static", "logs", "tls", "caddy"):
            (scratch / sub).mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_certificate(scratch / "tls")
        database_url, created = database_ensure(
            os.environ.get("REHEARSE_POSTGRES") or "postgres://postgres@127.0.0.1:5432", database, fresh=fresh
        )
        if not created and not had_media:
            log(f"warning: {database} exists but {scratch}/media did not: its photos are elsewhere (REHEARSE_FRESH=1)")
        broker_url = redis_ensure(
            os.environ.get("REHEARSE_REDIS") or "redis://127.0.0.1:6379", env_int("REHEARSE_REDIS_DB", 10), fresh=fresh
        )
        upstream = f"127.0.0.1:{free_port()}"
        env = settings_env(
            scratch=scratch, database_url=database_url, broker_url=broker_url, port=port, upstream=upstream
        )

        setup_env = {**env, "REHEARSE_EPOCHS": str(env_int("REHEARSE_EPOCHS", 8))}
        if images:
            setup_env["SEED_IMAGES_DIR"] = str(Path(images).resolve())
        log(f"database {database}, Redis {broker_url}, scratch {scratch}")
        processes.run("setup (migrate, collectstatic, images, first model)", [PYTHON, "-c", SETUP], env=setup_env)

        logs = scratch / "logs"
        caddy_env = {
            **os.environ,
            "CADDY_ADMIN": "off",
            "SITE_ADDRESS": f":{port}",
            "HTTPS_PORT": str(port),
            "HTTP_PORT": str(http_port),
            "TLS": "files",
            "TLS_CERT": str(cert),
            "TLS_KEY": str(key),
            "UPSTREAM": upstream,
            "MEDIA_ROOT": env["MEDIA_ROOT"],
            "STATIC_ROOT": env["STATIC_ROOT"],
            "XDG_DATA_HOME": str(scratch / "caddy"),
            "XDG_CONFIG_HOME": str(scratch / "caddy"),
        }
        processes.start(
            "caddy",
            [caddy, "run", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],
            env=caddy_env,
            log_file=logs / "caddy.log",
        )
        processes.start(
            "gunicorn", [str(BIN / "gunicorn"), "-c", "corrosiondetector/gunicorn.conf.py"],
            env=with_metrics_dir(env, scratch / "prometheus" / "web"), log_file=logs / "gunicorn.log",
        )  # fmt: skip
        celery = str(BIN / "celery")
        concurrency = str(env_int("REHEARSE_INFERENCE_CONCURRENCY", 2))
        worker_log = logs / "worker-inference.log"
        worker_log.unlink(missing_ok=True)
        processes.start(
            "worker-inference",
            [celery, "-A", "corrosiondetector", "worker", "-Q", "inference", "--concurrency", concurrency,
             "--loglevel", "INFO", "--hostname", f"inference-{database}@%h"],
            env=with_metrics_dir(env, scratch / "prometheus" / "worker-inference"), log_file=worker_log,
        )  # fmt: skip
        processes.start(
            "beat",
            [celery, "-A", "corrosiondetector", "beat", "--loglevel", "INFO",
             "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile", str(scratch / "beat.pid")],
            env=env, log_file=logs / "beat.log",
        )  # fmt: skip

        url = f"https://127.0.0.1:{port}/"
        wait_until_ready(processes, url, worker_log, float(env_int("REHEARSE_READY_TIMEOUT", 180)))
        print(f"URL={url}", flush=True)
        log(f"ready: {url} (self-signed certificate {cert}); Ctrl-C stops everything")
        while True:
            dead = processes.died()
            if dead:
                log(f"{dead[0]} exited unexpectedly ({dead[1]}); stopping the rest (logs: {logs})")
                return 1
            time.sleep(1)
    except Stop:
        log("stopping")
        return 0
    finally:
        # A second signal must not interrupt the clean-up half-way.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
