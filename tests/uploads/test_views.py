import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from factories import VoterFactory, jpeg_bytes, mpo_bytes, unique_address
from quiz.identity import voter_cookie_value
from quiz.models import Vote
from uploads.models import Upload

pytestmark = pytest.mark.django_db


def test_it_shows_an_upload_form_with_camera_capture(client):
    html = client.get("/upload/").content.decode()
    assert 'type="file" name="image" id="image-input" multiple accept="image/*"' in html
    assert 'capture="environment"' in html and "js/upload.js" in html


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


def share_box(html: str) -> str:
    return html.split('id="share-input"')[0].rsplit("<input", 1)[1] + html.split('id="share-input"')[1].split(">")[0]


def test_it_offers_the_share_box_unticked_to_a_new_voter(client, settings):
    html = client.get("/upload/").content.decode()
    assert 'type="checkbox" name="share" value="true"' in html and "Share with the crowd" in html
    assert "checked" not in share_box(html)
    assert f"deleted after {settings.UPLOAD_RETENTION_DAYS} days" in html and "train the model" in html


@pytest.mark.parametrize("shares", [True, False])
def test_it_ticks_the_share_box_as_the_voter_answered_last_time(client, settings, shares):
    voter = VoterFactory(shares_uploads=shares)
    client.cookies[settings.VOTER_COOKIE_NAME] = voter_cookie_value(voter.key)
    assert ("checked" in share_box(client.get("/upload/").content.decode())) is shares


@pytest.mark.parametrize(("fields", "shared"), [({"share": "true"}, True), ({"share": "on"}, True), ({}, False)])
def test_it_stores_the_share_answer_of_the_form(client, fields, shared):
    response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), **fields})
    assert response.status_code == 302
    assert Upload.objects.get().shared is shared


def test_it_refuses_a_share_answer_that_is_not_yes_or_no(client):
    response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "yes"})
    assert response.status_code == 400 and "share: send true or false" in response.content.decode()
    assert not Upload.objects.exists()


def photos(*names: str, data: dict | None = None) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, (data or {}).get(name) or jpeg_bytes()) for name in names]


def test_it_takes_several_photos_without_javascript_one_upload_each(
    client, active_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/upload/", {"image": photos("a.jpg", "b.jpg"), "camera": photos("IMG_1.jpg"), "share": "true"}
        )
    assert response.status_code == 200
    uploads = list(Upload.objects.all())
    assert len(uploads) == 3 and {upload.shared for upload in uploads} == {True}
    assert len({upload.uploader_key for upload in uploads}) == 1
    html = response.content.decode()
    for name in ("a.jpg", "b.jpg", "IMG_1.jpg"):
        assert name in html
    for upload in uploads:
        # Each file's own result page, which refreshes itself until the verdict is there.
        assert f'href="/upload/{upload.pk}/"' in html
        assert "probability of corrosion" in client.get(f"/upload/{upload.pk}/").content.decode()
    assert "checked" in share_box(html)  # the answer just given stays ticked


def test_it_refuses_a_bad_file_among_several_and_keeps_the_others(client, media_root):
    from pathlib import Path

    data = {"bad.jpg": b"not a photo", "big.jpg": b"\xff\xd8" + b"0" * (200 * 1024)}
    with override_max_bytes(100 * 1024):
        response = client.post("/upload/", {"image": photos("good.jpg", "bad.jpg", "big.jpg", "fine.png", data=data)})
    assert response.status_code == 200
    assert Upload.objects.count() == 2
    html = response.content.decode()
    assert "not a JPEG, PNG or WebP" in html and "The file is larger than" in html
    stored = {name for upload in Upload.objects.select_related("image") for name in upload_files(upload)}
    assert {str(p.relative_to(media_root)) for p in Path(media_root).rglob("*") if p.is_file()} == stored


def test_it_answers_with_the_refusal_when_every_file_is_refused(client):
    response = client.post("/upload/", {"image": photos("a.jpg", "b.jpg", data={"a.jpg": b"x", "b.jpg": b"y"})})
    assert response.status_code == 415
    assert response.content.decode().count('role="alert"') == 2
    assert not Upload.objects.exists()


def test_it_counts_each_file_against_the_rate_limit(client, settings, fake_clock):
    from quiz import throttles

    fake_clock(throttles).now = 3000 * throttles.WINDOW_SECONDS + 10
    settings.UPLOAD_RATE_PER_IP = 2
    response = client.post("/upload/", {"image": photos("a.jpg", "b.jpg", "c.jpg")}, REMOTE_ADDR=unique_address())
    assert response.status_code == 200
    assert Upload.objects.count() == 2
    assert f"Please send this one again in {throttles.WINDOW_SECONDS - 10} seconds." in response.content.decode()


def override_max_bytes(limit: int):
    from django.test import override_settings

    return override_settings(UPLOAD_MAX_BYTES=limit)


def upload_files(upload) -> list[str]:
    return [upload.image.file.name, upload.image.thumbnail.name]
