"""/me/: a volunteer's own part, recognised by the voter cookie; every figure checked against votes made here."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from factories import VoteFactory, VoterFactory, make_image, make_model_version
from modelzoo.selectors import model_versions_trained_by
from quiz.identity import voter_cookie_value
from quiz.models import Label, Split
from quiz.selectors import voter_record

pytestmark = pytest.mark.django_db
VOTED_AT = timezone.make_aware(dt.datetime(2026, 11, 10, 12, 0))


@pytest.fixture
def volunteer_votes():
    """Five answers: three on expert-labelled photos (two agree), one on a photo the crowd has labelled."""
    voter = VoterFactory()
    gold_yes = make_image(split=Split.VALIDATION, label=Label.CORROSION)
    gold_no = make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    train_expert = make_image(label=Label.CORROSION, expert=True)
    crowd_labelled = make_image(label=None, votes_yes=5, vote_count=5)
    unlabelled = make_image(label=None)
    answers = [(gold_yes, True), (gold_no, True), (train_expert, True), (crowd_labelled, True), (unlabelled, False)]
    for image, corrosion in answers:
        VoteFactory(voter=voter, image=image, corrosion=corrosion, created_at=VOTED_AT)
    # Someone else's answers never count.
    VoteFactory(image=gold_no, corrosion=False, created_at=VOTED_AT)
    VoteFactory(image=make_image(label=None, votes_yes=5, vote_count=5), created_at=VOTED_AT)
    return voter, {"train": [train_expert, crowd_labelled, unlabelled], "gold": [gold_yes, gold_no]}


def test_it_counts_answers_gold_agreement_and_photos_labelled(volunteer_votes):
    voter, _ = volunteer_votes
    record = voter_record(key=voter.key)
    assert (record.votes, record.gold_answered, record.gold_agreed, record.photos_labelled) == (5, 3, 2, 1)
    assert record.gold_agreement == pytest.approx(2 / 3)
    assert record.first_vote_at == VOTED_AT


def test_it_finds_the_versions_whose_training_photos_the_voter_had_voted_on(volunteer_votes):
    voter, images = volunteer_votes
    train_ids = [image.id for image in images["train"]]
    after = VOTED_AT + dt.timedelta(hours=1)
    # v1 read its data before the votes were cast: the votes cannot have trained it.
    make_model_version(
        version=1, val_accuracy=0.7, data_snapshot_at=VOTED_AT - dt.timedelta(hours=1), train_image_ids=train_ids
    )
    # v2 trained on two of the voter's photos (and one of nobody's).
    other = make_image(label=Label.CORROSION)
    make_model_version(version=2, val_accuracy=0.8, data_snapshot_at=after, train_image_ids=[*train_ids[:2], other.id])
    # v3 trained on none of them.
    make_model_version(version=3, val_accuracy=0.85, data_snapshot_at=after, train_image_ids=[other.id])
    # v4 recorded no ids (an old version): approximated by the training photos voted on before its data was read.
    make_model_version(version=4, val_accuracy=0.9, data_snapshot_at=after)
    found = model_versions_trained_by(voter_key=voter.key)
    assert [(row.version, row.photos, row.approximate) for row in found] == [(2, 2, False), (4, 3, True)]
    assert found[0].val_accuracy == 0.8


def test_it_finds_no_versions_for_a_voter_without_votes():
    make_model_version(version=1, val_accuracy=0.7, train_image_ids=[make_image().id])
    assert model_versions_trained_by(voter_key=uuid.uuid4()) == []


def test_it_shows_the_figures_to_the_voter_whose_cookie_it_is(client, volunteer_votes):
    voter, images = volunteer_votes
    make_model_version(
        version=1,
        val_accuracy=0.812,
        data_snapshot_at=VOTED_AT + dt.timedelta(hours=1),
        created_at=VOTED_AT + dt.timedelta(hours=2),
        train_image_ids=[image.id for image in images["train"]],
    )
    client.cookies[django_settings.VOTER_COOKIE_NAME] = voter_cookie_value(voter.key)
    html = client.get("/me/").content.decode()
    assert '<dd class="me-votes">5</dd>' in html
    assert "2 of 3 photos the experts labelled (67 %)" in html
    assert "1 photo you voted on now has a crowd label" in html
    rows = re.findall(r"<tr><th scope=\"row\">(v\d+)</th><td>(\d+)</td><td>([^<]+)</td>", html)
    assert rows == [("v1", "3", "81.2 %")]


def test_it_shows_a_new_visitor_how_to_start_and_no_one_elses_figures(client, volunteer_votes):
    html = client.get("/me/").content.decode()
    assert "You have not answered any quiz questions in this browser yet." in html
    assert "me-votes" not in html
    assert django_settings.VOTER_COOKIE_NAME in client.cookies  # a key issued on first use, as the quiz does


def test_it_says_when_no_expert_labelled_photo_was_answered(client):
    voter = VoterFactory()
    VoteFactory(voter=voter, image=make_image(label=None))
    client.cookies[django_settings.VOTER_COOKIE_NAME] = voter_cookie_value(voter.key)
    html = client.get("/me/").content.decode()
    assert "None of your photos had an expert label yet." in html
    assert "No model has trained on your answers yet" in html
