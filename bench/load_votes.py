"""Many voters at once: gunicorn + PostgreSQL + Redis on this machine, over loopback HTTP.

    .venv/bin/python bench/load_votes.py                          # 100 voters, 30 s
    .venv/bin/python bench/load_votes.py --voters 200 --seconds 60 --workers 3 --threads 2

A fresh database (default postgres://postgres@127.0.0.1:5432/cd_bench_load, dropped and re-created) gets
`--images` generated images (5% expert-labelled validation images, for gold questions) by one SQL insert.
gunicorn serves the app (gthread workers, keep-alive) with the production settings (DEBUG off, durable
commits, rate limits on but raised so that one address can carry every voter: each request still counts
itself in Redis). The client is one asyncio process speaking HTTP/1.1 over one keep-alive connection per
voter (no third-party client: it must stay light, it shares the cores with the server). Each voter has its own
cookie jar (its voter cookie) and loops: GET /api/quiz/round/, then POST its answer (a random subset ticked).
A round of 4 images is 4 votes.

Errors are every non-2xx answer (429 included), connection failure and timeout. Afterwards the database is
checked: vote rows == votes acknowledged by a 201 == sum of image counters == sum of voter counters ==
sum of the daily vote tally.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import recreate_database, server_env, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cd_bench_load"
HIGH_LIMIT = "1000000"  # requests per minute: never reached, but still counted in Redis


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voters", type=int, default=100, help="concurrent simulated voters (>= 1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the timed run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before timing starts")
    parser.add_argument("--max-rounds", type=int, default=0, help="stop after this many rounds in all (0: no cap)")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"), help="gunicorn worker class")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout per request, seconds")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.voters < 1 or args.seconds <= 0 or args.workers < 1 or args.threads < 1:
        parser.error("--voters, --seconds, --workers and --threads must be positive")
    return args


# --- Setup -------------------------------------------------------------------------------------------


def seed_images(url: str, count: int) -> None:
    """Generated images, inserted by PostgreSQL itself (the files are never read: rounds only link them)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO quiz_image (file, sha256, source, split, width, height, original_name,
                                    imported_label, crowd_label, expert_label, effective_label, label_source,
                                    labelled_at, votes_yes, votes_no, vote_count, random_key, excluded,
                                    excluded_reason, created_at)
            SELECT 'images/' || left(h, 2) || '/' || h || '.jpg', h, 'seed',
                   CASE WHEN i %% 20 = 0 THEN 'validation' ELSE 'train' END, 512, 384, '',
                   NULL, NULL, CASE WHEN i %% 20 = 0 THEN 'corrosion' END,
                   CASE WHEN i %% 20 = 0 THEN 'corrosion' END, CASE WHEN i %% 20 = 0 THEN 'expert' END,
                   NULL, 0, 0, 0, random(), false, '', now()
            FROM (SELECT i, md5(i::text) || md5((i * 31)::text) AS h FROM generate_series(1, %s) i) s
            """,
            [count],
        )
        conn.execute("VACUUM ANALYZE")


def quiz_server_env(args: argparse.Namespace, media: Path) -> dict:
    return server_env(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        MEDIA_ROOT=str(media),
        QUIZ_RATE_PER_VOTER=HIGH_LIMIT,
        QUIZ_RATE_PER_IP=HIGH_LIMIT,
        LOG_LEVEL="WARNING",
    )


def start_gunicorn(args: argparse.Namespace, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            # The deployment's own settings (WEB_* environment, hooks); the flags below override them.
            "-c",
            str(ROOT / "corrosiondetector" / "gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{args.port}",
            "--worker-class",
            args.worker_class,
            "-w",
            str(args.workers),
            "--threads",
            str(args.threads),
            # Every voter keeps its connection; idle ones wait in the worker's poller, not on a thread.
            "--keep-alive",
            "30",
            # gthread keeps a connection on the worker that accepted it, and the voters' connections all
            # open at once and never idle (browsers reconnect after the 5 s keep-alive): without a cap,
            # one worker can end up holding most of them while another holds none.
            "--worker-connections",
            str(math.ceil(1.25 * args.voters / args.workers) + 2),
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


# --- A minimal HTTP/1.1 keep-alive client (asyncio streams) --------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, cookie: str, body: bytes = b"") -> tuple[int, dict, bytes]:
        return await asyncio.wait_for(self._request(method, path, cookie, body), self.timeout)

    async def _request(self, method: str, path: str, cookie: str, body: bytes) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readuntil(b"\r\n")
        if not status_line:
            raise HttpError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + "\n" + value if name in headers else value
        payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Stats:
    def __init__(self) -> None:
        self.timing = False
        self.stop = False
        self.round_ms: list[float] = []
        self.vote_ms: list[float] = []
        self.votes_timed = 0  # acknowledged during the timed window
        self.acknowledged = 0  # acknowledged at any time (what the database must hold)
        self.rounds = 0
        self.errors: dict[str, int] = {}
        self.unconfirmed_posts = 0  # a POST without an answer (timeout, reset): may or may not be recorded

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def voter(number: int, args: argparse.Namespace, stats: Stats) -> None:
    rng = random.Random(number)
    connection = Connection(args.port, args.timeout)
    cookie = ""  # this voter's own cookie jar: the signed voter cookie
    try:
        while not stats.stop:
            if args.max_rounds and stats.rounds >= args.max_rounds:
                return
            stats.rounds += 1
            try:
                started = time.perf_counter()
                status, headers, payload = await connection.request("GET", "/api/quiz/round/", cookie)
                elapsed = (time.perf_counter() - started) * 1000
                if "set-cookie" in headers:
                    cookie = headers["set-cookie"].split("\n")[0].split(";", 1)[0]
                if status != 200:
                    stats.error(f"round {status}")
                    continue
                if stats.timing:
                    stats.round_ms.append(elapsed)
                served = json.loads(payload)
                ids = [image["id"] for image in served["images"]]
                if not ids:
                    stats.error("round empty")
                    continue
                answer = {"round": served["round"], "corrosion": [i for i in ids if rng.random() < 0.4]}
                started = time.perf_counter()
                try:
                    status, _, payload = await connection.request(
                        "POST", "/api/quiz/round/", cookie, json.dumps(answer).encode()
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError, HttpError):
                    stats.unconfirmed_posts += 1
                    raise
                elapsed = (time.perf_counter() - started) * 1000
                if status != 201:
                    stats.error(f"vote {status}")
                    continue
                recorded = json.loads(payload)["recorded"]
                stats.acknowledged += recorded
                if stats.timing:
                    stats.vote_ms.append(elapsed)
                    stats.votes_timed += recorded
            except TimeoutError:
                stats.error("timeout")
                connection.close()
            except (OSError, asyncio.IncompleteReadError, HttpError) as error:
                stats.error(type(error).__name__)
                connection.close()
                await asyncio.sleep(0.05)
    finally:
        connection.close()


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found += process_tree(int(child))
    return found


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def cpu_snapshot(web_pid: int, database_url: str) -> dict:
    """CPU seconds used so far by the web server, this database's PostgreSQL backends and the client."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        backends = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
    client = os.times()
    return {
        "gunicorn": cpu_seconds(process_tree(web_pid)),
        "postgres": cpu_seconds(backends),
        "client": client.user + client.system,
        "machine": sum(float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:4])
        / os.sysconf("SC_CLK_TCK"),
    }


