# syntax=docker/dockerfile:1
# One Dockerfile, four images (docker-compose.yml picks them by target):
#   inference — the `inference` queue's worker: requirements-inference.txt only, no torch
#   video     — the `video` queue's worker: requirements-video.txt (inference plus PyAV), no torch
#   web       — gunicorn + collected static files (also migrate and beat): the inference
#               requirements plus gunicorn, imagehash (uploads' perceptual hashes) and PyAV, still no torch
#   full      — the `training` worker: requirements.txt (torch; CUDA when the host lends a GPU)
# Dependencies are installed before the code is copied, so a code change rebuilds only the last layers.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=corrosiondetector.settings.base \
    MEDIA_ROOT=/app/media \
    STATIC_ROOT=/app/staticfiles
# libgomp: OpenMP runtime that onnxruntime's wheel links against.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /app/media \
    && chown app:app /app/media
WORKDIR /app

# --- inference: torch-free ------------------------------------------------------------------------
FROM base AS inference-deps
COPY requirements-serving.txt requirements-inference.txt ./
RUN pip install -r requirements-inference.txt

FROM inference-deps AS inference
COPY . .
USER app
CMD ["celery", "-A", "corrosiondetector", "worker", "-Q", "inference", "--concurrency", "2", "--loglevel", "INFO"]

# --- video: the `video` queue's worker: the inference requirements plus PyAV, no torch --------------
FROM inference-deps AS video
COPY requirements-video.txt ./
RUN pip install -r requirements-video.txt
COPY . .
USER app
CMD ["celery", "-A", "corrosiondetector", "worker", "-Q", "video", "--concurrency", "1", "--loglevel", "INFO"]

# --- messages: the translations compiled (gettext's msgfmt), so no image carries gettext ------------
FROM base AS messages
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
COPY locale/ locale/
RUN for po in locale/*/LC_MESSAGES/django.po; do msgfmt --check -o "${po%.po}.mo" "$po"; done

# --- web: the inference requirements plus gunicorn and imagehash (pinned in requirements.txt) ------
FROM inference-deps AS web
COPY requirements.txt ./
RUN pip install "$(grep -E '^gunicorn==' requirements.txt)" $(grep -E '^(imagehash|scipy|PyWavelets)==' requirements.txt)
# PyAV: uploaded videos are probed (in a child process) before they are accepted.
COPY requirements-video.txt ./
RUN pip install "$(grep -E '^av==' requirements-video.txt)"
COPY . .
# The pages in every shipped language (locale/*.po, compiled in the messages stage).
COPY --from=messages /app/locale/ locale/
# collectstatic needs settings, not a database or the real secret. Owned by app: compose's `migrate`
# collects into the `static` volume (seeded from this directory) again at each start, for the proxy.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && chown -R app:app /app/staticfiles
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "corrosiondetector.health", "http://127.0.0.1:8000/healthz"]
CMD ["gunicorn", "-c", "corrosiondetector/gunicorn.conf.py"]

# --- full: training (torch) ---------------------------------------------------------------------
FROM inference-deps AS full-deps
COPY requirements.txt ./
RUN pip install -r requirements.txt

FROM full-deps AS full
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0
USER app
CMD ["celery", "-A", "corrosiondetector", "worker", "-Q", "training,default", "--concurrency", "1", "--loglevel", "INFO"]
