"""Post the hostile upload corpus (tests/hostile_corpus.py) to a server over HTTP; count the answers.

    .venv/bin/python bench/hostile_uploads.py                    # starts its own gunicorn, fresh database
    .venv/bin/python bench/hostile_uploads.py --url http://127.0.0.1:8000 [--media-root DIR --database-url URL]

By default: gunicorn (2 workers x 4 threads, DEBUG off) on a fresh PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/cd_bench_hostile), a temporary MEDIA_ROOT and upload rate limits off, then
every file of the corpus is POSTed to /api/uploads/ as multipart, with its hostile file name and a lying
Content-Type, one request per connection. Afterwards it counts the upload and image rows in the database and
the files under MEDIA_ROOT. With --url it posts to a server that is already running (loopback only: this is
an attack corpus) and checks rows and files only when told where they are.

Expected: every answer a 4xx, no 5xx, no connection errors, 0 rows, 0 files.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from benchlib import recreate_database, server_env, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cd_bench_hostile"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000 (loopback only)")
    parser.add_argument("--port", type=int, default=8766, help="port for the server this script starts")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--media-root", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def require_loopback(host: str) -> None:
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        raise SystemExit(f"refusing to send an attack corpus to {host} ({', '.join(sorted(addresses))}): loopback only")


def multipart(item) -> tuple[bytes, str]:
    # The name goes out as raw UTF-8, quotes, CR/LF and NUL included: breaking the framing is part of the test.
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{item.name}"\r\n'
        f"Content-Type: {item.content_type}\r\n\r\n"
    ).encode("utf-8", "surrogateescape")
    return head + item.data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(host: str, port: int, item) -> int | str:
    body, content_type = multipart(item)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        try:
            conn.request("POST", "/api/uploads/", body=body, headers={"Content-Type": content_type})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before reading a body it will not take
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException) as error:
        return f"connection error: {type(error).__name__}"
    finally:
        conn.close()


def rows_left(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("uploads_upload", "quiz_image")
        }


def files_left(media_root: Path) -> int:
    return sum(1 for path in media_root.rglob("*") if path.is_file()) if media_root.exists() else 0


def start_server(args) -> tuple[subprocess.Popen, Path, str]:
    database_url = args.database_url or DEFAULT_DB
    recreate_database(database_url)
    media = Path(tempfile.mkdtemp(prefix="cd-bench-hostile-media-"))
    env = server_env(
        DATABASE_URL=database_url, MEDIA_ROOT=str(media), UPLOAD_RATE_PER_VOTER="0", UPLOAD_RATE_PER_IP="0"
    )
    env.pop("CELERY_BROKER_URL", None)  # refused files never reach a task; nothing else needs a broker here
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log = open(Path(tempfile.mkdtemp(prefix="cd-bench-hostile-logs-")) / "web.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "corrosiondetector.wsgi", "-b", f"127.0.0.1:{args.port}"]
        + ["-w", "2", "--threads", "4", "-k", "gthread"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(args.port, "/api/schema/", server=server)
    except RuntimeError as error:
        raise RuntimeError(f"{error}; see {log.name}") from None
    return server, media, database_url


def main() -> None:
    from hostile_corpus import family_counts, hostile_corpus

    args = parse_args()
    server = None
    media_root, database_url = args.media_root, args.database_url
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
    else:
        server, media_root, database_url = start_server(args)
        host, port = "127.0.0.1", args.port
    require_loopback(host)

    started = time.perf_counter()
    corpus, _ = hostile_corpus()
    generated = time.perf_counter() - started
    by_status: Counter = Counter()
    by_family: dict[str, Counter] = {}
    server_errors = []
    try:
        started = time.perf_counter()
        for item in corpus:
            status = post(host, port, item)
            by_status[status] += 1
            by_family.setdefault(item.family, Counter())[status] += 1
            if not (isinstance(status, int) and 400 <= status < 500):
                server_errors.append(f"{status} {item.family}: {item.note}")
        elapsed = time.perf_counter() - started
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    four_xx = sum(count for status, count in by_status.items() if isinstance(status, int) and 400 <= status < 500)
    report = {
        "files": len(corpus),
        "families": dict(sorted(family_counts(corpus).items())),
        "by_status": {str(k): v for k, v in sorted(by_status.items(), key=str)},
        "by_family": {family: {str(k): v for k, v in counts.items()} for family, counts in sorted(by_family.items())},
        "percent_4xx": round(100 * four_xx / len(corpus), 2),
        "server_errors_5xx": sum(c for s, c in by_status.items() if isinstance(s, int) and s >= 500),
        "not_4xx": server_errors[:20],
        "generate_seconds": round(generated, 1),
        "post_seconds": round(elapsed, 1),
        "rows_left": rows_left(database_url) if database_url else "not checked",
        "files_left": files_left(media_root) if media_root else "not checked",
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if report["percent_4xx"] < 100:
        sys.exit(1)


if __name__ == "__main__":
    main()
