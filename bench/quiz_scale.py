"""Quiz latency at scale: serving a round and recording a vote with 10k and 1M images in PostgreSQL.

    .venv/bin/python bench/quiz_scale.py                       # 10k and 1M images, ~10 votes per image
    .venv/bin/python bench/quiz_scale.py --sizes 10000 --samples 200

Each size gets a fresh database (default postgres://postgres@127.0.0.1:5432/cd_bench_quiz, dropped and
re-created), filled with SQL (generate_series), with votes spread over 100k voters. Latency is measured
server-side: the full Django request (middleware, view, queries, JSON) through the test client, in this
process, for voters that already have ~100 votes each (so "never show an image twice" has work to do).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchlib import recreate_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cd_bench_quiz"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--votes-per-image", type=float, default=10.0, help="mean votes per image")
    parser.add_argument("--voters", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=500, help="timed requests per operation")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def setup_django(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="corrosiondetector.settings.base",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
        DEBUG="0",
        ALLOWED_HOSTS="testserver",
        QUIZ_RATE_PER_VOTER="0",
        # Plain http on loopback: no https redirect or Secure-only cookies.
        SECURE_COOKIES="0",
        QUIZ_RATE_PER_IP="0",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def fill(n_images: int, votes_per_image: float, n_voters: int) -> dict:
    """Images, voters and votes with consistent counters, written by PostgreSQL itself."""
    from django.conf import settings
    from django.db import connection

    max_votes = max(1, round(votes_per_image * 2))
    min_votes = settings.QUIZ_MIN_VOTES
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            """
            INSERT INTO quiz_voter (key, expertise, ip_hash, votes_cast, created_at, last_seen_at)
            SELECT md5('voter' || v)::uuid, (ARRAY['', 'none', 'some', 'professional'])[1 + v %% 4], '', 0, now(), now()
            FROM generate_series(1, %s) v
            """,
            [n_voters],
        )
        cur.execute(
            """
            INSERT INTO quiz_image (file, sha256, source, split, width, height, original_name,
                                    imported_label, crowd_label, expert_label, effective_label, label_source,
                                    labelled_at, votes_yes, votes_no, vote_count, random_key, excluded,
                                    excluded_reason, created_at)
            SELECT 'images/' || left(h, 2) || '/' || h || '.jpg', h, 'seed',
                   CASE WHEN i %% 20 = 0 THEN 'validation' ELSE 'train' END, 512, 384, '',
                   NULL, NULL, CASE WHEN i %% 20 = 0 THEN 'corrosion' END, NULL, NULL,
                   NULL, 0, 0, 0, random(), false, '', now()
            FROM (SELECT i, md5(i::text) || md5((i * 31)::text) AS h FROM generate_series(1, %s) i) s
            """,
            [n_images],
        )
        # Vote counts spread 0..max_votes (mean ~votes_per_image); the first votes_yes of each image say yes.
        cur.execute(
            """
            UPDATE quiz_image SET vote_count = n, votes_yes = yes, votes_no = n - yes
            FROM (SELECT id AS image_id, n, floor(random() * (n + 1))::int AS yes
                  FROM (SELECT id, floor(random() * %s)::int AS n FROM quiz_image) counts) drawn
            WHERE id = drawn.image_id
            """,
            [max_votes + 1],
        )
        cur.execute(
            """
            UPDATE quiz_image SET crowd_label = CASE
                WHEN vote_count < %s OR votes_yes = votes_no THEN NULL
                WHEN votes_yes > votes_no THEN 'corrosion' ELSE 'no_corrosion' END
            """,
            [min_votes],
        )
        cur.execute(
            """
            UPDATE quiz_image SET effective_label = coalesce(expert_label, crowd_label),
                   label_source = CASE WHEN expert_label IS NOT NULL THEN 'expert'
                                       WHEN crowd_label IS NOT NULL THEN 'crowd' END,
                   labelled_at = CASE WHEN coalesce(expert_label, crowd_label) IS NOT NULL THEN now() END
            """
        )
        dropped = _drop_secondary(cur, "quiz_vote")
        # Voter of the k-th vote on image i: distinct for every k of one image, since 104729 is prime.
        cur.execute(
            """
            INSERT INTO quiz_vote (voter_id, image_id, corrosion, expertise, created_at)
            SELECT 1 + ((img.id * 7919 + k * 104729) %% %s), img.id, k <= img.votes_yes, '',
                   now() - (random() * interval '37 days')
            FROM quiz_image img, generate_series(1, img.vote_count) k
            """,
            [n_voters],
        )
        _restore(cur, dropped)
        cur.execute(
            """
            UPDATE quiz_voter v SET votes_cast = c.n
            FROM (SELECT voter_id, count(*) AS n FROM quiz_vote GROUP BY voter_id) c WHERE c.voter_id = v.id
            """
        )
        # Steady state, as autovacuum leaves a live table: visibility map set, statistics fresh.
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT count(*), sum(vote_count) FROM quiz_image")
        images, votes = cur.fetchone()
        cur.execute("SELECT count(*) FROM quiz_vote")
        (vote_rows,) = cur.fetchone()
    assert votes == vote_rows, (votes, vote_rows)
    return {"images": images, "votes": vote_rows, "fill_seconds": round(time.perf_counter() - started, 1)}


def _drop_secondary(cur, table: str) -> list[str]:
    """Drop a table's indexes and constraints (but its primary key) for a fast bulk load; return how to restore."""
    cur.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
        """,
        [table],
    )
    constraints = cur.fetchall()
    for name, _ in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cur.execute(
        """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p')
        """,
        [table],
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints
    ]


def _restore(cur, statements: list[str]) -> None:
    cur.execute("SET maintenance_work_mem = '1GB'")
    for statement in statements:
        cur.execute(statement)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def measure(samples: int, n_voters: int) -> dict:
    import hashlib
    import random
    import uuid

    from django.conf import settings
    from django.test import Client

    from quiz.identity import voter_cookie_value

    rng = random.Random(7)

    def voter_client() -> Client:
        # An existing voter with ~100 votes already, identified by the same signed cookie a browser holds.
        client = Client()
        number = rng.randrange(1, n_voters + 1)
        key = uuid.UUID(hashlib.md5(f"voter{number}".encode()).hexdigest())
        client.cookies[settings.VOTER_COOKIE_NAME] = voter_cookie_value(key)
        return client

    serve, record, page, served_sizes = [], [], [], []
    for i in range(samples + 50):
        client = voter_client()
        started = time.perf_counter()
        response = client.get("/api/quiz/round/")
        elapsed_get = time.perf_counter() - started
        assert response.status_code == 200, response.content
        body = response.json()
        served_sizes.append(len(body["images"]))
        ticked = [image["id"] for image in body["images"][:1]]
        started = time.perf_counter()
        response = client.post(
            "/api/quiz/round/", {"round": body["round"], "corrosion": ticked}, content_type="application/json"
        )
        elapsed_post = time.perf_counter() - started
        assert response.status_code == 201, response.content
        # The HTML quiz page: a round, the voter's count and the community strip (cached for
        # COMMUNITY_CACHE_SECONDS, so nearly every request reads it from the cache).
        started = time.perf_counter()
        response = client.get("/")
        elapsed_page = time.perf_counter() - started
        assert response.status_code == 200 and b"votes this week" in response.content
        if i >= 50:  # the first requests warm connections and caches
            serve.append(elapsed_get)
            record.append(elapsed_post)
            page.append(elapsed_page)
    assert min(served_sizes) == settings.QUIZ_ROUND_SIZE
    return {"serve_round": summarize(serve), "record_vote": summarize(record), "quiz_page": summarize(page)}


def main() -> None:
    args = parse_args()
    results = []
    for size in args.sizes:
        recreate_database(args.database_url)
        if "django" not in sys.modules:
            setup_django(args.database_url)
        from django.core.management import call_command
        from django.db import connections

        connections.close_all()
        call_command("migrate", verbosity=0)
        print(f"filling {size:,} images ...", flush=True)
        filled = fill(size, args.votes_per_image, args.voters)
        print(f"  {filled['images']:,} images, {filled['votes']:,} votes in {filled['fill_seconds']} s", flush=True)
        figures = measure(args.samples, args.voters)
        results.append({"images": size, **filled, **figures})
        connections.close_all()

    print()
    print(
        f"{'images':>10} {'votes':>11} | {'round p50':>9} {'p95':>7} {'p99':>7} |"
        f" {'vote p50':>9} {'p95':>7} {'p99':>7} | {'page p50':>9} {'p95':>7} {'p99':>7}  (ms)"
    )
    for row in results:
        s, r, p = row["serve_round"], row["record_vote"], row["quiz_page"]
        print(
            f"{row['images']:>10,} {row['votes']:>11,} | {s['p50_ms']:>9} {s['p95_ms']:>7} {s['p99_ms']:>7} |"
            f" {r['p50_ms']:>9} {r['p95_ms']:>7} {r['p99_ms']:>7} | {p['p50_ms']:>9} {p['p95_ms']:>7} {p['p99_ms']:>7}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
