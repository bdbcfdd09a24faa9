import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from factories import make_image
from quiz.models import Image, Vote, Voter

pytestmark = pytest.mark.django_db
URL = "/api/quiz/round/"


@pytest.fixture
def pool():
    return [make_image(label=None) for _ in range(8)]


def submit(client, token, ticked, **extra):
    return client.post(URL, {"round": token, "corrosion": ticked}, format="json", **extra)


def test_it_serves_a_round_with_question_token_and_four_images(api_client, pool):
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == "Please select the images in which you see any signs of corrosion."
    assert body["wording"] == "any"
    assert len(body["images"]) == 4
    assert all(img["url"].startswith("http://testserver/media/images/") for img in body["images"])
    assert isinstance(body["round"], str) and body["round"]


def test_it_sets_a_signed_httponly_voter_cookie(api_client, pool):
    response = api_client.get(URL)
    cookie = response.cookies[django_settings.VOTER_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert ":" in cookie.value  # signed value, not a bare key
    # The cookie is issued once; later responses leave it alone.
    assert django_settings.VOTER_COOKIE_NAME not in api_client.get(URL).cookies


def test_it_records_a_round_and_answers_201(api_client, pool):
    body = api_client.get(URL).json()
    ticked = [body["images"][0]["id"], body["images"][3]["id"]]
    response = submit(api_client, body["round"], ticked)
    assert response.status_code == 201
    assert response.json() == {"recorded": 4, "votes_cast": 4, "feedback": []}
    assert Vote.objects.filter(corrosion=True).count() == 2
    assert Vote.objects.filter(corrosion=False).count() == 2


def test_it_needs_no_csrf_token(pool):
    client = APIClient(enforce_csrf_checks=True)
    body = client.get(URL).json()
    assert submit(client, body["round"], []).status_code == 201


def test_it_answers_409_to_a_replay_and_records_nothing(api_client, pool):
    body = api_client.get(URL).json()
    assert submit(api_client, body["round"], []).status_code == 201
    response = submit(api_client, body["round"], [body["images"][0]["id"]])
    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert Vote.objects.count() == 4


def test_it_answers_403_to_a_round_served_to_someone_else(pool):
    alice, mallory = APIClient(), APIClient()
    body = alice.get(URL).json()
    mallory.get(URL)  # mallory has a cookie of her own
    response = submit(mallory, body["round"], [])
    assert response.status_code == 403
    assert Vote.objects.count() == 0


def test_it_answers_400_to_a_forged_token(api_client, pool):
    api_client.get(URL)
    response = submit(api_client, "not-a-token", [])
    assert response.status_code == 400
    assert response.json()["code"] == "round_invalid"
    assert Vote.objects.count() == 0


def test_it_answers_400_to_an_expired_token(api_client, pool, settings):
    body = api_client.get(URL).json()
    settings.QUIZ_ROUND_MAX_AGE = -1
    response = submit(api_client, body["round"], [])
    assert response.status_code == 400
    assert response.json()["code"] == "round_expired"


def test_it_answers_400_to_ids_not_in_the_round(api_client, pool):
    body = api_client.get(URL).json()
    served = {img["id"] for img in body["images"]}
    other = next(i.id for i in pool if i.id not in served)
    assert submit(api_client, body["round"], [other]).status_code == 400
    assert Vote.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'{"round": "x"}',
        b'{"round": 5, "corrosion": "abc"}',
        b'{"corrosion": [1]}',
        b'{"round": "x", "corrosion": [-1]}',
    ],
)
def test_it_answers_400_to_malformed_input(api_client, pool, payload):
    api_client.get(URL)
    response = api_client.post(URL, payload, content_type="application/json")
    assert response.status_code == 400
    assert {"detail", "code"} <= set(response.json())
    assert Vote.objects.count() == 0


def test_it_serves_an_empty_round_when_the_voter_has_seen_everything(api_client):
    make_image(label=None)
    body = api_client.get(URL).json()
    assert submit(api_client, body["round"], []).status_code == 201
    assert api_client.get(URL).json()["images"] == []


def test_it_stores_only_a_keyed_hash_of_the_address(api_client, pool):
    body = api_client.get(URL, REMOTE_ADDR="203.0.113.9").json()
    submit(api_client, body["round"], [], REMOTE_ADDR="203.0.113.9")
    voter = Voter.objects.get()
    assert voter.ip_hash and "203.0.113.9" not in voter.ip_hash
    assert len(voter.ip_hash) == 64
    for image in Image.objects.all():
        assert "203.0.113.9" not in str(image.__dict__)


def test_it_remembers_the_voters_expertise(api_client):
    assert api_client.get("/api/quiz/voter/").json() == {"expertise": "", "votes_cast": 0}
    response = api_client.put("/api/quiz/voter/", {"expertise": "professional"}, format="json")
    assert response.status_code == 200
    assert api_client.get("/api/quiz/voter/").json()["expertise"] == "professional"
    assert api_client.put("/api/quiz/voter/", {"expertise": "guru"}, format="json").status_code == 400


def test_it_gives_each_round_image_its_thumbnail(api_client, pool):
    images = api_client.get(URL).json()["images"]
    stored = {image.pk: image for image in Image.objects.all()}
    for served in images:
        image = stored[served["id"]]
        assert served["url"] == f"http://testserver{image.file.url}"
        assert served["thumbnail_url"] == f"http://testserver{image.thumbnail.url}"
        assert served["thumbnail_url"].startswith("http://testserver/media/thumbnails/")
        assert (served["thumbnail_width"], served["thumbnail_height"]) == (
            image.thumbnail_width,
            image.thumbnail_height,
        )


def test_it_gives_the_full_photo_as_thumbnail_of_an_image_without_one(api_client, pool):
    Image.objects.update(thumbnail="", thumbnail_width=None, thumbnail_height=None)
    for served in api_client.get(URL).json()["images"]:
        assert served["thumbnail_url"] == served["url"]
        assert (served["thumbnail_width"], served["thumbnail_height"]) == (64, 48)
