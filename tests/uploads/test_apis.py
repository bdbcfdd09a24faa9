from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from factories import jpeg_bytes
from hostile_files import bad_files
from quiz.models import Image, Vote
from uploads.models import Upload

pytestmark = pytest.mark.django_db
URL = "/api/uploads/"


def post_photo(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg", **fields):
    photo = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(URL, {"image": photo, **fields}, format="multipart")


def files_under(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def verdict_of_stored_photo(upload, version):
    """What the active model says about the photo as stored: the verdict the API must pass on."""
    from modelzoo.inference import classifier_for

    with upload.image.file.open("rb") as handle:
        return classifier_for(version).classify([handle.read()])[0]


def test_it_accepts_a_photo_and_answers_202_with_the_verdict_url(
    api_client, active_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_photo(api_client, jpeg_bytes(), share="true")
    assert response.status_code == 202
    body = response.json()
    assert body["shared"] is True
    # Tasks run in-process in unit tests, so the verdict is already there.
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert detail["status"] == "done"
    expected = verdict_of_stored_photo(Upload.objects.get(pk=body["id"]), active_model)
    assert (detail["label"], detail["probability"]) == (expected.label, pytest.approx(expected.probability))
    assert detail["model_version"] == active_model.version
    assert detail["heatmap_url"].startswith("http://testserver/media/heatmaps/")


def test_it_reports_no_model_when_none_is_trained(api_client):
    body = post_photo(api_client, jpeg_bytes()).json()
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert (detail["status"], detail["label"], detail["heatmap_url"]) == ("no_model", None, None)


def test_it_answers_404_for_an_unknown_upload(api_client):
    assert api_client.get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize("name", list(bad_files()))
def test_it_answers_4xx_to_bad_files_and_leaves_nothing(api_client, media_root, name):
    data, status = bad_files()[name]
    # Lie about the type, as an attacker would: the server must look at the bytes.
    response = post_photo(api_client, data, name=name, content_type="image/jpeg")
    assert response.status_code == status
    assert response.json()["detail"]
    assert not Upload.objects.exists() and not Image.objects.exists()
    assert files_under(media_root) == []


def test_it_answers_413_to_an_oversized_upload_without_reading_it(api_client, settings, media_root):
    settings.UPLOAD_MAX_BYTES = 100 * 1024
    response = post_photo(api_client, b"\xff\xd8" + b"0" * (400 * 1024))
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert files_under(media_root) == []


def test_it_answers_400_without_exactly_one_image_field(api_client):
    assert (
        api_client.post(URL, {"photo": SimpleUploadedFile("a.jpg", jpeg_bytes())}, format="multipart").status_code
        == 400
    )
    two = {"image": [SimpleUploadedFile("a.jpg", jpeg_bytes()), SimpleUploadedFile("b.jpg", jpeg_bytes())]}
    assert api_client.post(URL, two, format="multipart").status_code == 400
    assert api_client.post(URL, {"image": "not a file"}, format="json").status_code == 415
    assert not Upload.objects.exists()


def test_it_lets_the_uploader_correct_and_no_one_else(uploader):
    body = post_photo(uploader.client, jpeg_bytes(), share="true").json()
    assert Upload.objects.get(pk=body["id"]).uploader_key == uploader.key  # the key in their cookie
    url = f"{URL}{body['id']}/correction/"
    stranger = APIClient()
    assert stranger.post(url, {"corrosion": True}, format="json").status_code == 403
    private = post_photo(uploader.client, jpeg_bytes()).json()
    assert stranger.post(f"{URL}{private['id']}/correction/", {"corrosion": True}, format="json").status_code == 404
    assert not Vote.objects.exists()
    response = uploader.client.post(url, {"corrosion": True}, format="json")
    assert response.status_code == 200
    assert response.json()["corrected_label"] == "corrosion"
    assert Vote.objects.get().corrosion is True


@pytest.mark.parametrize("payload", [{}, {"corrosion": "maybe"}, {"corrosion": None}])
def test_it_answers_400_to_a_malformed_correction(api_client, payload):
    body = post_photo(api_client, jpeg_bytes()).json()
    assert api_client.post(f"{URL}{body['id']}/correction/", payload, format="json").status_code == 400
    assert not Vote.objects.exists()


def test_it_limits_how_fast_one_voter_uploads(api_client, settings):
    settings.UPLOAD_RATE_PER_VOTER = 2
    codes = [post_photo(api_client, jpeg_bytes()).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
