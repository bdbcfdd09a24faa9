"""gunicorn settings for the web service: `gunicorn -c corrosiondetector/gunicorn.conf.py corrosiondetector.wsgi`.

Threads, because requests mostly wait on PostgreSQL, Redis and storage; and a long timeout,
because the staff dataset export (`/api/dataset/export/`) streams a zip of every labelled photo
in one response.
"""

import os
import sys

# gunicorn reads this file before it puts the working directory on sys.path.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from corrosiondetector.env import env_float, env_int, env_str  # noqa: E402

wsgi_app = "corrosiondetector.wsgi"
bind = env_str("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = env_int("WEB_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8), minimum=1)
threads = env_int("WEB_THREADS", 4, minimum=1)
# With gthread a busy request does not stop the worker's heartbeat, so this kills only a worker
# that is stuck as a whole; it still has to outlast the slowest streamed export.
timeout = env_int("WEB_TIMEOUT", 900, minimum=30)
graceful_timeout = env_int("WEB_GRACEFUL_TIMEOUT", 30, minimum=1)
keepalive = 5
# A thread whose PostgreSQL or Redis reply has arrived waits for the GIL until the running thread's
# switch interval is over: 5 ms by default, longer than a whole quiz request takes. Shorter, replies
# are taken up at once (bench/README.md, "Concurrent voters": +25 % votes/s with 2 x 4 threads).
switch_interval = env_float("WEB_SWITCH_INTERVAL", 0.0005, minimum=0.0001)


def post_worker_init(worker):
    sys.setswitchinterval(switch_interval)


# Metrics: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its values there and /metrics sums
# them (corrosiondetector/metrics.py); a new master starts from zero.
def on_starting(server):
    from corrosiondetector.metrics import multiprocess_dir_clear

    multiprocess_dir_clear()


def child_exit(server, worker):
    from corrosiondetector.metrics import process_dead

    process_dead(worker.pid)


# Recycle workers now and then so a slow leak cannot grow without bound; not too often, since each
# restart costs a second of CPU and drops the worker's kept-alive connections.
max_requests = env_int("WEB_MAX_REQUESTS", 20000, minimum=0)
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
loglevel = env_str("LOG_LEVEL", "INFO").lower()
# The worker heartbeat file: on tmpfs, a container's overlay disk can stall it into a false timeout.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
