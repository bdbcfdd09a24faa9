"""Fixed-window rate limits kept in the cache (Redis when configured).

`cache.incr` is atomic in Redis, so concurrent requests cannot slip past the
limit the way a read-modify-write history list (DRF's default throttle) can.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from quiz.identity import ip_hash, voter_key

WINDOW_SECONDS = 60


def rate_limit_hit(bucket: str, limit: int) -> int | None:
    """Count a request; return seconds to wait when over `limit` per window, else None."""
    if limit <= 0:
        return None
    window = int(time.time() // WINDOW_SECONDS)
    key = f"rl:{bucket}:{window}"
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
    if count > limit:
        return WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
    return None


class QuizThrottle(BaseThrottle):
    """Per voter key and per (hashed) address."""

    def allow_request(self, request, view) -> bool:
        self._wait = rate_limit_hit(f"ip:{ip_hash(request)}", settings.QUIZ_RATE_PER_IP) or rate_limit_hit(
            f"voter:{voter_key(request).hex}", settings.QUIZ_RATE_PER_VOTER
        )
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
