import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from factories import jpeg_bytes
from quiz.models import Vote
from uploads.models import Upload

pytestmark = pytest.mark.django_db


def test_it_shows_an_upload_form_with_camera_capture(client):
    html = client.get("/upload/").content.decode()
    assert 'type="file" name="image"' in html and 'capture="environment"' in html
    assert 'accept="image/jpeg,image/png,image/webp"' in html and "js/upload.js" in html


def test_it_works_without_javascript_from_upload_to_correction(
    client, active_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    upload = Upload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/upload/{upload.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "probability of corrosion" in page and "/media/heatmaps/" in page
    client.post(f"/upload/{upload.pk}/correction/", {"corrosion": "false"})
    assert Vote.objects.get().corrosion is False


def test_it_shows_a_clear_error_for_a_bad_file(client):
    response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", b"not a photo")})
    assert response.status_code == 415
    assert "not a JPEG, PNG or WebP" in response.content.decode()
    assert not Upload.objects.exists()


def test_it_hides_the_correction_form_from_others(client, active_model):
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    upload = Upload.objects.get()
    from django.test import Client

    other = Client()
    assert "Yes, corrosion" not in other.get(f"/upload/{upload.pk}/").content.decode()
    other.post(f"/upload/{upload.pk}/correction/", {"corrosion": "true"})
    assert not Vote.objects.exists()
