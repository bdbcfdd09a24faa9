"""Consent: "Share with the crowd" is off unless asked for; an unshared photo is its uploader's alone."""

import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from factories import jpeg_bytes
from quiz.imaging import clean_photo
from quiz.models import Image, Moderation, Split, Voter
from quiz.services.images import image_import
from uploads.models import Upload
from uploads.services import upload_create, upload_share

pytestmark = pytest.mark.django_db
URL = "/api/uploads/"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def post_photo(client, **fields):
    photo = SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg")
    return client.post(URL, {"image": photo, **fields}, format="multipart")


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def public_files(media_root) -> set[str]:
    """What the proxy would serve under /media/ (deploy/Caddyfile): images/, thumbnails/, heatmaps/."""
    return {
        name for name in files_under(Path(media_root)) if name.split("/")[0] in ("images", "thumbnails", "heatmaps")
    }


@pytest.mark.parametrize(
    ("fields", "shared"),
    [
        ({}, False),
        ({"share": "false"}, False),
        ({"share": "0"}, False),
        ({"share": "true"}, True),
        ({"share": "1"}, True),
        ({"share": "on"}, True),
    ],
)
def test_it_shares_only_when_asked(uploader, fields, shared):
    response = post_photo(uploader.client, **fields)
    assert response.status_code == 202
    assert response.json()["shared"] is shared
    upload = Upload.objects.get()
    assert (upload.shared, upload.image.shared, upload.image.excluded or not shared) == (shared, shared, True)
    assert Voter.objects.get(key=uploader.key).shares_uploads is shared


@pytest.mark.parametrize("value", ["yes", "TRUE", "off", "", "2"])
def test_it_refuses_any_other_share_value_and_stores_nothing(uploader, media_root, value):
    response = post_photo(uploader.client, share=value)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "share" in response.json()["detail"]
    assert not Upload.objects.exists() and not Image.objects.exists()
    assert files_under(Path(media_root)) == set()


def test_it_keeps_an_unshared_photo_off_the_public_storage(uploader, media_root, active_model, run_on_commit):
    with run_on_commit(execute=True):
        body = post_photo(uploader.client).json()
    upload = Upload.objects.select_related("image").get(pk=body["id"])
    assert upload.status == Upload.Status.DONE and upload.heatmap
    assert public_files(media_root) == set()
    names = {upload.image.file.name, upload.image.thumbnail.name, upload.heatmap.name}
    assert all(name.startswith("unshared/") for name in names)
    assert names <= files_under(Path(media_root))
    detail = uploader.client.get(f"{URL}{upload.pk}/").json()
    for key in ("image_url", "thumbnail_url", "heatmap_url"):
        assert "/media/" not in detail[key] and detail[key].startswith(f"http://testserver/uploads/{upload.pk}/")


def test_it_serves_an_unshared_upload_to_its_uploader_alone(uploader, active_model, run_on_commit):
    with run_on_commit(execute=True):
        body = post_photo(uploader.client).json()
    urls = [body["image_url"], body["thumbnail_url"], uploader.client.get(f"{URL}{body['id']}/").json()["heatmap_url"]]
    for url in urls:
        mine = uploader.client.get(url)
        assert mine.status_code == 200 and mine["Content-Type"] in ("image/jpeg", "image/png")
        assert "no-store" in mine["Cache-Control"] and mine["Content-Disposition"].startswith("inline")
        assert b"".join(mine.streaming_content)[:2] in (b"\xff\xd8", b"\x89P")
    other_voter = APIClient()
    other_voter.get("/api/quiz/round/")  # has a voter cookie of their own
    for client in (other_voter, APIClient(), Client()):
        for url in urls:
            assert client.get(url).status_code == 404
        assert client.get(f"{URL}{body['id']}/").status_code == 404
        assert client.get(f"/upload/{body['id']}/").status_code == 404
    assert uploader.client.get(f"/uploads/{body['id']}/secrets/").status_code == 404


