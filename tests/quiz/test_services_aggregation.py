"""Crowd labels on the live site: majority by default, reliability-weighted when configured."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from corrosiondetector.celery import app
from factories import make_image
from quiz.apps import REAGGREGATE_SCHEDULE_NAME, ensure_reaggregate_schedule
from quiz.models import CrowdAggregation, Image, Label, LabelSource, Split, Voter
from quiz.rounds import round_token_make
from quiz.services.relabel import crowd_labels_reaggregate
from quiz.services.votes import vote_cast, vote_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def weighted(settings):
    settings.QUIZ_AGGREGATION = "weighted"
    settings.QUIZ_MIN_VOTES = 5
    settings.QUIZ_MIN_VOTES_CONFIDENT = 3
    settings.QUIZ_LABEL_CONFIDENCE = 0.95
    return settings


def vote(image_ids, *, ticked=(), key=None):
    key = key or uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=list(image_ids))
    return vote_cast(voter_key=key, round_token=token, corrosion_ids=[i for i in image_ids if i in ticked])


def test_majority_is_the_default_and_waits_for_five_votes(settings):
    assert settings.QUIZ_AGGREGATION == "majority"
    image = make_image(label=None)
    for _ in range(4):
        result = vote([image.id], ticked=[image.id])
    image.refresh_from_db()
    assert image.crowd_label is None and result.newly_labelled == []
    result = vote([image.id], ticked=[image.id])
    image.refresh_from_db()
    assert image.crowd_label == Label.CORROSION and result.newly_labelled == [image.id]
    assert image.crowd_confidence is None  # majority voting has no posterior


def test_weighted_labels_an_image_at_three_unanimous_votes(weighted):
    image, other = make_image(label=None), make_image(label=None)
    for _ in range(2):
        assert vote([image.id, other.id], ticked=[image.id]).newly_labelled == []
    result = vote([image.id, other.id], ticked=[image.id])
    assert sorted(result.newly_labelled) == sorted([image.id, other.id])
    image.refresh_from_db()
    other.refresh_from_db()
    # Three typical voters (0.8 either way), even prior: 4^3 to 1.
    assert (image.crowd_label, image.crowd_confidence) == (Label.CORROSION, pytest.approx(64 / 65, abs=1e-4))
    assert (other.crowd_label, image.effective_label, image.label_source) == (
        Label.NO_CORROSION,
        Label.CORROSION,
        LabelSource.CROWD,
    )


def test_weighted_waits_for_the_threshold_when_votes_split(weighted):
    image = make_image(label=None)
    for ticked in (True, True, False):
        vote([image.id], ticked=[image.id] if ticked else [])
    image.refresh_from_db()
    assert image.vote_count == 3 and image.crowd_label is None and image.crowd_confidence is None
    vote([image.id], ticked=[image.id])
    vote([image.id], ticked=[])
    image.refresh_from_db()
    # 3-2 at the threshold: the likelier side, however unsure.
    assert image.crowd_label == Label.CORROSION
    assert image.crowd_confidence == pytest.approx(0.8, abs=1e-4)


def test_weighted_reads_an_unreliable_voters_tick_as_evidence_against(weighted):
    image = make_image(label=None)
    liars = [uuid.uuid4() for _ in range(3)]
    for key in liars:
        Voter.objects.create(key=key, sensitivity=0.05, specificity=0.05)
        vote([image.id], ticked=[image.id], key=key)
    image.refresh_from_db()
    assert image.crowd_label == Label.NO_CORROSION and image.crowd_confidence > 0.99


def test_weighted_applies_to_an_uploaders_own_vote_too(weighted):
    image = make_image(label=None)
    for _ in range(2):
        vote([image.id], ticked=[])
    owner = uuid.uuid4()
    vote_set(voter_key=owner, image_id=image.id, corrosion=False)
    image.refresh_from_db()
    assert image.crowd_label == Label.NO_CORROSION
    vote_set(voter_key=owner, image_id=image.id, corrosion=True)  # changes their mind: 2-1, undecided
    image.refresh_from_db()
    assert (image.vote_count, image.crowd_label, image.crowd_confidence) == (3, None, None)


def gold_and_liars(*, n_gold=10, n_liars=3, n_honest=2):
    """Gold questions the liars all get wrong, and one training image the liars outvote."""
    gold = [
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
        for i in range(n_gold)
    ]
    truth_yes = {g.id for g in gold if g.expert_label == Label.CORROSION}
    target = make_image(label=None)  # truly shows corrosion
    liars, honest = [uuid.uuid4() for _ in range(n_liars)], [uuid.uuid4() for _ in range(n_honest)]
    for key in liars:
        vote([g.id for g in gold], ticked={g.id for g in gold} - truth_yes, key=key)
        vote([target.id], ticked=[], key=key)
    for key in honest:
        vote([g.id for g in gold], ticked=truth_yes, key=key)
        vote([target.id], ticked=[target.id], key=key)
    return target, liars, honest


def test_reaggregation_relabels_an_image_once_gold_reveals_the_adversaries(weighted):
    target, liars, honest = gold_and_liars()
    target.refresh_from_db()
    # Live, everyone is a typical voter: 3 "no" beat 2 "yes".
    assert target.crowd_label == Label.NO_CORROSION

    run = crowd_labels_reaggregate()
    target.refresh_from_db()
    assert target.crowd_label == Label.CORROSION and target.effective_label == Label.CORROSION
    assert target.crowd_confidence > 0.95
    assert run.images_relabelled >= 1 and run.gold_images == 10 and run.votes == 5 * 11
    for key in liars:
        voter = Voter.objects.get(key=key)
        assert voter.sensitivity < 0.5 and voter.specificity < 0.5 and voter.reliability_at is not None
    for key in honest:
        assert Voter.objects.get(key=key).sensitivity > 0.8
    # Gold images keep their expert label whatever the crowd says about them.
    assert set(Image.objects.filter(split=Split.VALIDATION).values_list("label_source", flat=True)) == {"expert"}


def test_the_next_vote_uses_the_stored_reliabilities(weighted):
    target, liars, _ = gold_and_liars()
    crowd_labels_reaggregate()
    fresh = make_image(label=None)
    for key in liars:  # the known adversaries all say "no corrosion"
        vote([fresh.id], ticked=[], key=key)
    fresh.refresh_from_db()
    assert fresh.crowd_label == Label.CORROSION and fresh.crowd_confidence > 0.95


def test_reaggregation_writes_nothing_when_nothing_changed(weighted):
    gold_and_liars()
    crowd_labels_reaggregate()
    with CaptureQueriesContext(connection) as queries:
        second = crowd_labels_reaggregate()
    assert second.images_relabelled == 0 and second.voters_updated == 0
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert writes == []


def test_reaggregation_leaves_an_image_voted_on_meanwhile_to_the_vote_path(weighted):
    from quiz.services.relabel import _crowd_labels_write

    image = make_image(label=None)
    for _ in range(3):
        vote([image.id], ticked=[image.id])
    # Decided from a snapshot with 2 votes; the row has 3 by now.
    assert _crowd_labels_write([image.id], {image.id: (False, 0.99, 2)}) == 0
    image.refresh_from_db()
    assert image.crowd_label == Label.CORROSION


def test_reaggregation_with_no_votes_at_all(weighted):
    run = crowd_labels_reaggregate()
    assert (run.votes, run.voters, run.images_relabelled) == (0, 0, 0)


def test_the_reaggregation_task_runs_only_under_weighted_aggregation(settings):
    from quiz.tasks import crowd_labels_reaggregate as task

    gold_and_liars(n_gold=2)
    task.delay()
    assert not CrowdAggregation.objects.exists()
    settings.QUIZ_AGGREGATION = "weighted"
    task.delay()
    assert CrowdAggregation.objects.count() == 1


def test_the_reaggregation_is_scheduled_once_and_keeps_admin_edits():
    task = PeriodicTask.objects.get(name=REAGGREGATE_SCHEDULE_NAME)
    assert task.task == "quiz.tasks.crowd_labels_reaggregate" and task.queue == "default"
    assert task.interval.every == 30 and task.interval.period == "minutes"
    task.enabled = False
    task.save()
    ensure_reaggregate_schedule()
    assert PeriodicTask.objects.filter(name=REAGGREGATE_SCHEDULE_NAME).count() == 1
    assert PeriodicTask.objects.get(name=REAGGREGATE_SCHEDULE_NAME).enabled is False
    assert "quiz.tasks.crowd_labels_reaggregate" in app.tasks


def test_it_routes_scoring_to_the_inference_queue_and_reaggregation_to_default():
    router = app.amqp.router
    assert router.route({}, "quiz.tasks.images_score_unlabelled")["queue"].name == "inference"
    assert router.route({}, "quiz.tasks.crowd_labels_reaggregate")["queue"].name == "default"
