"""Media on an S3-compatible server: the upload → verdict → quiz path with no shared disk.

moto's server mode stands in for S3 (or MinIO, Ceph, R2...): a real HTTP server on a random local port that
keeps objects in memory and, like S3, refuses an anonymous read unless the bucket policy allows it. The web
side (this process) and a real inference worker (another process) both reach it only over HTTP, with
MEDIA_STORAGE=s3 parsed from the environment as in production.
"""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.test import APIClient

from corrosiondetector.env import env_media_storages
from factories import jpeg_bytes, make_image, make_model_version
from quiz.models import Label, Split
from uploads.models import Upload

pytestmark = pytest.mark.integration


@dataclass
class S3Media:
    endpoint: str
    bucket: str
    env: dict[str, str]
    client: object  # boto3 S3 client

    def keys(self, prefix: str) -> set[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return {item["Key"] for item in listing.get("Contents", [])}

    def object_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def public_read_policy(bucket: str) -> str:
    """The bucket policy docs/deploy.md asks for: anyone may read public/, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicMedia",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/public/*",
                }
            ],
        }
    )


@pytest.fixture
def s3_media(monkeypatch, settings):
    import boto3
    from moto.server import ThreadedMotoServer

    # One log line per S3 request would bury a failure's report.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "level", logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"corrosion-{uuid.uuid4().hex[:12]}"
    env = {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_ADDRESSING_STYLE": "path",
        "S3_PRESIGN_SECONDS": "60",
    }
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # This process's storages, from the same environment the worker gets (the settings fixture restores them).
    settings.STORAGES = {**settings.STORAGES, **env_media_storages()}
    try:
        yield S3Media(endpoint=endpoint, bucket=bucket, env=env, client=client)
    finally:
        server.stop()


def fetch(url: str) -> tuple[int, Message, bytes]:
    """A plain anonymous GET, as a browser sends it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_for_verdict(upload_id: str, worker, seconds: float = 90) -> Upload:
    deadline = time.monotonic() + seconds
    while True:
        upload = Upload.objects.get(pk=upload_id)
        if upload.status in ("done", "failed"):
            return upload
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, f"upload still {upload.status} after {seconds} s"
        time.sleep(0.1)


def assert_public(url: str, s3: S3Media) -> bytes:
    parts = urlsplit(url)
    assert url.startswith(f"{s3.endpoint}/{s3.bucket}/public/"), url
    assert not parts.query, f"a public URL carries no signature: {url}"
    status, headers, body = fetch(url)
    assert status == 200, (url, status, body[:200])
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    return body


def test_it_runs_upload_verdict_and_quiz_with_media_only_on_s3(
    transactional_db,
    postgres,
    real_broker,
    start_worker,
    s3_media,
    tiny_onnx_model,
    media_root,
    tmp_path,
    staff,
    settings,
):
    from modelzoo.services import model_version_promote

    settings.UPLOAD_MODERATION = "off"  # a shared upload joins the quiz at once

    s3 = s3_media
    for label in (Label.CORROSION, Label.NO_CORROSION, Label.CORROSION):
        make_image(split=Split.TRAIN, label=label)
    version = make_model_version(version=1, val_accuracy=0.5, onnx=tiny_onnx_model)
    model_version_promote(version_id=version.pk)
    version.refresh_from_db()
    assert f"private/{version.onnx.name}" in s3.keys("private/models/")

    worker_tmp = tmp_path / "worker-tmp"  # the worker's model cache starts empty: it must fetch v1 from S3
    worker_tmp.mkdir()
    worker = start_worker("inference", **s3.env, TMPDIR=str(worker_tmp))

    client = APIClient()
    photo = jpeg_bytes(size=(300, 200))
    response = client.post("/api/uploads/", {"image": SimpleUploadedFile("p.jpg", photo), "share": "true"})
    assert response.status_code == 202, response.content
    upload_id = response.json()["id"]
    upload = wait_for_verdict(upload_id, worker)
    assert upload.status == "done", upload.failure_reason
    assert upload.label in (Label.CORROSION, Label.NO_CORROSION) and upload.model_version_id == version.pk
    assert (worker_tmp / "corrosiondetector-models" / f"{version.onnx_sha256}.onnx").read_bytes() == tiny_onnx_model

    # The worker wrote the heatmap to the bucket; browsers fetch photo and heatmap straight from it.
    body = client.get(f"/api/uploads/{upload_id}/").json()
    assert f"public/{upload.heatmap.name}" in s3.keys("public/heatmaps/")
    heatmap = assert_public(body["heatmap_url"], s3)
    assert PILImage.open(io.BytesIO(heatmap)).format == "PNG"
    stored_photo = assert_public(body["image_url"], s3)
    assert stored_photo == s3.object_bytes(f"public/{upload.image.file.name}")

    # The uploaded photo is in the next quiz round (it has no votes yet), served from the bucket.
    served = client.get("/api/quiz/round/").json()
    assert upload.image_id in [image["id"] for image in served["images"]]
    for image in served["images"]:
        assert PILImage.open(io.BytesIO(assert_public(image["url"], s3))).size[0] > 0

    # An unshared upload: its files under the private prefix, handed to its uploader alone by presigned URL.
    private = client.post("/api/uploads/", {"image": SimpleUploadedFile("q.jpg", jpeg_bytes(size=(300, 200)))})
    unshared = wait_for_verdict(private.json()["id"], worker)
    assert unshared.status == "done", unshared.failure_reason
    assert f"private/{unshared.image.file.name}" in s3.keys("private/unshared/images/")
    assert f"private/{unshared.heatmap.name}" in s3.keys("private/unshared/heatmaps/")
    assert not s3.keys("public/unshared/")
    photo_url = client.get(f"/api/uploads/{unshared.pk}/").json()["image_url"]
    handed = client.get(photo_url)
    assert handed.status_code == 302 and "X-Amz-Signature=" in handed["Location"]
    assert fetch(handed["Location"])[2] == s3.object_bytes(f"private/{unshared.image.file.name}")
    assert APIClient().get(photo_url).status_code == 404

    # Model files are private: staff get a short-lived presigned URL; the same URL unsigned is refused.
    staff_client = APIClient()
    staff_client.force_authenticate(staff)
    redirect = staff_client.get(f"/api/models/{version.version}/onnx/")
    assert redirect.status_code == 302
    signed = redirect["Location"]
    assert "X-Amz-Signature=" in signed and "X-Amz-Expires=60" in signed
    status, _, onnx = fetch(signed)
    assert status == 200 and onnx == tiny_onnx_model
    unsigned = signed.split("?", 1)[0]
    assert unsigned == f"{s3.endpoint}/{s3.bucket}/private/{version.onnx.name}"
    assert fetch(unsigned)[0] == 403
    assert fetch(f"{s3.endpoint}/{s3.bucket}/public/{version.onnx.name}")[0] in (403, 404)

    # No host shares a disk: nothing was written under MEDIA_ROOT by the web side or the worker.
    assert not [path for path in media_root.rglob("*") if path.is_file()]