def test_it_hands_private_files_to_the_proxy_in_production(uploader, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/_protected/"
    body = post_photo(uploader.client).json()
    response = uploader.client.get(body["image_url"])
    name = Upload.objects.get(pk=body["id"]).image.file.name
    # Caddy's /_protected/ root is MEDIA_ROOT, where the private storage keeps unshared/ locally.
    assert response["X-Accel-Redirect"] == f"/_protected/{name}" and name.startswith("unshared/images/")


def test_it_moves_the_files_when_the_uploader_shares_and_unshares(
    uploader, media_root, settings, active_model, run_on_commit
):
    settings.UPLOAD_MODERATION = "post"
    with run_on_commit(execute=True):
        body = post_photo(uploader.client).json()
    with run_on_commit(execute=True):
        response = uploader.client.post(f"{URL}{body['id']}/share/", {"shared": True}, format="json")
    assert response.status_code == 200 and response.json()["shared"] is True
    assert "/media/heatmaps/" in response.json()["heatmap_url"] and "/media/images/" in response.json()["image_url"]
    image = Image.objects.get()
    assert (image.shared, image.excluded) == (True, False)
    assert not any(name.startswith("unshared/") for name in files_under(Path(media_root)))
    assert Client().get(response.json()["image_url"].removeprefix("http://testserver")).status_code in (200, 404)

    with run_on_commit(execute=True):
        response = uploader.client.post(f"{URL}{body['id']}/share/", {"shared": False}, format="json")
    assert response.json()["shared"] is False
    image.refresh_from_db()
    assert (image.shared, image.excluded) == (False, True)
    assert public_files(media_root) == set()
    assert uploader.client.get(response.json()["image_url"]).status_code == 200


def test_it_lets_no_one_else_share_an_upload(uploader):
    body = post_photo(uploader.client).json()
    stranger = APIClient()
    response = stranger.post(f"{URL}{body['id']}/share/", {"shared": True}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert uploader.client.post(f"{URL}{body['id']}/share/", {"shared": "maybe"}, format="json").status_code == 400
    assert Upload.objects.get().shared is False


def test_it_keeps_the_photo_shared_while_any_of_its_uploads_is():
    data = jpeg_bytes()
    first = upload_create(data=data, uploader_key=uuid.uuid4(), shared=True)
    second = upload_create(data=data, uploader_key=uuid.uuid4(), shared=False)
    assert first.image_id == second.image_id and Image.objects.get().shared
    upload_share(upload_id=first.pk, voter_key=first.uploader_key, shared=False)
    assert not Image.objects.get().shared
    upload_share(upload_id=second.pk, voter_key=second.uploader_key, shared=True)
    assert Image.objects.get().shared


def test_it_never_unshares_an_imported_photo(media_root, settings):
    data = jpeg_bytes()
    cleaned = clean_photo(data, max_pixels=settings.IMAGE_MAX_PIXELS, max_side=settings.UPLOAD_MAX_SIDE)
    imported = image_import(data=cleaned.data, split=Split.TRAIN, label=None, expert=False).image
    upload = upload_create(data=data, uploader_key=uuid.uuid4())
    assert upload.image_id == imported.pk
    upload_share(upload_id=upload.pk, voter_key=upload.uploader_key, shared=False)
    assert Image.objects.get().shared and public_files(media_root)


@pytest.mark.parametrize(
    ("mode", "moderation"), [("pre", Moderation.PENDING), ("post", Moderation.APPROVED), ("off", Moderation.APPROVED)]
)
def test_it_starts_a_new_photo_with_the_moderation_the_settings_ask(settings, mode, moderation):
    settings.UPLOAD_MODERATION = mode
    image = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True).image
    image.refresh_from_db()
    assert image.moderation == moderation and image.excluded is (moderation != Moderation.APPROVED)
    # Sharing and unsharing never decide moderation.
    upload = Upload.objects.get()
    upload_share(upload_id=upload.pk, voter_key=upload.uploader_key, shared=False)
    upload_share(upload_id=upload.pk, voter_key=upload.uploader_key, shared=True)
    assert Image.objects.get().moderation == moderation


def test_it_passes_the_forms_share_through_without_javascript(client):
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "on"})
    assert [upload.shared for upload in Upload.objects.order_by("created_at")] == [False, True]
    response = client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "perhaps"})
    assert response.status_code == 400 and Upload.objects.count() == 2


def test_it_offers_the_voters_last_answer(client):
    assert client.get("/upload/").context["share"] is False
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "share": "on"})
    assert client.get("/upload/").context["share"] is True


def test_it_shares_from_the_result_page_without_javascript(client):
    client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    upload = Upload.objects.get()
    page = client.get(f"/upload/{upload.pk}/").content.decode()
    assert f'action="/upload/{upload.pk}/share/"' in page and f'action="/upload/{upload.pk}/delete/"' in page
    response = client.post(f"/upload/{upload.pk}/share/", {"shared": "true"})
    assert response.status_code == 302 and Upload.objects.get().shared
    assert Client().post(f"/upload/{upload.pk}/share/", {"shared": "false"}).status_code == 404
    assert Upload.objects.get().shared
