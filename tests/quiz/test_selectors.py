import random
import uuid
from collections import Counter

import pytest

from factories import make_image
from quiz.models import Image, Split
from quiz.rounds import round_token_make
from quiz.selectors import round_images_select
from quiz.services import vote_cast

pytestmark = pytest.mark.django_db


def take_round(key, rng=None, tick=()):
    images = round_images_select(voter_key=key, rng=rng)
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    vote_cast(voter_key=key, round_token=token, corrosion_ids=[i.id for i in images if i.id in tick])
    return images


def test_it_serves_four_distinct_images():
    for _ in range(10):
        make_image(label=None)
    images = round_images_select(voter_key=uuid.uuid4())
    assert len(images) == 4
    assert len({i.id for i in images}) == 4


def test_it_never_serves_an_image_the_voter_already_voted_on():
    for _ in range(12):
        make_image(label=None)
    key = uuid.uuid4()
    seen = []
    for _ in range(3):
        seen += [i.id for i in take_round(key)]
    assert len(seen) == len(set(seen)) == 12
    assert round_images_select(voter_key=key) == []


def test_it_serves_images_short_of_the_threshold_first(settings):
    settings.QUIZ_MIN_VOTES = 5
    labelled = [make_image(label=None, votes_yes=5, vote_count=5) for _ in range(6)]
    unlabelled = [make_image(label=None, votes_yes=2, vote_count=2) for _ in range(4)]
    images = round_images_select(voter_key=uuid.uuid4())
    assert {i.id for i in images} == {i.id for i in unlabelled}
    assert not {i.id for i in images} & {i.id for i in labelled}


def test_it_spreads_votes_evenly_across_the_pool(settings):
    settings.QUIZ_MIN_VOTES = 5
    for _ in range(20):
        make_image(label=None)
    rng = random.Random(1)
    for _ in range(25):  # 100 votes over 20 images: exactly 5 each if spread evenly
        take_round(uuid.uuid4(), rng=rng)
    counts = Counter(Image.objects.values_list("vote_count", flat=True))
    assert counts == {5: 20}


def test_it_falls_back_to_labelled_images_when_nothing_else_is_left(settings):
    settings.QUIZ_MIN_VOTES = 5
    make_image(label=None, votes_yes=1, vote_count=1)
    labelled = [make_image(label=None, votes_yes=5 + n, vote_count=5 + n) for n in range(5)]
    images = round_images_select(voter_key=uuid.uuid4())
    assert len(images) == 4
    served_labelled = {i.id for i in images} & {i.id for i in labelled}
    # Lower priority among labelled images goes to those with fewest votes.
    assert served_labelled == {i.id for i in labelled[:3]}


def test_it_mixes_in_labelled_and_gold_images_at_the_configured_rates(settings):
    settings.QUIZ_GOLD_RATE = 1.0
    settings.QUIZ_SHARPEN_RATE = 1.0
    gold = make_image(split=Split.VALIDATION)
    sharpen = make_image(label=None, votes_yes=5, vote_count=5)
    for _ in range(6):
        make_image(label=None)
    ids = {i.id for i in round_images_select(voter_key=uuid.uuid4())}
    assert gold.id in ids and sharpen.id in ids
    assert len(ids) == 4


def test_it_never_serves_gold_when_the_rate_is_zero(settings):
    settings.QUIZ_GOLD_RATE = 0.0
    gold = make_image(split=Split.VALIDATION)
    for _ in range(6):
        make_image(label=None)
    for seed in range(10):
        assert gold.id not in {i.id for i in round_images_select(voter_key=uuid.uuid4(), rng=random.Random(seed))}


def test_it_never_serves_excluded_images():
    keep = [make_image(label=None) for _ in range(3)]
    make_image(label=None, excluded=True)
    assert {i.id for i in round_images_select(voter_key=uuid.uuid4())} == {i.id for i in keep}


def test_it_does_not_order_the_table_randomly():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(6):
        make_image(label=None)
    with CaptureQueriesContext(connection) as queries:
        round_images_select(voter_key=uuid.uuid4())
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "RANDOM()" not in sql and "ORDER BY ?" not in sql
