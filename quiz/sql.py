"""The vote path's SQL, each statement written out whole, and the cursor that keeps them prepared.

Hand-written rather than built by the ORM: building and compiling the querysets cost more than
PostgreSQL spends running them (bench/README.md). A round is three statements on PostgreSQL and five
on SQLite (one more under weighted aggregation); where the two dialects differ there is one statement
per dialect. Only what depends on the
round's size is generated: the `{ids}` and `{rows}` placeholder lists, filled in by the functions at
the end, which cache each text so that a round builds no SQL.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

# Creates the voter if new and adds the round's votes to their count, in the caller's transaction (a
# refused round takes the count back too). Returns VOTER_COLUMNS.
VOTER_COUNT_VOTES = """
INSERT INTO quiz_voter (key, expertise, ip_hash, votes_cast, created_at, last_seen_at)
VALUES (%s, '', %s, %s, %s, %s)
ON CONFLICT (key) DO UPDATE SET
    votes_cast = quiz_voter.votes_cast + EXCLUDED.votes_cast,
    ip_hash = CASE WHEN EXCLUDED.ip_hash <> '' THEN EXCLUDED.ip_hash ELSE quiz_voter.ip_hash END,
    last_seen_at = EXCLUDED.last_seen_at
RETURNING id, expertise, votes_cast, sensitivity, specificity
"""
VOTER_COLUMNS = ("id", "expertise", "votes_cast", "sensitivity", "specificity")

# What vote_cast reads of the round's images: what count_vote and the label rules use. In model order:
# Model.from_db matches a partial row to the fields that way.
IMAGE_LOCKED_COLUMNS = (
    "id",
    "imported_label",
    "crowd_label",
    "expert_label",
    "effective_label",
    "label_source",
    "labelled_at",
    "crowd_confidence",
    "votes_yes",
    "votes_no",
    "vote_count",
)

# SQLite: the round's images, after VOTER_COUNT_VOTES. It locks the whole database for a write
# transaction, so it needs no FOR UPDATE.
IMAGES_LOCK_SQLITE = """
SELECT id, imported_label, crowd_label, expert_label, effective_label, label_source, labelled_at,
       crowd_confidence, votes_yes, votes_no, vote_count
FROM quiz_image WHERE id IN ({ids}) ORDER BY id
"""

# PostgreSQL: the voter upsert as a CTE beside the SELECT that locks the round's images, one round trip.
# Each row is the voter's VOTER_COLUMNS then one image's IMAGE_LOCKED_COLUMNS (NULLs when the round's
# images are gone). The rows are locked in id order, so concurrent rounds sharing images queue up
# instead of deadlocking.
VOTER_COUNT_VOTES_AND_LOCK_IMAGES_POSTGRESQL = f"""
WITH w AS ({VOTER_COUNT_VOTES})
SELECT w.*, i.* FROM w LEFT JOIN (
    SELECT id, imported_label, crowd_label, expert_label, effective_label, label_source, labelled_at,
           crowd_confidence, votes_yes, votes_no, vote_count
    FROM quiz_image WHERE id IN ({{ids}}) ORDER BY id FOR UPDATE
) i ON TRUE
ORDER BY i.id
"""

# Weighted aggregation only: every stored vote on the images about to be decided, with its voter's
# reliability, and the class prior of the latest Dawid-Skene run (NULL before the first). One row
# (NULL, NULL, NULL, NULL, prior) when the images have no votes. The vote table's image index finds
# an image's handful of votes, then the voters' primary keys.
VOTES_WITH_RELIABILITIES = """
SELECT v.image_id, v.corrosion, w.sensitivity, w.specificity, p.class_prior
FROM (SELECT (SELECT class_prior FROM quiz_crowdaggregation ORDER BY id DESC LIMIT 1) AS class_prior) p
LEFT JOIN (quiz_vote v JOIN quiz_voter w ON w.id = v.voter_id) ON v.image_id IN ({ids})
"""

# The round's votes, one row of VOTE_COLUMNS each. ON CONFLICT on the one-vote-per-voter-and-image
# constraint stands in for a check before the insert: a vote the voter had cast already is left out of
# what it returns, and the caller refuses the round.
VOTES_INSERT = """
INSERT INTO quiz_vote (voter_id, image_id, corrosion, expertise, wording, created_at) VALUES {rows}
ON CONFLICT (voter_id, image_id) DO NOTHING
RETURNING id, image_id
"""
VOTE_COLUMNS = ("voter_id", "image_id", "corrosion", "expertise", "wording", "created_at")

# Adds to a day's vote tally. A random one of VoteTally.SHARDS rows per (day, expertise) keeps
# concurrent voters from queueing on one counter row.
TALLY_ADD = """
INSERT INTO quiz_votetally (day, expertise, shard, votes, yes) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (day, expertise, shard) DO UPDATE SET
    votes = quiz_votetally.votes + EXCLUDED.votes,
    yes = quiz_votetally.yes + EXCLUDED.yes
