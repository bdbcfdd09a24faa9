"""PostgreSQL as Django ships it, except that a connection vouched for a moment ago skips its health check.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request, so that a
connection broken while it sat idle (a database restart, a proxy's idle timeout) is replaced instead of
failing the request. On the quiz that is one round trip in six. A connection that finished a request
without error less than HEALTH_CHECK_GRACE seconds ago is as trustworthy as one that has just answered
`SELECT 1`: a database that goes away within that moment fails the request either way (the check
cannot see a restart between itself and the next query). Connections idle for longer are checked as
Django checks them, so the restart case the check exists for is still covered.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    vouched_until = float("-inf")
    used_since_last_call = False

    @property
    def health_check_grace(self) -> float:
        return float(self.settings_dict.get("HEALTH_CHECK_GRACE", 0))

    def close_if_health_check_failed(self):
        # Called before every use of the connection (cursor creation): it was used in this request.
        self.used_since_last_call = self.connection is not None
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() < self.vouched_until
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self):
        # Runs at the start and at the end of every request: only the end of one that used the
        # connection without an error vouches for it.
        used_cleanly = self.used_since_last_call and not self.errors_occurred
        self.used_since_last_call = False
        super().close_if_unusable_or_obsolete()
        if used_cleanly and self.connection is not None and self.health_check_grace > 0:
            self.vouched_until = time.monotonic() + self.health_check_grace

    def close(self):
        self.vouched_until = float("-inf")
        super().close()
