"""A cursor for the quiz's hot path whose statements PostgreSQL keeps prepared."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

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
