import pytest

from corrosiondetector.env import env_media_storages
from factories import make_model_version
from modelzoo import inference

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote_models(monkeypatch, settings, tmp_path):
    """Model files on S3 (moto in-process), and an empty local model cache."""
    from moto import mock_aws

    for name, value in {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": "corrosion",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(inference, "_DOWNLOADS", tmp_path / "models")
    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="corrosion")
        settings.STORAGES = {**settings.STORAGES, **env_media_storages()}
        yield client


def test_it_keeps_one_local_copy_of_a_remote_model_by_content_hash(remote_models, tmp_path):
    version = make_model_version(version=1, val_accuracy=0.5, onnx=b"onnx-v1")
    path = inference._local_onnx_path(version)
    assert path == str(tmp_path / "models" / f"{version.onnx_sha256}.onnx")
    assert open(path, "rb").read() == b"onnx-v1"
    remote_models.delete_object(Bucket="corrosion", Key=f"private/{version.onnx.name}")
    assert inference._local_onnx_path(version) == path  # no second download
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f"{version.onnx_sha256}.onnx"]


def test_it_refuses_a_remote_model_that_does_not_match_its_hash(remote_models, tmp_path):
    version = make_model_version(version=1, val_accuracy=0.5, onnx=b"onnx-v1")
    remote_models.put_object(Bucket="corrosion", Key=f"private/{version.onnx.name}", Body=b"truncat")
    with pytest.raises(OSError, match="SHA-256"):
        inference._local_onnx_path(version)
    assert list((tmp_path / "models").iterdir()) == []  # nothing cached, no partial file left