"""

# PostgreSQL: the tally as a data-modifying CTE of the votes' insert, one round trip. Parameters:
# TALLY_ADD's, then VOTES_INSERT's.
TALLY_ADD_AND_VOTES_INSERT_POSTGRESQL = f"WITH tally AS ({TALLY_ADD}){VOTES_INSERT}"

# The counters and labels settled for the locked images, one row of IMAGE_STORED_COLUMNS each, in one
# UPDATE. A statement of its own: with the votes it would pass psycopg's limits for caching a
# statement's parsed form (50 parameters), and parsing it again on every round costs more than the
# round trip.
IMAGES_STORE = """
WITH v (id, votes_yes, votes_no, vote_count,
        crowd_label, crowd_confidence, expert_label, effective_label, label_source, labelled_at)
AS (VALUES {rows})
UPDATE quiz_image SET
    votes_yes = v.votes_yes, votes_no = v.votes_no, vote_count = v.vote_count,
    crowd_label = v.crowd_label, crowd_confidence = v.crowd_confidence, expert_label = v.expert_label,
    effective_label = v.effective_label, label_source = v.label_source, labelled_at = v.labelled_at
FROM v WHERE quiz_image.id = v.id
"""
IMAGE_STORED_COLUMNS = (
    "id",
    "votes_yes",
    "votes_no",
    "vote_count",
    "crowd_label",
    "crowd_confidence",
    "expert_label",
    "effective_label",
    "label_source",
    "labelled_at",
)
# PostgreSQL types a VALUES column from its first row, so that row's parameters are cast to the
# columns' types (an all-NULL column would otherwise be text). SQLite needs no casts.
IMAGES_STORE_FIRST_ROW_POSTGRESQL = """(%s,
    CAST(%s AS integer), CAST(%s AS integer), CAST(%s AS integer),
    CAST(%s AS varchar(16)), CAST(%s AS double precision), CAST(%s AS varchar(16)),
    CAST(%s AS varchar(16)), CAST(%s AS varchar(16)), CAST(%s AS timestamp with time zone))"""


@functools.cache
def voter_count_votes_and_lock_images(*, images: int) -> str:
    return VOTER_COUNT_VOTES_AND_LOCK_IMAGES_POSTGRESQL.format(ids=_placeholders(images))


@functools.cache
def images_lock(*, images: int) -> str:
    return IMAGES_LOCK_SQLITE.format(ids=_placeholders(images))


def votes_with_reliabilities(*, images: int) -> str:
    return VOTES_WITH_RELIABILITIES.format(ids=_placeholders(images))


@functools.cache
def tally_add_and_votes_insert(*, votes: int) -> str:
    return TALLY_ADD_AND_VOTES_INSERT_POSTGRESQL.format(rows=", ".join([_row(len(VOTE_COLUMNS))] * votes))


@functools.cache
def votes_insert(*, votes: int) -> str:
    return VOTES_INSERT.format(rows=", ".join([_row(len(VOTE_COLUMNS))] * votes))


@functools.cache
def images_store(*, vendor: str, images: int) -> str:
    row = _row(len(IMAGE_STORED_COLUMNS))
    first = IMAGES_STORE_FIRST_ROW_POSTGRESQL if vendor == "postgresql" else row
    return IMAGES_STORE.format(rows=", ".join([first] + [row] * (images - 1)))


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _row(width: int) -> str:
    return f"({_placeholders(width)})"


def fetch(sql: str, params: list) -> list[tuple]:
    """Run one statement of the vote path on a prepared_cursor; its rows, if it returns any."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


# Runs of one SQL text on a connection before psycopg prepares it (psycopg's own default is 5).
PREPARE_AFTER = 2


@functools.cache
def _server_binding_cursor():
    from django.db.backends.postgresql.base import ServerBindingCursor  # only where psycopg is installed

    return ServerBindingCursor


@contextmanager
def prepared_cursor():
    """Like `connection.cursor()`, but on PostgreSQL the parameters travel apart from the SQL text.

    Django binds parameters on the client by default (a new SQL text per call, planned afresh every
    time, and each value quoted in Python). The quiz sends the same few statements for every round,
    so with server-side parameters psycopg prepares each one after a few runs on a connection and
    PostgreSQL skips parsing and planning them; the values are also cheaper to send. Only statements
    written for it use this: every placeholder must be a plain value (no parameter in a place where
    PostgreSQL needs to know its type from the text, unless cast). Elsewhere it is the ordinary cursor.
    """
    # The wrapper itself rather than the `connection` proxy: every attribute read through the proxy
    # is a lookup in a context-local, and this runs for every statement of a round.
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    cursor_class = _server_binding_cursor()
    # What connection.cursor() does, with the server-binding cursor class in place of the client one;
    # the wrapper still translates database errors and records queries when they are logged.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    # Django turns psycopg's automatic preparation off for the connection; it concerns only cursors
    # that bind on the server, which are these.
    if connection.connection.prepare_threshold is None:
        connection.connection.prepare_threshold = PREPARE_AFTER
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(cursor_class(connection.connection))
    with cursor:
        yield cursor
