"""The rate limits' counters in a real Redis: one round trip per request, expiring with their window."""

import uuid

import pytest
from django.core.cache import caches

from quiz import throttles
from quiz.throttles import rate_limits_hit

pytestmark = pytest.mark.integration


def test_it_keeps_its_counters_in_redis(redis_url, settings, fake_clock):
    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20  # all three requests in one window
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    bucket = f"test:{uuid.uuid4().hex}"
    assert rate_limits_hit((bucket, 2)) is None
    assert rate_limits_hit((bucket, 2)) is None
    assert rate_limits_hit((bucket, 2)) == throttles.WINDOW_SECONDS - 20
    cache = caches["default"]
    assert "RedisCache" in type(cache).__name__
    raw = cache._cache.get_client(write=False)
    assert any(bucket in key.decode() for key in raw.keys(f"*{bucket}*"))


def test_it_counts_every_bucket_in_redis_and_expires_the_counters(redis_url, settings, fake_clock):
    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    first, second = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    assert rate_limits_hit((first, 5), (second, 1)) is None
    assert rate_limits_hit((first, 5), (second, 1)) == throttles.WINDOW_SECONDS - 20  # the second is over its limit
    raw = caches["default"]._cache.get_client(write=False)
    for bucket, count in ((first, b"2"), (second, b"2")):
        (key,) = raw.keys(f"*{bucket}*")
        assert raw.get(key) == count
        assert 0 < raw.ttl(key) <= 65
