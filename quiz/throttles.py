"""Fixed-window rate limits kept in the cache (Redis when configured).

`cache.incr` is atomic in Redis, so concurrent requests cannot slip past the
limit the way a read-modify-write history list (DRF's default throttle) can.

When the cache is unreachable (Redis restarting) the limits fail open: refusing
every vote because the abuse counter is down would turn a broker blip into an
outage, and a few minutes without rate limits is the lesser harm.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from quiz.identity import ip_hash, voter_key

try:
    from redis import RedisError
except ImportError:  # no Redis client installed: the cache is local memory, which does not fail this way
    RedisError = OSError

WINDOW_SECONDS = 60

logger = logging.getLogger(__name__)


def rate_limits_hit(*checks: tuple[str, int]) -> int | None:
    """Count a request in each (bucket, limit); seconds to wait if any is over its limit, else None."""
    checks = tuple((bucket, limit) for bucket, limit in checks if limit > 0)
    if not checks:
        return None
    window = int(time.time() // WINDOW_SECONDS)
    keys = [f"rl:{bucket}:{window}" for bucket, _ in checks]
    try:
        backend = caches["default"]
        counts = _count_redis(backend, keys) if isinstance(backend, RedisCache) else [_count_other(k) for k in keys]
    except (RedisError, OSError) as error:
        logger.warning("rate limit %s not checked, cache unavailable: %s: %s", keys, type(error).__name__, error)
        return None
    if any(count > limit for count, (_, limit) in zip(counts, checks, strict=True)):
        return WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
    return None


# INCR, and EXPIRE when the key has no expiry yet, for every key: one command, however many buckets.
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    counts[i] = redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return counts
"""


def _count_redis(backend: RedisCache, keys: list[str]) -> list[int]:
    """INCR and first-time EXPIRE of every key in one round trip (the cache API would take two per key).

    A server-side script rather than a pipeline: one command to pack and one reply to parse instead of
    two per key, which is most of the Python cost of a check. redis-py runs it by its hash and loads
    it again when Redis has forgotten it (after a restart). The counters stay ordinary cache entries
    (same key prefix, integers stored as such).
    """
    full_keys = [backend.make_and_validate_key(key) for key in keys]
    # Django builds a new redis.Redis per call (~1 ms of Python: its response-callback table); one per
    # backend instance (Django keeps one per thread) is enough, the connection pool is shared anyway.
    script = getattr(backend, "_rate_limit_script", None)
    if script is None:
        script = backend._rate_limit_script = backend._cache.get_client(write=True).register_script(_COUNT_SCRIPT)
    return [int(count) for count in script(keys=full_keys, args=[WINDOW_SECONDS + 5])]


def _count_other(key: str) -> int:
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        return 1


def quiz_wait(request) -> int | None:
    """Count a quiz request against its (hashed) address and voter key; seconds to wait when over a limit.

    The page and the API share the buckets: a client without cookies gets a new voter key each time, so
    only the address limit holds it back, whichever way it asks.
    """
    return rate_limits_hit(
        (f"ip:{ip_hash(request)}", settings.QUIZ_RATE_PER_IP),
        (f"voter:{voter_key(request).hex}", settings.QUIZ_RATE_PER_VOTER),
    )


def report_wait(request) -> int | None:
    """Count a report against the voter key, and ten times as many against the (hashed) address.

    Buckets of their own: reporting must not eat into the quiz's limits, nor the quiz into these.
    """
    per_voter = settings.QUIZ_REPORT_RATE_PER_VOTER
    return rate_limits_hit(
        (f"report-ip:{ip_hash(request)}", per_voter * 10),
        (f"report-voter:{voter_key(request).hex}", per_voter),
    )


class QuizThrottle(BaseThrottle):
    """Per voter key and per (hashed) address."""

    waiting = staticmethod(quiz_wait)

    def allow_request(self, request, view) -> bool:
        self._wait = self.waiting(request)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class ReportThrottle(QuizThrottle):
    waiting = staticmethod(report_wait)
