"""Feedback that teaches: after a round with a gold question, the next page says what the experts said."""

import re
import uuid

import pytest
from django.conf import settings as django_settings

from factories import make_image
from quiz.identity import voter_cookie_value
from quiz.models import Label, Split
from quiz.rounds import feedback_token_make

pytestmark = pytest.mark.django_db
NOTE = "Flaking rust on the flange: left alone it eats the section."


@pytest.fixture
def gold():
    """An expert-labelled validation photo with a note; with QUIZ_GOLD_RATE = 1 every round carries it."""
    for _ in range(6):
        make_image(label=None)
    return make_image(split=Split.VALIDATION, label=Label.CORROSION, expert_note=NOTE)


@pytest.fixture(autouse=True)
def _gold_rate(settings):
    settings.QUIZ_GOLD_RATE = 0.0


def served(html: str) -> tuple[str, list[int]]:
    token = re.search(r'name="round" value="([^"]+)"', html).group(1)
    return token, [int(v) for v in re.findall(r'name="corrosion" value="(\d+)"', html)]


def test_it_shows_what_the_experts_said_after_a_round_with_a_gold_question(client, gold, settings):
    settings.QUIZ_GOLD_RATE = 1.0
    token, ids = served(client.get("/").content.decode())
    assert gold.id in ids
    response = client.post("/", {"round": token, "corrosion": []})  # the gold photo left unticked
    assert response.status_code == 302 and "?feedback=" in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert "What the experts said about a photo you just answered" in html
    assert "Experts: it shows corrosion." in html and "You said: no corrosion." in html
    assert "The experts saw it differently." in html
    assert f"Why: {NOTE}" in html
    assert gold.display_url in html


def test_it_tells_a_voter_who_agreed_so_and_leaves_out_an_empty_note(client, gold, settings):
    settings.QUIZ_GOLD_RATE = 1.0
    gold.expert_note = ""
    gold.save(update_fields=["expert_note"])
    token, ids = served(client.get("/").content.decode())
    response = client.post("/", {"round": token, "corrosion": [gold.id]})
    html = client.get(response["Location"]).content.decode()
    assert "You said: corrosion." in html and "You agree with the experts." in html
    assert "Why:" not in html


def test_it_shows_no_feedback_after_a_round_without_a_gold_question(client, gold):
    token, ids = served(client.get("/").content.decode())
    assert gold.id not in ids
    response = client.post("/", {"round": token, "corrosion": []})
    assert response["Location"] == "/"
    assert "What the experts said" not in client.get("/").content.decode()


def test_it_shows_nothing_for_someone_elses_or_a_forged_feedback_link(client, gold):
    # The other voter answered the gold photo; this visitor's page must not show their answers.
    elsewhere = feedback_token_make(voter_key=uuid.uuid4(), image_ids=[gold.id])
    assert "What the experts said" not in client.get("/", {"feedback": elsewhere}).content.decode()
    assert "What the experts said" not in client.get("/", {"feedback": "forged"}).content.decode()


def test_it_shows_nothing_for_a_photo_the_voter_did_not_answer(client, gold):
    key = uuid.uuid4()
    client.cookies[django_settings.VOTER_COOKIE_NAME] = voter_cookie_value(key)
    link = feedback_token_make(voter_key=key, image_ids=[gold.id])  # signed for this voter, but no vote
    assert "What the experts said" not in client.get("/", {"feedback": link}).content.decode()


def test_it_returns_the_feedback_with_the_api_answer(api_client, gold, settings):
    settings.QUIZ_GOLD_RATE = 1.0
    served_round = api_client.get("/api/quiz/round/").json()
    assert gold.id in [image["id"] for image in served_round["images"]]
    response = api_client.post(
        "/api/quiz/round/", {"round": served_round["round"], "corrosion": [gold.id]}, format="json"
    )
    assert response.json()["feedback"] == [
        {"image_id": gold.id, "expert_label": "corrosion", "your_answer": "corrosion", "agreed": True, "note": NOTE}
    ]
