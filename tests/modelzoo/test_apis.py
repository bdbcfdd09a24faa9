import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from factories import make_model_version
from modelzoo.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(volunteer, staff, researcher):
    """The fixed cast (tests/conftest.py), each with an API client: anonymous, volunteer, staff, researcher."""

    def client_for(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return {
        "anonymous": client_for(None),
        "volunteer": client_for(volunteer),
        "staff": client_for(staff),
        "researcher": client_for(researcher),
    }


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("volunteer", 403), ("staff", 200), ("researcher", 200)])
def test_it_lists_versions_with_metrics_to_researchers_and_staff_only(cast, who, status):
    make_model_version(version=1, val_accuracy=0.81)
    response = cast[who].get("/api/models/")
    assert response.status_code == status
    if status == 200:
        (version,) = response.json()["results"]
        assert version["version"] == 1 and version["val_accuracy"] == 0.81
        assert version["confusion"] == [[2, 0], [0, 2]]
        # Measured since migration 0006; a result without them leaves them empty, at temperature 1.
        assert version["ece"] is None and version["temperature"] == 1.0 and version["n_selection_images"] == 0
        assert len(version["onnx_sha256"]) == 64


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("volunteer", 403), ("staff", 202), ("researcher", 202)])
def test_it_lets_only_researchers_and_staff_trigger_a_retrain(cast, who, status, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = cast[who].post("/api/models/retrain/", {"epochs": 2}, format="json")
    assert response.status_code == status
    if status == 202:
        run = TrainingRun.objects.get()
        assert response.json()["id"] == run.pk and response.json()["state"] == "queued"
        assert run.config == {"epochs": 2} and run.triggered_by == f"user:{who}"
        assert len(callbacks) == 1
    else:
        assert not TrainingRun.objects.exists() and callbacks == []


def test_it_answers_401_to_wrong_basic_credentials():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")
    assert client.post("/api/models/retrain/").status_code == 401


def test_it_refuses_a_second_retrain_while_one_is_open_with_409(cast, django_capture_on_commit_callbacks):
    TrainingRun.objects.create(triggered_by="schedule", state=TrainingRun.State.RUNNING)
    with django_capture_on_commit_callbacks() as callbacks:
        response = cast["staff"].post("/api/models/retrain/", {}, format="json")
    assert response.status_code == 409
    assert "already running" in response.json()["detail"]
    assert TrainingRun.objects.count() == 1 and callbacks == []


def test_it_validates_retrain_input(cast):
    assert cast["staff"].post("/api/models/retrain/", {"epochs": 0}, format="json").status_code == 400
    assert cast["staff"].post("/api/models/retrain/", b"{oops", content_type="application/json").status_code == 400
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("volunteer", 403), ("staff", 200), ("researcher", 200)])
def test_it_hands_model_files_to_researchers_and_staff_only(cast, who, status, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = None
    version = make_model_version(version=1, val_accuracy=0.8, onnx=b"onnx-weights")
    response = cast[who].get("/api/models/1/onnx/", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == b"onnx-weights"
        assert f'filename="corrosion-v1-{version.onnx_sha256[:12]}.onnx"' in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"]
    else:
        assert "onnx-weights" not in response.content.decode()


def test_it_keeps_model_files_from_people_who_may_only_see_the_metrics(cast):
    viewer = User.objects.create_user("viewer", password="pw")
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    make_model_version(version=1, val_accuracy=0.8)
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get("/api/models/").status_code == 200
    assert client.get("/api/models/1/onnx/").status_code == 403


def test_it_lets_the_proxy_send_the_model_file_when_one_is_in_front(cast, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/_protected/"
    version = make_model_version(version=1, val_accuracy=0.8)
    response = cast["staff"].get("/api/models/1/onnx/")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_protected/{version.onnx.name}"
    assert response["Content-Type"] == "application/octet-stream"


def test_it_answers_404_for_an_unknown_version_or_a_lost_file(cast):
    assert cast["staff"].get("/api/models/7/onnx/").status_code == 404
    version = make_model_version(version=1, val_accuracy=0.8)
    version.onnx.storage.delete(version.onnx.name)
    response = cast["staff"].get("/api/models/1/onnx/")
    assert response.status_code == 404 and response.json()["detail"]
