import uuid

import pytest
from django.core.files.base import ContentFile

from corrosiondetector.media import private_storage
from videos.models import Video

pytestmark = pytest.mark.django_db


def test_it_lists_videos_and_deletes_one_with_its_file(admin_client, django_capture_on_commit_callbacks):
    name = private_storage.save(f"unshared/videos/{uuid.uuid4()}/source.mp4", ContentFile(b"clip"))
    video = Video.objects.create(uploader_key=uuid.uuid4(), file=name, size=4, every_s=1.0)
    assert admin_client.get("/admin/videos/video/").status_code == 200
    assert admin_client.get(f"/admin/videos/video/{video.pk}/change/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/videos/video/{video.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Video.objects.exists() and not private_storage.exists(name)
