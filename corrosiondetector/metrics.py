"""Prometheus metrics for the people who run the site.

Request latency by view comes from corrosiondetector/middleware.py (django-prometheus's metrics, fewer of
them per request); the rest is defined here: votes
and uploads recorded, inference latency, Celery task failures and the length of each Celery queue.

Several processes count at once (gunicorn workers, Celery pool children). With
PROMETHEUS_MULTIPROC_DIR set before the first import of prometheus_client, each process writes its
values to files there and a scrape sums them; without it, a scrape sees its own process only.
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import logging
import os
import threading

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # The metrics below open their files there as soon as they exist.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

VOTES_RECORDED = Counter(
    "corrosiondetector_votes_recorded_total",
    "Votes recorded: one per image of an answered quiz round, one per uploader's first correction.",
    ["source"],
)
# Bound once: the quiz path pays for one increment, not a label lookup.
QUIZ_VOTES_RECORDED = VOTES_RECORDED.labels(source="quiz")
CORRECTION_VOTES_RECORDED = VOTES_RECORDED.labels(source="correction")
UPLOADS_CREATED = Counter("corrosiondetector_uploads_created_total", "Photos uploaded and queued for a verdict.")
INFERENCE_SECONDS = Histogram(
    "corrosiondetector_inference_seconds",
    "Time the model takes to classify one uploaded photo (with its heatmap), in the inference worker.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TASK_FAILURES = Counter(
    "corrosiondetector_celery_task_failures_total",
    "Celery tasks that ended in failure (retries excluded), by task name.",
    ["task"],
)


# --- Queue depth, read from the broker at scrape time --------------------------------------------------


class QueueDepthCollector:
    """`corrosiondetector_celery_queue_length{queue}`: messages waiting in each Celery queue (Redis LLEN).

    Read at scrape time, so it is right whichever process answers. A broker that does not answer
    costs the scrape at most the socket timeout and yields `corrosiondetector_celery_broker_up 0`
    instead of an error page: the other metrics are most wanted exactly then.
    """

    SOCKET_TIMEOUT = 0.5

    def __init__(self):
        self._client = None
        self._client_url = None
        self._lock = threading.Lock()

    def collect(self):
        from django.conf import settings

        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return  # no broker (tasks run in-process) or not Redis: there are no lists to measure
        up = GaugeMetricFamily(
            "corrosiondetector_celery_broker_up", "1 when this scrape could read the queue lengths from the broker."
        )
        try:
            lengths = self._lengths(url, settings)
        except Exception as exc:  # whatever redis-py raises, the answer is the same: no lengths this time
            logger.warning("metrics: queue lengths unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily(
            "corrosiondetector_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        for queue, length in lengths.items():
            family.add_metric([queue], length)
        yield family

    def _lengths(self, url: str, settings) -> dict[str, int]:
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        prefix = options.get("global_keyprefix", "")
        steps = options.get("priority_steps", PRIORITY_STEPS)
        queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        # kombu keeps a queue's messages of each priority step in a list of its own.
        keys = {
            queue: [prefix + (f"{queue}{Channel.sep}{step}" if step else queue) for step in steps] for queue in queues
        }
        pipe = self._redis(url).pipeline(transaction=False)
        for queue in queues:
            for key in keys[queue]:
                pipe.llen(key)
        replies = iter(pipe.execute())
        return {queue: sum(next(replies) for _ in keys[queue]) for queue in queues}

    def _redis(self, url: str):
        with self._lock:
            if self._client_url != url:
                import redis

                self._client = redis.Redis.from_url(
                    url, socket_connect_timeout=self.SOCKET_TIMEOUT, socket_timeout=self.SOCKET_TIMEOUT
                )
                self._client_url = url
            return self._client


QUEUE_DEPTH = QueueDepthCollector()


# --- Exposition ----------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class _Scrape:
    """Several collectors answering as one registry (what generate_latest needs: a `collect`)."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def process_metrics():
    """Every process's metrics (from the multiprocess files) or, without that mode, this process's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def site_metrics():
    """What the web service's /metrics shows: every process's metrics and the queue lengths."""
    return _Scrape(process_metrics(), QUEUE_DEPTH)


def multiprocess_dir_clear() -> None:
    """Forget a previous run's values: call once, in the parent, before the processes that write there start.

    The caller's own files stay: it may have opened them already (its metrics exist from import on).
    """
    path = multiprocess_dir()
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    own = f"_{os.getpid()}.db"
    for name in glob.glob(os.path.join(path, "*.db")):
        if not name.endswith(own):
            os.remove(name)


def process_dead(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


# --- Access to /metrics ------------------------------------------------------------------------------------


def bearer_token_valid(authorization: str, expected: str) -> bool:
    """Whether an `Authorization` header carries `Bearer <expected>`, compared in constant time."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes: compare_digest refuses non-ASCII str, and a client controls this header.
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def address_allowed(address: str, networks) -> bool:
    """No networks means no restriction; otherwise the address must lie in one of them."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# --- Celery workers ----------------------------------------------------------------------------------------


def task_failed(sender=None, **kwargs) -> None:
    """celery `task_failure`: sent in the process that saw the failure (a pool child, or the parent
    for a child killed by the hard time limit)."""
    TASK_FAILURES.labels(task=getattr(sender, "name", None) or "unknown").inc()


def worker_metrics_start(sender=None, **kwargs) -> None:
    """celery `worker_init`: serve the worker's metrics on CELERY_METRICS_PORT (0: off).

    Sent once, in the worker's main process, before the pool starts: its children then write
    to the multiprocess files that this server reads.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    port = settings.CELERY_METRICS_PORT
    if not port:
        return
    pool = getattr(sender, "pool_cls", "")
    pool_name = pool if isinstance(pool, str) else f"{pool.__module__}.{pool.__name__}"
    if not multiprocess_dir() and "prefork" in pool_name:
        raise ImproperlyConfigured(
            f"CELERY_METRICS_PORT with the prefork pool needs {MULTIPROC_ENV} (an empty directory for this "
            "worker alone): the tasks run in child processes the metrics server could not see otherwise."
        )
    multiprocess_dir_clear()
    start_http_server(port, addr=settings.CELERY_METRICS_ADDRESS, registry=process_metrics())
    logger.info("metrics: serving worker metrics on %s:%s", settings.CELERY_METRICS_ADDRESS, port)


def worker_child_exited(sender=None, pid=None, **kwargs) -> None:
    """celery `worker_process_shutdown`."""
    process_dead(pid or os.getpid())
