"""GET /metrics and the counters behind it (one process; multiprocess mode in subprocesses)."""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import shared_task
from django.core.exceptions import ImproperlyConfigured
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from corrosiondetector import metrics
from factories import jpeg_bytes, make_image
from uploads.services import upload_classify, upload_correct, upload_create

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ()
    return TOKEN


def scrape(client, token=TOKEN, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- Access ------------------------------------------------------------------------------------------------


def test_it_has_no_metrics_page_without_a_token_configured(client, settings):
    settings.METRICS_TOKEN = None
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ünïcode"],
)
def test_it_answers_401_without_the_right_token(client, token, authorization):
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"corrosiondetector_" not in response.content
    assert not response.cookies


def test_it_answers_200_with_the_token_and_sets_no_cookie(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {token}")
    assert response.status_code == 200
    assert b"# TYPE corrosiondetector_votes_recorded_total counter" in response.content
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_it_compares_the_token_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(metrics.hmac, "compare_digest", spy)
    assert metrics.bearer_token_valid(f"Bearer {TOKEN}", TOKEN)
    assert not metrics.bearer_token_valid("Bearer wrong", TOKEN)
    assert calls == [(TOKEN.encode(), TOKEN.encode()), (b"wrong", TOKEN.encode())]


def test_it_refuses_a_short_token_at_start_up():
    environment = {**os.environ, "SECRET_KEY": "x", "METRICS_TOKEN": "short"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.METRICS_TOKEN"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "METRICS_TOKEN must be at least 16 characters" in result.stderr


def test_it_answers_only_the_allowed_networks(client, token, settings):
    from ipaddress import ip_network

    settings.METRICS_ALLOWED_NETWORKS = (ip_network("10.0.0.0/8"),)
    authorization = f"Bearer {token}"
    assert client.get("/metrics", HTTP_AUTHORIZATION=authorization, REMOTE_ADDR="127.0.0.1").status_code == 404
    # The client's own X-Forwarded-For does not get it in.
    forged = {"HTTP_X_FORWARDED_FOR": "10.1.2.3", "REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=authorization, **forged).status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=authorization, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


# --- What it shows --------------------------------------------------------------------------------------------


def test_it_shows_request_latency_by_view(client, token, db):
    before = scrape(client)
    key = ("django_http_requests_latency_seconds_by_view_method_count", (("method", "GET"), ("view", "quiz:api-round")))
    for _ in range(3):
        assert client.get("/api/quiz/round/").status_code == 200
    after = scrape(client)
    assert after[key] - before.get(key, 0) == 3
    bucket = ("django_http_requests_latency_seconds_by_view_method_bucket", tuple(sorted(key[1] + (("le", "+Inf"),))))
    assert after[bucket] == after[key]


def test_it_counts_a_views_exception_and_times_its_500_once(client, token, monkeypatch):
    from corrosiondetector import views

    def broken():
        raise RuntimeError("database on fire")

    monkeypatch.setattr(views, "health_report", broken)
    client.raise_request_exception = False
    before = scrape(client)
    assert client.get("/healthz").status_code == 500
    after = scrape(client)
    latency = ("django_http_requests_latency_seconds_by_view_method_count", (("method", "GET"), ("view", "healthz")))
    answers = (
        "django_http_responses_total_by_status_view_method_total",
        (("method", "GET"), ("status", "500"), ("view", "healthz")),
    )
    exceptions = ("django_http_exceptions_total_by_type_total", (("type", "RuntimeError"),))
    for key in (latency, answers, exceptions):
        assert after[key] - before.get(key, 0) == 1, key


def test_it_counts_the_votes_of_an_answered_round_once_committed(api_client, db, django_capture_on_commit_callbacks):
    for _ in range(4):
        make_image(label=None)
    body = api_client.get("/api/quiz/round/").json()
    before = value("corrosiondetector_votes_recorded_total", source="quiz")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/quiz/round/", {"round": body["round"], "corrosion": []}, format="json")
    assert response.status_code == 201
    assert value("corrosiondetector_votes_recorded_total", source="quiz") - before == 4
    # A refused replay records nothing and counts nothing.
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/quiz/round/", {"round": body["round"], "corrosion": []}, format="json")
    assert response.status_code == 409
    assert value("corrosiondetector_votes_recorded_total", source="quiz") - before == 4


def test_it_counts_no_vote_before_the_transaction_commits(api_client, db):
    for _ in range(4):
        make_image(label=None)
    body = api_client.get("/api/quiz/round/").json()
    before = value("corrosiondetector_votes_recorded_total", source="quiz")
    # The test's transaction never commits: neither does the count.
    assert api_client.post("/api/quiz/round/", {"round": body["round"], "corrosion": []}, format="json").status_code
    assert value("corrosiondetector_votes_recorded_total", source="quiz") == before


def test_it_counts_uploads_and_the_uploaders_correction(db, django_capture_on_commit_callbacks):
    uploads_before = value("corrosiondetector_uploads_created_total")
    corrections_before = value("corrosiondetector_votes_recorded_total", source="correction")
    key = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_create(data=jpeg_bytes(), uploader_key=key)
    assert value("corrosiondetector_uploads_created_total") - uploads_before == 1
    with django_capture_on_commit_callbacks(execute=True):
        upload_correct(upload_id=upload.pk, voter_key=key, corrosion=True)
        upload_correct(upload_id=upload.pk, voter_key=key, corrosion=False)  # a changed vote is no new vote
    assert value("corrosiondetector_votes_recorded_total", source="correction") - corrections_before == 1


def test_it_counts_no_refused_upload(db, django_capture_on_commit_callbacks):
    from uploads.errors import UploadError

    before = value("corrosiondetector_uploads_created_total")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(UploadError):
        upload_create(data=b"not a photo", uploader_key=uuid.uuid4())
    assert value("corrosiondetector_uploads_created_total") == before


def test_it_times_inference(active_model, client, token):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    count_before = value("corrosiondetector_inference_seconds_count")
    sum_before = value("corrosiondetector_inference_seconds_sum")
    upload_classify(upload_id=upload.pk)
    assert value("corrosiondetector_inference_seconds_count") - count_before == 1
    assert 0 < value("corrosiondetector_inference_seconds_sum") - sum_before < 30
    assert scrape(client)[("corrosiondetector_inference_seconds_count", ())] >= 1


@shared_task(name="tests.metrics.fails")
def fails() -> None:
    raise RuntimeError("boom")


def test_it_counts_task_failures_by_task_name():
    before = value("corrosiondetector_celery_task_failures_total", task="tests.metrics.fails")
    assert fails.apply(throw=False).failed()
    assert fails.apply(throw=False).failed()
    assert value("corrosiondetector_celery_task_failures_total", task="tests.metrics.fails") - before == 2


def test_it_still_answers_when_the_broker_is_down_waiting_half_a_second_at_most(
    client, token, settings, redis_clients_opened
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    samples = scrape(client)
    # A broker that hangs rather than refusing costs the scrape these timeouts, not Prometheus's own.
    assert redis_clients_opened == [{"socket_connect_timeout": 0.5, "socket_timeout": 0.5}]
    assert samples[("corrosiondetector_celery_broker_up", ())] == 0
    assert not any(name == "corrosiondetector_celery_queue_length" for name, _ in samples)
    assert ("corrosiondetector_uploads_created_total", ()) in samples


def test_it_shows_no_queues_when_tasks_run_in_process(client, token, settings):
    settings.CELERY_BROKER_URL = "memory://"
    samples = scrape(client)
    assert not any(name.startswith("corrosiondetector_celery_broker_up") for name, _ in samples)


# --- Workers -----------------------------------------------------------------------------------------------


class FakeWorker:
    def __init__(self, pool_cls):
        self.pool_cls = pool_cls


def test_it_refuses_worker_metrics_on_the_prefork_pool_without_a_multiprocess_directory(settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.CELERY_METRICS_PORT = free_port()
    with pytest.raises(ImproperlyConfigured, match="PROMETHEUS_MULTIPROC_DIR"):
        metrics.worker_metrics_start(sender=FakeWorker("prefork"))


def test_it_serves_no_worker_metrics_without_a_port(settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.CELERY_METRICS_PORT = 0
    metrics.worker_metrics_start(sender=FakeWorker("prefork"))  # nothing to refuse: nothing served


SUM_ACROSS_PROCESSES = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.test")
import django
django.setup()
from corrosiondetector import metrics
if sys.argv[1] == "count":
    metrics.UPLOADS_CREATED.inc()
    metrics.TASK_FAILURES.labels(task="t").inc(2)
else:
    from prometheus_client import generate_latest
    sys.stdout.write(generate_latest(metrics.site_metrics()).decode())
"""


def test_it_sums_the_processes_in_multiprocess_mode(tmp_path):
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "CELERY_BROKER_URL": ""}

    def run(role: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", SUM_ACROSS_PROCESSES, role],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    for _ in range(3):
        run("count")
    text = run("scrape")
    assert "corrosiondetector_uploads_created_total 3.0" in text
    assert 'corrosiondetector_celery_task_failures_total{task="t"} 6.0' in text
