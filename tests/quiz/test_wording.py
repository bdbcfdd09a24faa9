"""QUIZ_WORDING: the paper's question or its recommended rephrasing, and every vote records which it answered."""

import re
import uuid

import pytest
from django.core import signing

from factories import make_image
from quiz.identity import voter_cookie_value
from quiz.models import Vote, Wording
from quiz.rounds import round_token_make, round_token_read
from quiz.services.votes import vote_cast, vote_set

pytestmark = pytest.mark.django_db
ANY = "Please select the images in which you see any signs of corrosion."
REPAIR = "Please select the images that show steel corrosion that you would recommend be repaired."


@pytest.fixture
def pool():
    return [make_image(label=None) for _ in range(8)]


def served(html: str) -> tuple[str, list[int]]:
    token = re.search(r'name="round" value="([^"]+)"', html).group(1)
    return token, [int(v) for v in re.findall(r'name="corrosion" value="(\d+)"', html)]


def test_it_asks_the_papers_question_by_default_and_records_it(client, pool):
    html = client.get("/").content.decode()
    assert ANY in html and REPAIR not in html
    token, ids = served(html)
    client.post("/", {"round": token, "corrosion": [ids[0]]})
    assert list(Vote.objects.values_list("wording", flat=True)) == [Wording.ANY] * 4


def test_it_asks_the_repair_wording_when_set_and_records_it(client, pool, settings):
    settings.QUIZ_WORDING = "repair"
    html = client.get("/").content.decode()
    assert REPAIR in html and ANY not in html
    token, ids = served(html)
    client.post("/", {"round": token, "corrosion": [ids[0]]})
    assert set(Vote.objects.values_list("wording", flat=True)) == {Wording.REPAIR}
    assert Vote.objects.count() == 4


def test_it_records_the_wording_the_round_was_shown_with_even_if_the_setting_changed(client, pool, settings):
    token, ids = served(client.get("/").content.decode())  # shown "any"
    settings.QUIZ_WORDING = "repair"
    client.post("/", {"round": token, "corrosion": []})
    assert set(Vote.objects.values_list("wording", flat=True)) == {Wording.ANY}


def test_it_gives_the_wording_and_its_question_in_the_api(api_client, pool, settings):
    settings.QUIZ_WORDING = "repair"
    body = api_client.get("/api/quiz/round/").json()
    assert (body["wording"], body["question"]) == ("repair", REPAIR)
    settings.QUIZ_WORDING = "any"
    response = api_client.post("/api/quiz/round/", {"round": body["round"], "corrosion": []}, format="json")
    assert response.status_code == 201
    assert set(Vote.objects.values_list("wording", flat=True)) == {Wording.REPAIR}


def test_it_reads_a_token_signed_before_wordings_were_recorded_as_the_original_question(pool):
    key = uuid.uuid4()
    ids = [image.id for image in pool[:4]]
    old = signing.dumps({"v": key.hex, "i": ids}, salt="quiz.round", compress=True)
    assert round_token_read(old, max_age=60).wording == Wording.ANY
    vote_cast(voter_key=key, round_token=old, corrosion_ids=[])
    assert set(Vote.objects.values_list("wording", flat=True)) == {Wording.ANY}


def test_it_refuses_a_token_naming_an_unknown_wording(api_client, pool, settings):
    key = uuid.uuid4()
    api_client.cookies[settings.VOTER_COOKIE_NAME] = voter_cookie_value(key)
    forged = signing.dumps({"v": key.hex, "i": [pool[0].id], "w": "rust"}, salt="quiz.round", compress=True)
    response = api_client.post("/api/quiz/round/", {"round": forged, "corrosion": []}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "round_invalid"
    assert not Vote.objects.exists()


def test_it_round_trips_the_wording_in_the_signed_token():
    key = uuid.uuid4()
    assert round_token_read(round_token_make(voter_key=key, image_ids=[1], wording="repair"), max_age=60).wording == (
        "repair"
    )


def test_it_records_an_uploaders_correction_as_the_any_wording(pool):
    vote = vote_set(voter_key=uuid.uuid4(), image_id=pool[0].id, corrosion=True)
    assert Vote.objects.get(pk=vote.pk).wording == Wording.ANY