async def load(args: argparse.Namespace, web_pid: int) -> tuple[Stats, float, dict]:
    stats = Stats()
    tasks = [asyncio.create_task(voter(i, args, stats)) for i in range(args.voters)]
    await asyncio.sleep(args.warmup)
    before = await asyncio.to_thread(cpu_snapshot, web_pid, args.database_url)
    stats.timing = True
    started = time.perf_counter()
    deadline = started + args.seconds
    while time.perf_counter() < deadline and not all(task.done() for task in tasks):
        await asyncio.sleep(0.05)
    stats.timing = False
    elapsed = time.perf_counter() - started
    after = await asyncio.to_thread(cpu_snapshot, web_pid, args.database_url)
    rounds = max(1, len(stats.vote_ms))
    # Where the cores went, per recorded round (a GET and a POST); "machine" is everything, others' work included.
    cpu = {f"{k}_ms_per_round": round((after[k] - before[k]) * 1000 / rounds, 2) for k in before}
    stats.stop = True
    await asyncio.gather(*tasks)  # let requests in flight finish, so every vote is either acknowledged or not
    return stats, elapsed, cpu


def database_counts(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            "vote_rows": conn.execute("SELECT count(*) FROM quiz_vote").fetchone()[0],
            "image_counters": conn.execute("SELECT coalesce(sum(vote_count), 0) FROM quiz_image").fetchone()[0],
            "image_yes_plus_no": conn.execute(
                "SELECT coalesce(sum(votes_yes + votes_no), 0) FROM quiz_image"
            ).fetchone()[0],
            "voter_counters": conn.execute("SELECT coalesce(sum(votes_cast), 0) FROM quiz_voter").fetchone()[0],
            "tally": conn.execute("SELECT coalesce(sum(votes), 0) FROM quiz_votetally").fetchone()[0],
            "voters": conn.execute("SELECT count(*) FROM quiz_voter").fetchone()[0],
            "yes_rows_match_tally": conn.execute(
                "SELECT (SELECT count(*) FROM quiz_vote WHERE corrosion)"
                " = (SELECT coalesce(sum(yes), 0) FROM quiz_votetally)"
            ).fetchone()[0],
        }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def latency(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1),
    }


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min average)", flush=True)
    recreate_database(args.database_url)
    media = Path(tempfile.mkdtemp(prefix="cd-bench-media-"))
    env = quiz_server_env(args, media)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seed_images(args.database_url, args.images)
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()

    log = Path(tempfile.mkdtemp(prefix="cd-bench-logs-")) / "web.log"
    web = start_gunicorn(args, env, log)
    try:
        wait_for_http(args.port, "/api/quiz/voter/")
        stats, elapsed, cpu = asyncio.run(load(args, web.pid))
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    counts = database_counts(args.database_url)
    consistent = (
        counts["vote_rows"]
        == counts["image_counters"]
        == counts["image_yes_plus_no"]
        == counts["voter_counters"]
        == counts["tally"]
        and counts["yes_rows_match_tally"]
    )
    report = {
        "voters": args.voters,
        "seconds": round(elapsed, 1),
        "gunicorn": f"{args.worker_class} {args.workers} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
        "votes_per_s": round(stats.votes_timed / elapsed, 1),
        "rounds_per_s": round(len(stats.vote_ms) / elapsed, 1),
        "round_latency": latency(stats.round_ms),
        "vote_latency": latency(stats.vote_ms),
        "cpu": cpu,
        "errors": sum(stats.errors.values()),
        "error_kinds": stats.errors,
        "acknowledged_votes": stats.acknowledged,
        "unconfirmed_posts": stats.unconfirmed_posts,
        **counts,
        "lost_votes": stats.acknowledged - counts["vote_rows"] if counts["vote_rows"] <= stats.acknowledged else 0,
        "counters_consistent": consistent,
        "load_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = report["errors"] == 0 and consistent and counts["vote_rows"] == stats.acknowledged
    if not ok:
        print(f"FAILED: see the figures above; gunicorn's log: {log}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
