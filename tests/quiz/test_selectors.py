import random
import uuid
from collections import Counter

import pytest

from factories import make_image
from quiz.models import Image, Label, Split
from quiz.rounds import round_token_make
from quiz.selectors import round_images_select
from quiz.services.votes import vote_cast

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


def test_it_finishes_images_nearest_to_a_label_first(settings):
    settings.QUIZ_MIN_VOTES = 5
    settings.QUIZ_GOLD_RATE = settings.QUIZ_SHARPEN_RATE = 0
    for _ in range(6):
        make_image(label=None)
    started = [make_image(label=None, votes_yes=2, votes_no=1, vote_count=3) for _ in range(2)]
    almost = [make_image(label=None, votes_yes=3, votes_no=1, vote_count=4) for _ in range(1)]
    # Stuck undecided at twice the threshold: no longer preferred.
    make_image(label=None, votes_yes=5, votes_no=5, vote_count=10)
    images = round_images_select(voter_key=uuid.uuid4())
    assert {i.vote_count for i in images} == {4, 3, 0}
    assert {i.id for i in almost + started} <= {i.id for i in images}


def test_it_labels_an_image_per_threshold_of_votes_instead_of_spreading_one_vote_each(settings):
    settings.QUIZ_MIN_VOTES = 5
    settings.QUIZ_GOLD_RATE = settings.QUIZ_SHARPEN_RATE = 0
    for _ in range(200):
        make_image(label=None)
    rng = random.Random(2)
    for _ in range(25):  # 100 votes
        take_round(uuid.uuid4(), rng=rng)
    assert Image.objects.filter(crowd_label__isnull=False).count() == 20


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


def test_it_prefers_images_without_any_label_over_imported_only_ones():
    imported = [make_image(label=Label.CORROSION) for _ in range(4)]
    bare = [make_image(label=None, votes_no=2, vote_count=2) for _ in range(3)]
    ids = {i.id for i in round_images_select(voter_key=uuid.uuid4())}
    # The bare images come first even with more votes; the fourth slot goes to an imported one.
    assert {i.id for i in bare} <= ids and len(ids & {i.id for i in imported}) == 1


def test_an_image_labelled_early_by_weighted_aggregation_stops_needing_votes(settings):
    settings.QUIZ_AGGREGATION = "weighted"
    early = make_image(label=None)
    for _ in range(3):
        key = uuid.uuid4()
        token = round_token_make(voter_key=key, image_ids=[early.id])
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[early.id])
    early.refresh_from_db()
    assert early.crowd_label is not None and early.vote_count == 3
    others = [make_image(label=None, votes_yes=4, vote_count=4) for _ in range(4)]
    assert {i.id for i in round_images_select(voter_key=uuid.uuid4())} == {i.id for i in others}


def test_a_tie_at_the_threshold_still_needs_votes(settings):
    settings.QUIZ_MIN_VOTES = 4
    tie = make_image(label=None, votes_yes=2, votes_no=2, vote_count=4)
    assert tie.crowd_label is None
    for _ in range(6):
        make_image(label=None, votes_yes=4, vote_count=4)
    assert tie.id in {i.id for i in round_images_select(voter_key=uuid.uuid4())}


def scored(margin, **fields):
    image = make_image(label=None, **fields)
    Image.objects.filter(pk=image.pk).update(model_probability=0.5 + margin, model_margin=margin, model_version=1)
    return image


def test_uncertain_selection_serves_the_least_certain_images_first(settings):
    settings.QUIZ_SELECTION = "uncertain"
    settings.QUIZ_EXPLORE_RATE = 0.0
    images = [scored(m) for m in (0.4, 0.01, 0.3, 0.05, 0.2, 0.02, 0.45)]
    make_image(label=None)  # unscored: after every scored one
    for seed in range(5):
        ids = {i.id for i in round_images_select(voter_key=uuid.uuid4(), rng=random.Random(seed))}
        assert ids == {images[1].id, images[5].id, images[3].id, images[4].id}


def test_uncertain_selection_keeps_a_share_of_random_slots(settings):
    settings.QUIZ_SELECTION = "uncertain"
    settings.QUIZ_EXPLORE_RATE = 0.25
    uncertain = [scored(0.01 * n) for n in range(3)]
    sure = [scored(0.4 + 0.001 * n) for n in range(20)]
    served_sure = set()
    for seed in range(20):
        ids = {i.id for i in round_images_select(voter_key=uuid.uuid4(), rng=random.Random(seed))}
        assert {i.id for i in uncertain} <= ids  # round(4 * 0.75) = 3 least certain
        served_sure |= ids - {i.id for i in uncertain}
    assert served_sure <= {i.id for i in sure}
    assert len(served_sure) > 5  # the fourth slot explores, fewest votes first, at random


