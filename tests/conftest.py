from __future__ import annotations

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient


def services_required() -> bool:
    """In CI a missing service must fail the run rather than skip tests silently."""
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        unavailable("needs PostgreSQL (set DATABASE_URL=postgres://...)")
    return connection


@pytest.fixture
def redis_url():
    import redis

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        unavailable("needs Redis (set CELERY_BROKER_URL=redis://...)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.fixture
def api_client():
    return APIClient()
