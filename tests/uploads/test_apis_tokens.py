"""The uploads API called by a script with `Authorization: Token <key>` (DRF's token authentication)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from factories import jpeg_bytes
from quiz.models import Vote
from uploads.identity import token_voter_key
from uploads.models import Upload

pytestmark = pytest.mark.django_db
URL = "/api/uploads/"


def script(username: str) -> APIClient:
    """A client that sends a fresh token of a new user, and no cookie."""
    user = User.objects.create_user(username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client


def post_photo(client, **fields):
    return client.post(URL, {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), **fields}, format="multipart")


def test_it_takes_a_token_upload_as_the_users_own_and_unshared():
    alice = script("alice")
    response = post_photo(alice)
    assert response.status_code == 202
    upload = Upload.objects.get(pk=response.json()["id"])
    assert upload.uploader_key == token_voter_key(alice.user)
    assert upload.shared is False
    # A script is no browser: it is not handed a voter cookie.
    assert settings.VOTER_COOKIE_NAME not in response.cookies


@pytest.mark.parametrize(("share", "shared"), [("true", True), ("false", False)])
def test_it_shares_a_token_upload_only_when_asked(share, shared):
    response = post_photo(script("alice"), share=share)
    assert response.status_code == 202
    assert Upload.objects.get(pk=response.json()["id"]).shared is shared


def test_it_answers_400_to_a_share_that_is_not_true_or_false(media_root):
    response = post_photo(script("alice"), share="perhaps")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and response.json()["detail"].startswith("share:")
    assert not Upload.objects.exists()


def test_it_shows_an_unshared_upload_to_its_token_user_and_no_one_else():
    alice, bob = script("alice"), script("bob")
    upload_id = post_photo(alice).json()["id"]
    mine = alice.get(f"{URL}{upload_id}/")
    assert mine.status_code == 200 and mine.json()["id"] == upload_id
    assert bob.get(f"{URL}{upload_id}/").status_code == 404
    assert APIClient().get(f"{URL}{upload_id}/").status_code == 404


def test_it_shows_a_shared_token_upload_to_anyone():
    upload_id = post_photo(script("alice"), share="true").json()["id"]
    assert script("bob").get(f"{URL}{upload_id}/").status_code == 200


def test_it_keeps_the_users_uploads_theirs_after_the_token_is_rotated():
    alice = script("alice")
    upload_id = post_photo(alice).json()["id"]
    Token.objects.filter(user=alice.user).delete()
    alice.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice.user).key}")
    assert alice.get(f"{URL}{upload_id}/").status_code == 200


def test_it_lets_the_token_user_correct_their_upload_and_no_other_token_user():
    alice, bob = script("alice"), script("bob")
    upload_id = post_photo(alice).json()["id"]
    url = f"{URL}{upload_id}/correction/"
    # Unshared: to bob the upload does not exist.
    assert bob.post(url, {"corrosion": True}, format="json").status_code == 404
    response = alice.post(url, {"corrosion": False}, format="json")
    assert response.status_code == 200 and response.json()["corrected_label"] == "no_corrosion"
    assert Vote.objects.get().voter.key == token_voter_key(alice.user)


@pytest.mark.parametrize("header", ["Token not-a-key", "Token ", "Token a b"])
def test_it_answers_401_to_a_wrong_token_on_every_uploads_endpoint(header, uploader):
    upload_id = post_photo(uploader.client).json()["id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    responses = [
        post_photo(client),
        client.get(f"{URL}{upload_id}/"),
        client.post(f"{URL}{upload_id}/correction/", {"corrosion": True}, format="json"),
    ]
    for response in responses:
        assert response.status_code == 401
        assert set(response.json()) == {"detail", "code"}
        assert response["WWW-Authenticate"] == "Token"
    assert Upload.objects.count() == 1 and not Vote.objects.exists()


def test_it_answers_401_to_the_token_of_a_deactivated_user():
    alice = script("alice")
    User.objects.filter(pk=alice.user.pk).update(is_active=False)
    response = post_photo(alice)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert not Upload.objects.exists()


def test_it_limits_uploads_per_token_in_a_bucket_of_each_tokens_own(settings, fake_clock):
    from quiz import throttles

    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 5
    settings.UPLOAD_RATE_PER_TOKEN = 2
    alice, bob = script("alice"), script("bob")
    codes = [post_photo(alice).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    refused = post_photo(alice)
    assert refused.json()["code"] == "throttled" and refused["Retry-After"] == str(throttles.WINDOW_SECONDS - 5)
    assert post_photo(bob).status_code == 202
    assert Upload.objects.count() == 3


def test_it_counts_token_uploads_against_the_token_not_the_address_or_voter(settings, fake_clock):
    from quiz import throttles

    fake_clock(throttles).now = 2000 * throttles.WINDOW_SECONDS
    settings.UPLOAD_RATE_PER_IP = 1
    settings.UPLOAD_RATE_PER_VOTER = 1
    settings.UPLOAD_RATE_PER_TOKEN = 5
    alice = script("alice")
    assert [post_photo(alice, REMOTE_ADDR="192.0.2.77").status_code for _ in range(3)] == [202, 202, 202]


def test_it_tells_a_wrong_token_apart_from_no_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert post_photo(client).json() == {"detail": "Invalid token.", "code": "authentication_failed"}
    assert post_photo(APIClient()).status_code == 202


def test_it_opens_the_staff_apis_to_a_token_with_its_users_rights(researcher, volunteer):
    def models_api(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client.get("/api/models/").status_code

    assert (models_api(researcher), models_api(volunteer)) == (200, 403)
