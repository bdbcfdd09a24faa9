"""Retraining through the real path: API -> Redis -> training worker process -> PostgreSQL."""

import json
import time

import pytest
from rest_framework.test import APIClient

from factories import make_image
from modelzoo.models import ModelVersion, TrainingRun
from quiz.models import Label, Split

pytestmark = pytest.mark.integration
TINY = {"epochs": 1, "width": 4, "input_size": 32, "batch_size": 8}


def wait_for_run(run_id: int, worker, seconds: float = 180) -> TrainingRun:
    deadline = time.monotonic() + seconds
    while True:
        run = TrainingRun.objects.get(pk=run_id)
        if run.state not in TrainingRun.OPEN_STATES:
            return run
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, f"run still {run.state} after {seconds} s"
        time.sleep(0.5)


def test_it_trains_on_a_training_worker_when_a_researcher_asks(
    transactional_db, postgres, real_broker, start_worker, settings, researcher
):
    for i in range(8):
        make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    for i in range(4):
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    worker = start_worker("training", TRAINING_CONFIG=json.dumps(TINY))
    client = APIClient()
    client.force_authenticate(researcher)

    response = client.post("/api/models/retrain/", {}, format="json")
    assert response.status_code == 202
    assert client.post("/api/models/retrain/", {}, format="json").status_code == 409

    run = wait_for_run(response.json()["id"], worker)
    assert run.state == TrainingRun.State.DONE, run.error
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.training_run_id == run.pk and version.n_train_images == 8
