"""Settings for every environment, read from typed environment variables.

Defaults give a working single-machine site (SQLite, tasks run in-process);
setting DATABASE_URL / CELERY_BROKER_URL switches to PostgreSQL / Redis.
A malformed value raises at start-up instead of silently using a default.
"""

from __future__ import annotations

import os
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
    env_media_storages,
    env_networks,
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
    # API tokens for scripts (`manage.py api_token`, or the admin's Tokens).
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "quiz",
    "uploads",
    "videos",
    "modelzoo",
    "dashboard",
    # After quiz: its admin adds the export action to quiz's image admin.
    "datasets",
    # Only for its management command (simulate_crowd); nothing in the product imports it.
    "simulation",
]

MIDDLEWARE = [
    # Latency and answers by view for /metrics (django-prometheus's names; corrosiondetector/middleware.py).
    "corrosiondetector.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from gunicorn (no separate web server needed for them).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented order): picks each request's language
    # from the language switcher's cookie, else the browser's Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
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
    # On: a persistent connection is checked (SELECT 1) at its first use in each request, so a
    # PostgreSQL restart costs no failed request; off saves that round trip where restarts are rare.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", True)
    # ... except for a connection that served a request cleanly this long ago (corrosiondetector/database).
    DATABASES["default"]["HEALTH_CHECK_GRACE"] = env_float("DB_CONN_HEALTH_CHECK_GRACE", 1.0, minimum=0)
    DATABASES["default"]["ENGINE"] = "corrosiondetector.database"
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

# The pages volunteers and uploaders see are translated (locale/<language>/LC_MESSAGES/django.po,
# docs/translations.md); staff pages (admin, dashboard) stay in English.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# MEDIA_STORAGE=local (MEDIA_ROOT) or s3 (S3_BUCKET, S3_ENDPOINT_URL, ...: corrosiondetector/env.py). "default"
# holds public media (photos, thumbnails, heatmaps: plain URLs); "private" holds files only some users may
# see (model files), handed out by corrosiondetector.media.private_file_response.
STORAGES = {
    **env_media_storages(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Local storage behind a proxy: private files are sent by the proxy from this internal location
# (X-Accel-Redirect; e.g. "/_protected/", mapped to MEDIA_ROOT); unset, Django streams them itself.
MEDIA_ACCEL_REDIRECT_PREFIX = env_str("MEDIA_ACCEL_REDIRECT_PREFIX")
if MEDIA_ACCEL_REDIRECT_PREFIX is not None and not (
    MEDIA_ACCEL_REDIRECT_PREFIX.startswith("/") and MEDIA_ACCEL_REDIRECT_PREFIX.endswith("/")
):
    raise ImproperlyConfigured(
        f"MEDIA_ACCEL_REDIRECT_PREFIX={MEDIA_ACCEL_REDIRECT_PREFIX!r} must look like /_protected/"
    )

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
            # Rate limits fail open when Redis is unreachable; these bound how long a request waits to find out.
            "OPTIONS": {
                "socket_connect_timeout": env_float("CACHE_SOCKET_TIMEOUT", 0.5, minimum=0.01),
                "socket_timeout": env_float("CACHE_SOCKET_TIMEOUT", 0.5, minimum=0.01),
            },
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
CELERY_TASK_QUEUES = (Queue("default"), Queue("inference"), Queue("training"), Queue("video"))
CELERY_TASK_ROUTES = {
    "modelzoo.tasks.retrain_if_enough_labels": {"queue": "default"},
    "uploads.tasks.requeue_stuck_uploads": {"queue": "default"},
    "quiz.tasks.images_score_unlabelled": {"queue": "inference"},
    "uploads.tasks.*": {"queue": "inference"},
    "modelzoo.tasks.*": {"queue": "training"},
    "videos.tasks.delete_expired_videos": {"queue": "default"},
    "videos.tasks.requeue_stuck_videos": {"queue": "default"},
    "videos.tasks.*": {"queue": "video"},
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
    # Token: `Authorization: Token <key>` for scripts.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "corrosiondetector.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every API error, the domain's and DRF's own, as {"detail", "code"}.
    "EXCEPTION_HANDLER": "corrosiondetector.errors.api_exception_handler",
}
# OpenAPI 3 at /api/schema/; `manage.py spectacular --validate --fail-on-warn` is run by the tests.
SPECTACULAR_SETTINGS = {
    "TITLE": "Corrosion Detector API",
    "DESCRIPTION": "Crowd quiz, photo uploads with model verdicts, model zoo and dataset export.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Tags come from the path after /api/ (quiz, uploads, models, dataset).
    "SCHEMA_PATH_PREFIX": r"/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Uploads carry the same label choices twice (verdict and correction): one enum, one name.
    # Uploads and videos share one set of job states: one enum for both.
    "ENUM_NAME_OVERRIDES": {"LabelEnum": "quiz.models.Label", "StatusEnum": "uploads.models.Upload.Status"},
}

# --- Quiz ----------------------------------------------------------------------------------------------
QUIZ_MIN_VOTES = env_int("QUIZ_MIN_VOTES", 5, minimum=1)
QUIZ_ROUND_SIZE = env_int("QUIZ_ROUND_SIZE", 4, minimum=1, maximum=20)
# Which question the quiz asks (quiz.models.QUESTIONS): "any" (the paper's: any signs of corrosion) or
# "repair" (the paper's recommended rephrasing: corrosion you would recommend be repaired). Every vote
# records the wording it answered. The texts live in code, where they are translated.
QUIZ_WORDING = env_choice("QUIZ_WORDING", "any", ("any", "repair"))
if os.environ.get("QUIZ_QUESTION"):
    # Not a setting any more: a free-text question could be neither translated nor told apart in the votes,
    # so a deployment that still sets it is refused loudly rather than silently asking something else.
    raise ImproperlyConfigured("QUIZ_QUESTION is replaced by QUIZ_WORDING=any|repair (docs/configuration.md).")
QUIZ_ROUND_MAX_AGE = env_int("QUIZ_ROUND_MAX_AGE", 6 * 3600, minimum=10)
# Share of rounds that carry one expert-labelled validation image as a gold question.
QUIZ_GOLD_RATE = env_float("QUIZ_GOLD_RATE", 0.1, minimum=0.0, maximum=1.0)
# Share of rounds that carry one already-labelled image, so agreement estimates keep sharpening.
QUIZ_SHARPEN_RATE = env_float("QUIZ_SHARPEN_RATE", 0.1, minimum=0.0, maximum=1.0)
# Requests per minute; 0 switches a limit off.
QUIZ_RATE_PER_VOTER = env_int("QUIZ_RATE_PER_VOTER", 60, minimum=0)
QUIZ_RATE_PER_IP = env_int("QUIZ_RATE_PER_IP", 600, minimum=0)
# How votes become crowd labels: "majority" (the paper: majority once QUIZ_MIN_VOTES are in, a tie
# undecided) or "weighted" (each vote weighed by its voter's reliability, estimated by Dawid–Skene
# with gold questions; labelled early when confident, see the two settings after it).
QUIZ_AGGREGATION = env_choice("QUIZ_AGGREGATION", "majority", ("majority", "weighted"))
# Weighted only: an image is labelled once it has QUIZ_MIN_VOTES_CONFIDENT votes and its label's
# posterior reaches QUIZ_LABEL_CONFIDENCE, or in any case at QUIZ_MIN_VOTES (the likelier side).
QUIZ_LABEL_CONFIDENCE = env_float("QUIZ_LABEL_CONFIDENCE", 0.95, minimum=0.5, maximum=1.0)
QUIZ_MIN_VOTES_CONFIDENT = env_int("QUIZ_MIN_VOTES_CONFIDENT", 3, minimum=1)
# Weighted only: minutes between full re-aggregations (voter reliabilities and labels from all votes).
QUIZ_REAGGREGATE_MINUTES = env_int("QUIZ_REAGGREGATE_MINUTES", 30, minimum=1)
# Which images a round asks about: "random" (fewest votes first, random within) or "uncertain" (the
# active model's least certain unlabelled images first, QUIZ_EXPLORE_RATE of the slots still random).
QUIZ_SELECTION = env_choice("QUIZ_SELECTION", "random", ("random", "uncertain"))
QUIZ_EXPLORE_RATE = env_float("QUIZ_EXPLORE_RATE", 0.25, minimum=0.0, maximum=1.0)
# Share of each round's slots that go to suspect labels (training images confident learning thinks are
# mislabelled, modelzoo.services.suspect_labels_find), so the crowd looks again; a suspect is served
# until it has QUIZ_SUSPECT_MAX_VOTES votes. 0 switches the preference off.
QUIZ_SUSPECT_SHARE = env_float("QUIZ_SUSPECT_SHARE", 0.25, minimum=0.0, maximum=1.0)
QUIZ_SUSPECT_MAX_VOTES = env_int("QUIZ_SUSPECT_MAX_VOTES", 3 * QUIZ_MIN_VOTES, minimum=1)
# Reports from distinct voters that take a photo out of the quiz until staff decide.
QUIZ_REPORTS_TO_HIDE = env_int("QUIZ_REPORTS_TO_HIDE", 2, minimum=1)
# Reports per minute and voter (and per address, ten times as many); 0 switches a limit off.
QUIZ_REPORT_RATE_PER_VOTER = env_int("QUIZ_REPORT_RATE_PER_VOTER", 10, minimum=0)
VOTER_COOKIE_NAME = "cd_voter"
VOTER_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600

# --- Model zoo -------------------------------------------------------------------------------------
# A new version replaces the active one only if its validation accuracy is at least the active
# one's minus this tolerance.
MODEL_PROMOTION_TOLERANCE = env_float("MODEL_PROMOTION_TOLERANCE", 0.0, minimum=0.0, maximum=1.0)
RETRAIN_MIN_NEW_LABELS = env_int("RETRAIN_MIN_NEW_LABELS", 50, minimum=1)
RETRAIN_CHECK_MINUTES = env_int("RETRAIN_CHECK_MINUTES", 10, minimum=1)
# Seconds the quiz's community strip (votes this week, labels until the next retrain, next milestone)
# is cached: the quiz page must stay fast, and these figures move slowly.
COMMUNITY_CACHE_SECONDS = env_int("COMMUNITY_CACHE_SECONDS", 60, minimum=0)
TRAINING_DEVICE = env_choice("TRAINING_DEVICE", "auto", ("auto", "cpu", "cuda"))
# Overrides of the training configuration's defaults, e.g. '{"epochs": 20, "width": 24}'.
TRAINING_CONFIG = env_json_object("TRAINING_CONFIG", {})
# Self-training (off at 0): each training run first trains a teacher on people's labels, which labels
# the unlabelled training images it is at least this sure of (class-balanced); the model is trained on
# both. With QUIZ_SELECTION="uncertain" the crowd's votes go to the images the model cannot settle (Wang
# et al.'s cost-effective active learning). It must be over 0.5: a less sure prediction is a coin toss.
TRAIN_PSEUDO_LABEL_CONFIDENCE = env_float("TRAIN_PSEUDO_LABEL_CONFIDENCE", 0.0, minimum=0.0, maximum=1.0)
if 0 < TRAIN_PSEUDO_LABEL_CONFIDENCE <= 0.5:
    raise ImproperlyConfigured("TRAIN_PSEUDO_LABEL_CONFIDENCE must be 0 (off) or over 0.5")
# Suspect labels (confident learning over out-of-fold predictions, docs/how-it-works.md): the loss weight
# of a suspect training image (1 = no different from the others, 0 = left out; bench/README.md "Noisy
# labels" measured the choice), the folds, the fold models' overrides of TRAINING_CONFIG (cheaper than a
# full run), and whether each successful training run queues a search (else on demand:
# `manage.py find_suspect_labels`).
TRAIN_SUSPECT_WEIGHT = env_float("TRAIN_SUSPECT_WEIGHT", 1.0, minimum=0.0, maximum=1.0)
SUSPECT_LABELS_FOLDS = env_int("SUSPECT_LABELS_FOLDS", 3, minimum=2, maximum=10)
SUSPECT_LABELS_CONFIG = env_json_object("SUSPECT_LABELS_CONFIG", {"epochs": 4})
SUSPECT_LABELS_AFTER_TRAINING = env_bool("SUSPECT_LABELS_AFTER_TRAINING", False)
# A training process records a heartbeat this often (seconds); a running run whose heartbeat is older
# than the timeout is taken for dead (its worker was killed) and marked failed, so training can be
# triggered again.
TRAINING_HEARTBEAT_SECONDS = env_float("TRAINING_HEARTBEAT_SECONDS", 15.0, minimum=0.1)
TRAINING_HEARTBEAT_TIMEOUT = env_float("TRAINING_HEARTBEAT_TIMEOUT", 120.0, minimum=0.5)
if TRAINING_HEARTBEAT_TIMEOUT <= TRAINING_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("TRAINING_HEARTBEAT_TIMEOUT must be longer than TRAINING_HEARTBEAT_SECONDS")

# --- Uploads ----------------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Uploads are re-encoded no larger than this (longest side, pixels): enough to judge, cheap to serve.
UPLOAD_MAX_SIDE = env_int("UPLOAD_MAX_SIDE", 1600, minimum=64)
UPLOAD_RATE_PER_VOTER = env_int("UPLOAD_RATE_PER_VOTER", 20, minimum=0)
UPLOAD_RATE_PER_IP = env_int("UPLOAD_RATE_PER_IP", 120, minimum=0)
UPLOAD_MAX_RETRIES = env_int("UPLOAD_MAX_RETRIES", 3, minimum=0)
# When a shared upload reaches the quiz: "pre" (after staff approve it), "post" (at once; reports can
# pull it) or "off" (at once, no queue).
UPLOAD_MODERATION = env_choice("UPLOAD_MODERATION", "pre", ("pre", "post", "off"))
# Unshared uploads (seen by their uploader only) are deleted this many days after upload.
UPLOAD_RETENTION_DAYS = env_int("UPLOAD_RETENTION_DAYS", 30, minimum=1)
# Uploads per minute and API token (scripts); 0 switches the limit off.
UPLOAD_RATE_PER_TOKEN = env_int("UPLOAD_RATE_PER_TOKEN", 60, minimum=0)
# An upload still queued or running after this many seconds is handed to the inference queue
# again (its message may have died with a worker or a broker restart).
UPLOAD_REQUEUE_AFTER = env_int("UPLOAD_REQUEUE_AFTER", 60, minimum=1)
# Fault-injection only: makes each inference take this long, so tests can kill a worker mid-task.
INFERENCE_DELAY_SECONDS = env_float("INFERENCE_DELAY_SECONDS", 0.0, minimum=0.0, maximum=600.0)
# Requests over this size never reach a view (Django reads no more of them).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1

# --- Videos (drone footage) -------------------------------------------------------------------------
VIDEO_MAX_BYTES = env_int("VIDEO_MAX_BYTES", 500 * 1024 * 1024, minimum=1024)
VIDEO_MAX_SECONDS = env_int("VIDEO_MAX_SECONDS", 1200, minimum=1)
# Pixels of one frame (width x height) as the header says: a larger picture is refused before decoding.
VIDEO_MAX_FRAME_PIXELS = env_int("VIDEO_MAX_FRAME_PIXELS", 3840 * 2160, minimum=1)
# Frames sampled (regular samples plus scene changes) per video: more fails the video.
VIDEO_MAX_FRAMES = env_int("VIDEO_MAX_FRAMES", 3000, minimum=1)
VIDEO_EVERY_SECONDS = env_float("VIDEO_EVERY_SECONDS", 1.0, minimum=0.04, maximum=3600.0)
# The decoder runs in a child process killed after this many seconds, with this much address space.
VIDEO_DECODE_TIMEOUT = env_int("VIDEO_DECODE_TIMEOUT", 900, minimum=1)
VIDEO_DECODE_MEMORY_MB = env_int("VIDEO_DECODE_MEMORY_MB", 2048, minimum=256)
# Frames at or above this P(corrosion) form segments; gaps up to VIDEO_SEGMENT_GAP seconds are bridged.
VIDEO_SEGMENT_THRESHOLD = env_float("VIDEO_SEGMENT_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
VIDEO_SEGMENT_GAP = env_float("VIDEO_SEGMENT_GAP", 1.0, minimum=0.0)
# A worker stamps the video it analyses every VIDEO_HEARTBEAT_SECONDS; a video whose stamp is older than
# VIDEO_STALE_AFTER lost its worker and is requeued (every minute), failing after VIDEO_MAX_ATTEMPTS tries.
VIDEO_HEARTBEAT_SECONDS = env_float("VIDEO_HEARTBEAT_SECONDS", 10.0, minimum=0.05)
VIDEO_STALE_AFTER = env_float("VIDEO_STALE_AFTER", 120.0, minimum=0.5)
if VIDEO_STALE_AFTER <= VIDEO_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("VIDEO_STALE_AFTER must be longer than VIDEO_HEARTBEAT_SECONDS")
VIDEO_MAX_ATTEMPTS = env_int("VIDEO_MAX_ATTEMPTS", 3, minimum=1)

SEED_IMAGES_DIR = env_str("SEED_IMAGES_DIR")
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)

# --- Metrics (Prometheus) ----------------------------------------------------------------------------
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers 404 to everyone.
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN is not None and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters (or unset: no /metrics)")
# Optional: also only from these networks (CIDRs), matched against the connection's own address.
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS")
# Celery workers serve their own metrics on this port (0: off), e.g. 9808; with the prefork pool
# PROMETHEUS_MULTIPROC_DIR must name an empty directory of that worker's own.
CELERY_METRICS_PORT = env_int("CELERY_METRICS_PORT", 0, minimum=0, maximum=65535)
CELERY_METRICS_ADDRESS = env_str("CELERY_METRICS_ADDRESS", "127.0.0.1")

# --- Security --------------------------------------------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# The language switcher's choice (django.views.i18n.set_language); no script reads it.
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# A site that marks its cookies Secure is meant to be reached over https only; a plain-http setup
# (a local benchmark with SECURE_COOKIES=0) keeps working without a redirect to nowhere.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
# Container healthchecks and Prometheus probe over plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy Django only sees http; trusting the proxy's header (e.g.
# "X-Forwarded-Proto:https") stops the https redirect from looping. Only set it if the proxy
# always overwrites that header, or a client could claim https itself.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    _header, _, _value = _proxy_ssl_header.partition(":")
    if not _header.strip() or not _value.strip():
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={_proxy_ssl_header!r} must look like 'X-Forwarded-Proto:https'"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.strip().upper().replace("-", "_"), _value.strip())
# The client's address (rate limits, the address hash) behind reverse proxies. With N trusted proxies in
# front of gunicorn (1 for the compose stack's proxy), the client is the N-th address from the right of
# X-Forwarded-For, which each proxy appends to: addresses further left were written by the client itself
# and are never used. 0 (the default) uses the connection's address; anything else would let a client
# choose its own rate-limit bucket.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Optional: X-Forwarded-For is believed only from peers in these networks (CIDRs, e.g. the proxy's
# Docker network), so a client reaching gunicorn directly cannot pick its address.
TRUSTED_PROXY_NETWORKS = env_networks("TRUSTED_PROXY_NETWORKS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS item {_origin!r} must start with https:// (or http://)")

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
