"""Under weighted aggregation a training run re-aggregates the crowd labels before reading its data."""

import uuid

import pytest

from factories import make_image
from modelzoo.services import training_run_execute, training_run_request
from quiz.models import CrowdAggregation, Label, Split
from quiz.rounds import round_token_make
from quiz.services.votes import vote_cast

pytestmark = pytest.mark.django_db
TINY = {"epochs": 1, "width": 4, "input_size": 32, "batch_size": 8, "progress": False}


def vote(image_ids, ticked, key):
    token = round_token_make(voter_key=key, image_ids=image_ids)
    vote_cast(voter_key=key, round_token=token, corrosion_ids=list(ticked))


@pytest.fixture
def outvoted_image(settings):
    """A training image three gold-revealed adversaries outvote live; plus a small labelled pool."""
    settings.QUIZ_AGGREGATION = "weighted"
    for i in range(8):
        make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    gold = [
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION) for i in range(8)
    ]
    yes = {g.id for g in gold if g.expert_label == Label.CORROSION}
    target = make_image(label=None)
    for _adversary in range(3):
        key = uuid.uuid4()
        vote([g.id for g in gold], {g.id for g in gold} - yes, key)
        vote([target.id], [], key)
    for _honest in range(2):
        key = uuid.uuid4()
        vote([g.id for g in gold], yes, key)
        vote([target.id], [target.id], key)
    target.refresh_from_db()
    assert target.crowd_label == Label.NO_CORROSION
    return target


def test_it_reaggregates_before_taking_the_training_data(outvoted_image):
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    version = training_run_execute(run_id=run.pk)
    outvoted_image.refresh_from_db()
    assert outvoted_image.crowd_label == Label.CORROSION
    aggregation = CrowdAggregation.objects.get()
    assert aggregation.created_at <= version.data_snapshot_at
    assert version.n_train_images == 9  # 8 imported + the relabelled one


def test_it_leaves_labels_alone_under_majority_voting(outvoted_image, settings):
    settings.QUIZ_AGGREGATION = "majority"
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    training_run_execute(run_id=run.pk)
    outvoted_image.refresh_from_db()
    assert outvoted_image.crowd_label == Label.NO_CORROSION
    assert not CrowdAggregation.objects.exists()
