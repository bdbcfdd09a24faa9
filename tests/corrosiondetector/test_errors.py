"""Every API error, the domain's and DRF's own, in every app, is `{"detail", "code"}` with the right status."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.test import APIClient

from corrosiondetector.errors import DomainError, api_exception_handler
from factories import jpeg_bytes, make_image
from modelzoo.models import TrainingRun
from modelzoo.setup import RESEARCHERS
from uploads.errors import UploadTooLarge

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def volunteer():
    return client_for(User.objects.create_user("volunteer", password="pw"))


@pytest.fixture
def researcher():
    user = User.objects.create_user("researcher", password="pw")
    user.groups.add(Group.objects.get(name=RESEARCHERS))
    return client_for(user)


def photo(data: bytes) -> dict:
    return {"image": SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"detail", "code", "errors"}
    return body


def test_it_answers_every_app_s_api_errors_with_detail_and_code(api_client, volunteer, researcher, settings):
    make_image(label=None)
    round_url, voter_url = "/api/quiz/round/", "/api/quiz/voter/"
    served = api_client.get(round_url).json()
    # quiz: the domain's refusals, then DRF's
    assert_error(api_client.post(round_url, {"round": "forged", "corrosion": []}, format="json"), 400, "round_invalid")
    assert api_client.post(round_url, {"round": served["round"], "corrosion": []}, format="json").status_code == 201
    again = {"round": served["round"], "corrosion": []}
    assert_error(api_client.post(round_url, again, format="json"), 409, "already_voted")
    assert_error(api_client.post(round_url, b"{oops", content_type="application/json"), 400, "parse_error")
    assert_error(api_client.post(round_url, b"x", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(api_client.get(round_url, HTTP_ACCEPT="text/html"), 406, "not_acceptable")
    assert_error(api_client.delete(round_url), 405, "method_not_allowed")
    body = assert_error(api_client.put(voter_url, {"expertise": "guru"}, format="json"), 400, "invalid")
    assert body["errors"]["expertise"] and body["detail"].startswith("expertise: ")

    # uploads
    assert_error(api_client.post("/api/uploads/", {"photo": "x"}, format="multipart"), 400, "missing_image")
    assert_error(api_client.post("/api/uploads/", photo(b"not an image")), 415, "unsupported")
    assert_error(api_client.get("/api/uploads/00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    assert_error(api_client.post("/api/uploads/", {**photo(jpeg_bytes()), "share": "maybe"}), 400, "invalid")
    upload = api_client.post("/api/uploads/", {**photo(jpeg_bytes()), "share": "true"}).json()
    correction = f"/api/uploads/{upload['id']}/correction/"
    assert_error(client_for().post(correction, {"corrosion": True}, format="json"), 403, "not_uploader")
    # Someone else's unshared upload does not exist for them.
    private = api_client.post("/api/uploads/", photo(jpeg_bytes())).json()
    assert_error(client_for().delete(f"/api/uploads/{private['id']}/"), 404, "not_found")
    share = client_for().post(f"/api/uploads/{private['id']}/share/", {"shared": True}, format="json")
    assert_error(share, 404, "not_found")
    body = assert_error(api_client.post(correction, {}, format="json"), 400, "invalid")
    assert body["errors"] == {"corrosion": ["This field is required."]}
    settings.UPLOAD_MAX_BYTES = 1024
    assert_error(api_client.post("/api/uploads/", photo(jpeg_bytes(size=(256, 256)))), 413, "too_large")

    # modelzoo
    assert_error(client_for().get("/api/models/"), 401, "not_authenticated")
    assert_error(volunteer.get("/api/models/"), 403, "permission_denied")
    assert_error(researcher.get("/api/models/7/onnx/"), 404, "not_found")
    body = assert_error(researcher.post("/api/models/retrain/", {"epochs": 0}, format="json"), 400, "invalid")
    assert list(body["errors"]) == ["epochs"]
    TrainingRun.objects.create(triggered_by="schedule", state=TrainingRun.State.RUNNING)
    assert_error(researcher.post("/api/models/retrain/", {}, format="json"), 409, "training_already_running")


def test_it_keeps_retry_after_on_429(api_client, settings):
    settings.UPLOAD_RATE_PER_VOTER = 1
    assert api_client.post("/api/uploads/", photo(jpeg_bytes())).status_code == 202
    response = api_client.post("/api/uploads/", photo(jpeg_bytes()))
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_it_keeps_www_authenticate_on_401():
    response = client_for().get("/api/models/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_it_turns_a_domain_error_into_its_status_and_code():
    response = api_exception_handler(DomainError("No.", status_code=418, code="teapot"), {})
    assert (response.status_code, response.data) == (418, {"detail": "No.", "code": "teapot"})


def test_it_says_how_large_a_file_may_be_in_one_place(settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    assert UploadTooLarge().message == "The file is larger than 3 MB."


@pytest.mark.parametrize(
    "detail,message,errors",
    [
        ({"epochs": ["Too small."]}, "epochs: Too small.", {"epochs": ["Too small."]}),
        ({"non_field_errors": ["Bad."]}, "Bad.", {"non_field_errors": ["Bad."]}),
        (["Bad."], "Bad.", {"non_field_errors": ["Bad."]}),
        ({"corrosion": {"0": ["Not an id."]}}, "corrosion: Not an id.", {"corrosion": {"0": ["Not an id."]}}),
    ],
)
def test_it_keeps_every_field_error_and_summarises_the_first(detail, message, errors):
    response = api_exception_handler(ValidationError(detail), {})
    assert response.status_code == 400
    assert response.data == {"detail": message, "code": "invalid", "errors": errors}


def test_it_leaves_unexpected_exceptions_to_django():
    assert api_exception_handler(RuntimeError("bug"), {}) is None


def test_it_sets_retry_after_from_drf_throttled():
    response = api_exception_handler(Throttled(wait=7), {})
    assert response.status_code == 429 and response["Retry-After"] == "7"
    assert response.data["code"] == "throttled"
