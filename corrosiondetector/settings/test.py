"""Test settings: the base settings with fast, isolated defaults.

DATABASE_URL and CELERY_BROKER_URL still come from the environment so CI runs
the same suite against real PostgreSQL and Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from corrosiondetector.settings.base import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test client and live server speak plain http; the redirect itself is tested in a subprocess.
SECURE_SSL_REDIRECT = False
# Nothing is collected into STATIC_ROOT for tests: look files up per request instead of warning at start-up.
WHITENOISE_AUTOREFRESH = True
# Unit tests run tasks in-process; integration tests start a real worker against the real broker.
CELERY_TASK_ALWAYS_EAGER = True
# Rate limits are exercised by their own tests, which switch them on explicitly.
QUIZ_RATE_PER_VOTER = 0
QUIZ_RATE_PER_IP = 0
QUIZ_GOLD_RATE = 0.0
QUIZ_SHARPEN_RATE = 0.0
# A strip cached by one test would show in the next; its caching has a test of its own.
COMMUNITY_CACHE_SECONDS = 0
