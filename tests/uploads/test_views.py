import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from factories import jpeg_bytes, mpo_bytes, unique_address
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
        response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "on"})
    upload = Upload.objects.get()
    assert upload.shared
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
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "on"})
    upload = Upload.objects.get()
    from django.test import Client

    other = Client()
    page = other.get(f"/upload/{upload.pk}/").content.decode()
    assert "Your photo" in page and "Yes, corrosion" not in page and "/delete/" not in page
    other.post(f"/upload/{upload.pk}/correction/", {"corrosion": "true"})
    assert not Vote.objects.exists()


def test_it_takes_a_camera_photo_without_javascript(client, active_model, django_capture_on_commit_callbacks):
    html = client.get("/upload/").content.decode()
    # Neither input may be `required`: a browser would then refuse to send a form with only a camera photo.
    assert " required" not in html.split('id="upload-form"')[1].split("</form>")[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/upload/", {"camera": SimpleUploadedFile("IMG_0001.jpg", jpeg_bytes())})
    upload = Upload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/upload/{upload.pk}/"
    assert upload.status == Upload.Status.DONE


def test_it_asks_for_a_photo_when_both_inputs_are_empty(client):
    response = client.post("/upload/", {})
    assert response.status_code == 400 and "Please choose a photo first." in response.content.decode()


def test_it_accepts_a_phone_photo_with_a_gain_map(client, active_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/upload/", {"camera": SimpleUploadedFile("PXL_1.jpg", mpo_bytes())})
    assert response.status_code == 302
    assert Upload.objects.get().status == Upload.Status.DONE


def test_it_limits_the_form_like_the_api_and_shares_its_buckets(client, settings, fake_clock):
    from rest_framework.test import APIClient

    from quiz import throttles

    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20
    settings.UPLOAD_RATE_PER_IP = 2
    address = unique_address()
    form = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())}, REMOTE_ADDR=address)
    api = APIClient().post(
        "/api/uploads/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())}, format="multipart", REMOTE_ADDR=address
    )
    assert (form.status_code, api.status_code) == (302, 202)
    refused = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())}, REMOTE_ADDR=address)
    assert refused.status_code == 429 and refused["Retry-After"] == str(throttles.WINDOW_SECONDS - 20)
    assert "uploaded a lot of photos" in refused.content.decode()
    assert Upload.objects.count() == 2
