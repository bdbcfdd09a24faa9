"""Settings for every environment, read from typed environment variables.

Defaults give a working single-machine site (SQLite, tasks run in-process);
setting DATABASE_URL / CELERY_BROKER_URL switches to PostgreSQL / Redis.
A malformed value raises at start-up instead of silently using a default.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from corrosiondetector.env import (
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_celery_beat",
    "quiz",
    "uploads",
    "modelzoo",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "quiz.middleware.VoterCookieMiddleware",
]

ROOT_URLCONF = "corrosiondetector.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "corrosiondetector.wsgi.application"

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite is the zero-setup default: wait for the writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

LOGIN_URL = "admin:login"

# --- Cache (rate limits) -------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CACHE_URL = env_str("CACHE_URL", CELERY_BROKER_URL if (CELERY_BROKER_URL or "").startswith("redis") else None)
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cd"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------------------
# Without a broker, tasks run in-process so `make run` needs no other server.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
# Only tasks that opt in (the health-check ping) store results; state lives in our own tables.
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CACHE_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90, minimum=1)
CELERY_TRAINING_SOFT_TIME_LIMIT = env_int("CELERY_TRAINING_SOFT_TIME_LIMIT", 3 * 3600, minimum=1)
CELERY_TRAINING_TIME_LIMIT = env_int("CELERY_TRAINING_TIME_LIMIT", 3 * 3600 + 300, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("inference"), Queue("training"))
CELERY_TASK_ROUTES = {
    "modelzoo.tasks.retrain_if_enough_labels": {"queue": "default"},
    "uploads.tasks.requeue_stuck_uploads": {"queue": "default"},
    "uploads.tasks.*": {"queue": "inference"},
    "modelzoo.tasks.*": {"queue": "training"},
}
# With acks_late, a message taken by a worker that dies is handed out again only after this
# many seconds; it must exceed the longest task (training) or that task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=1),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST framework --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Basic first, so an API client without valid credentials is told 401 (and how to authenticate).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# --- Quiz ----------------------------------------------------------------------------------------------
QUIZ_MIN_VOTES = env_int("QUIZ_MIN_VOTES", 5, minimum=1)
QUIZ_ROUND_SIZE = env_int("QUIZ_ROUND_SIZE", 4, minimum=1, maximum=20)
QUIZ_QUESTION = env_str("QUIZ_QUESTION", "Please select the images in which you see any signs of corrosion.")
QUIZ_ROUND_MAX_AGE = env_int("QUIZ_ROUND_MAX_AGE", 6 * 3600, minimum=10)
# Share of rounds that carry one expert-labelled validation image as a gold question.
QUIZ_GOLD_RATE = env_float("QUIZ_GOLD_RATE", 0.1, minimum=0.0, maximum=1.0)
# Share of rounds that carry one already-labelled image, so agreement estimates keep sharpening.
QUIZ_SHARPEN_RATE = env_float("QUIZ_SHARPEN_RATE", 0.1, minimum=0.0, maximum=1.0)
# Requests per minute; 0 switches a limit off.
QUIZ_RATE_PER_VOTER = env_int("QUIZ_RATE_PER_VOTER", 60, minimum=0)
QUIZ_RATE_PER_IP = env_int("QUIZ_RATE_PER_IP", 600, minimum=0)
VOTER_COOKIE_NAME = "cd_voter"
VOTER_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600

# --- Model zoo -------------------------------------------------------------------------------------
# A new version replaces the active one only if its validation accuracy is at least the active
# one's minus this tolerance.
MODEL_PROMOTION_TOLERANCE = env_float("MODEL_PROMOTION_TOLERANCE", 0.0, minimum=0.0, maximum=1.0)
RETRAIN_MIN_NEW_LABELS = env_int("RETRAIN_MIN_NEW_LABELS", 50, minimum=1)
RETRAIN_CHECK_MINUTES = env_int("RETRAIN_CHECK_MINUTES", 10, minimum=1)
TRAINING_DEVICE = env_choice("TRAINING_DEVICE", "auto", ("auto", "cpu", "cuda"))
# Overrides of the training configuration's defaults, e.g. '{"epochs": 20, "width": 24}'.
TRAINING_CONFIG = env_json_object("TRAINING_CONFIG", {})
# A running training run that has not reported progress for this long is taken for dead.
TRAINING_STALE_MINUTES = env_int("TRAINING_STALE_MINUTES", 60, minimum=1)

# --- Uploads ----------------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Uploads are re-encoded no larger than this (longest side, pixels): enough to judge, cheap to serve.
UPLOAD_MAX_SIDE = env_int("UPLOAD_MAX_SIDE", 1600, minimum=64)
UPLOAD_RATE_PER_VOTER = env_int("UPLOAD_RATE_PER_VOTER", 20, minimum=0)
UPLOAD_RATE_PER_IP = env_int("UPLOAD_RATE_PER_IP", 120, minimum=0)
UPLOAD_MAX_RETRIES = env_int("UPLOAD_MAX_RETRIES", 3, minimum=0)
# An upload still queued or running after this many seconds is handed to the inference queue
# again (its message may have died with a worker or a broker restart).
UPLOAD_REQUEUE_AFTER = env_int("UPLOAD_REQUEUE_AFTER", 60, minimum=1)
# Fault-injection only: makes each inference take this long, so tests can kill a worker mid-task.
INFERENCE_DELAY_SECONDS = env_float("INFERENCE_DELAY_SECONDS", 0.0, minimum=0.0, maximum=600.0)
# Requests over this size never reach a view (Django reads no more of them).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1

SEED_IMAGES_DIR = env_str("SEED_IMAGES_DIR")
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)

# --- Security --------------------------------------------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