def test_uncertain_selection_fills_from_the_random_tier_when_few_are_scored(settings):
    settings.QUIZ_SELECTION = "uncertain"
    settings.QUIZ_EXPLORE_RATE = 0.0
    only = scored(0.3)
    unscored = [make_image(label=None) for _ in range(5)]
    ids = {i.id for i in round_images_select(voter_key=uuid.uuid4())}
    assert only.id in ids and len(ids & {i.id for i in unscored}) == 3


def test_uncertain_selection_ignores_scores_of_images_that_got_their_label(settings):
    settings.QUIZ_SELECTION = "uncertain"
    settings.QUIZ_EXPLORE_RATE = 0.0
    labelled = scored(0.0, votes_yes=5, vote_count=5)
    assert labelled.crowd_label is not None
    fresh = [scored(0.1 + 0.01 * n) for n in range(4)]
    assert {i.id for i in round_images_select(voter_key=uuid.uuid4())} == {i.id for i in fresh}


def test_uncertain_selection_never_serves_an_image_twice_to_a_voter(settings):
    settings.QUIZ_SELECTION = "uncertain"
    settings.QUIZ_EXPLORE_RATE = 0.0
    for n in range(8):
        scored(0.01 * n)
    key = uuid.uuid4()
    seen = [i.id for i in take_round(key)] + [i.id for i in take_round(key)]
    assert len(set(seen)) == 8


def test_it_serves_rounds_with_their_thumbnails_in_one_go(django_assert_num_queries):
    for _ in range(6):
        make_image(label=None)
    images = round_images_select(voter_key=uuid.uuid4(), rng=random.Random(3))
    stored = {image.pk: image for image in Image.objects.all()}
    with django_assert_num_queries(0):
        shown = [(image.pk, image.display_url, image.display_width, image.display_height) for image in images]
    assert shown == [
        (pk, stored[pk].thumbnail.url, stored[pk].thumbnail_width, stored[pk].thumbnail_height) for pk, *_ in shown
    ]
    assert all(url.startswith("/media/thumbnails/") for _, url, _, _ in shown)


def suspect_images(scores, **fields):
    images = []
    for score in scores:
        image = make_image(label=Label.CORROSION, **fields)
        Image.objects.filter(pk=image.pk).update(label_suspect_score=score)
        images.append(image)
    return images


def test_it_serves_suspect_labels_before_images_awaiting_votes(settings):
    settings.QUIZ_MIN_VOTES = 5
    settings.QUIZ_SUSPECT_SHARE = 0.5
    for _ in range(20):
        make_image(label=None)
    # Crowd-labelled already: without the preference only the rare sharpening slot would show them.
    low, high, higher = suspect_images([0.6, 0.8, 0.9], votes_yes=4, votes_no=1, vote_count=5)
    served = {image.id for image in round_images_select(voter_key=uuid.uuid4())}
    assert served & {low.id, high.id, higher.id} == {high.id, higher.id}
    settings.QUIZ_SUSPECT_SHARE = 0
    served = {image.id for image in round_images_select(voter_key=uuid.uuid4())}
    assert not served & {low.id, high.id, higher.id}


def test_it_spreads_second_looks_over_the_suspects_fewest_votes_first_up_to_a_ceiling(settings):
    settings.QUIZ_MIN_VOTES = 5
    settings.QUIZ_SUSPECT_SHARE = 0.25
    settings.QUIZ_SUSPECT_MAX_VOTES = 8
    for _ in range(20):
        make_image(label=None)
    (looked_at,) = suspect_images([0.95], votes_yes=5, votes_no=2, vote_count=7)
    (fresh,) = suspect_images([0.7], votes_yes=5, vote_count=5)
    (done,) = suspect_images([0.99], votes_yes=5, votes_no=3, vote_count=8)
    key = uuid.uuid4()
    first = {image.id for image in take_round(key)}
    assert fresh.id in first and not first & {looked_at.id, done.id}
    # The voter judged it: the next round's suspect slot goes to the next one.
    second = {image.id for image in take_round(key)}
    assert looked_at.id in second and done.id not in second
