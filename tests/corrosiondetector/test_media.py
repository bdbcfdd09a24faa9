from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.http import Http404

from corrosiondetector.env import env_media_storages
from corrosiondetector.media import private_file_response, private_storage


@pytest.fixture
def stored():
    name = private_storage.save("models/v1-abc.onnx", ContentFile(b"onnx-bytes"))
    return name


def test_it_streams_a_private_file_itself_without_a_proxy(stored, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = None
    response = private_file_response(stored, filename="corrosion-v1.onnx")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"onnx-bytes"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith('attachment; filename="corrosion-v1.onnx"')
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_it_lets_the_proxy_send_a_private_file_from_its_internal_location(stored, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/_protected/"
    response = private_file_response(stored, filename="corrosion v1.onnx")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/_protected/models/v1-abc.onnx"
    assert response["Content-Type"] == "application/octet-stream"
    assert "filename*=UTF-8''corrosion%20v1.onnx" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]


def test_it_answers_404_for_a_missing_file(settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/_protected/"
    with pytest.raises(Http404):
        private_file_response("models/gone.onnx")
    with pytest.raises(Http404):
        private_file_response("")


def test_it_keeps_private_files_under_media_root_on_the_local_disk(stored, media_root):
    assert (media_root / stored).read_bytes() == b"onnx-bytes"


def test_it_redirects_to_a_short_lived_presigned_url_when_files_are_on_s3(monkeypatch, settings):
    from moto import mock_aws

    for name, value in {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": "corrosion",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "S3_PRESIGN_SECONDS": "120",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="corrosion")
        settings.STORAGES = {**settings.STORAGES, **env_media_storages()}
        # The lazily resolved private storage follows the new STORAGES, as default_storage does.
        name = private_storage.save("models/v1-abc.onnx", ContentFile(b"onnx-bytes"))
        response = private_file_response(name, filename="corrosion-v1.onnx")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert location.path.endswith("private/models/v1-abc.onnx")  # under S3_PRIVATE_PREFIX
    assert query["X-Amz-Expires"] == ["120"] and "X-Amz-Signature" in query
    assert query["response-content-disposition"][0].startswith('attachment; filename="corrosion-v1.onnx"')
    assert "no-store" in response["Cache-Control"]
