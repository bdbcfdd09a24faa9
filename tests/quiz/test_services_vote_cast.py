import re
import uuid

import pytest
from django.core import signing

from factories import make_image
from quiz.errors import AlreadyVoted, RoundExpired, RoundInvalid, RoundNotYours
from quiz.models import Image, Label, Vote, Voter
from quiz.rounds import round_token_make
from quiz.services.votes import vote_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def images():
    return [make_image(label=None) for _ in range(4)]


def test_it_records_one_vote_per_image_ticked_or_not(images):
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    result = vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[0].id, images[2].id])
    assert len(result.votes) == 4
    votes = {v.image_id: v.corrosion for v in Vote.objects.all()}
    assert votes == {images[0].id: True, images[1].id: False, images[2].id: True, images[3].id: False}
    refreshed = {i.id: (i.votes_yes, i.votes_no, i.vote_count) for i in Image.objects.all()}
    assert refreshed[images[0].id] == (1, 0, 1)
    assert refreshed[images[1].id] == (0, 1, 1)
    assert Voter.objects.get(key=key).votes_cast == 4


def test_it_refuses_a_replayed_round_and_records_nothing_more(images):
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    vote_cast(voter_key=key, round_token=token, corrosion_ids=[])
    with pytest.raises(AlreadyVoted):
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[1].id])
    assert Vote.objects.count() == 4
    assert sorted(Image.objects.values_list("vote_count", flat=True)) == [1, 1, 1, 1]


def test_it_refuses_someone_elses_round(images):
    token = round_token_make(voter_key=uuid.uuid4(), image_ids=[i.id for i in images])
    with pytest.raises(RoundNotYours):
        vote_cast(voter_key=uuid.uuid4(), round_token=token, corrosion_ids=[])
    assert Vote.objects.count() == 0
    assert Voter.objects.count() == 0


def test_it_refuses_a_forged_round(images):
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(RoundInvalid):
        vote_cast(voter_key=key, round_token=forged, corrosion_ids=[])
    unsigned = signing.dumps({"v": key.hex, "i": [images[0].id]}, salt="some-other-purpose")
    with pytest.raises(RoundInvalid):
        vote_cast(voter_key=key, round_token=unsigned, corrosion_ids=[])
    assert Vote.objects.count() == 0


def test_it_refuses_an_expired_round(images, settings):
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    settings.QUIZ_ROUND_MAX_AGE = -1
    with pytest.raises(RoundExpired):
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[])
    assert Vote.objects.count() == 0


def test_it_refuses_ticked_ids_that_are_not_in_the_round(images):
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images[:3]])
    with pytest.raises(RoundInvalid):
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[3].id])
    assert Vote.objects.count() == 0


def test_it_gives_a_crowd_label_to_the_majority_at_the_threshold(settings):
    settings.QUIZ_MIN_VOTES = 5
    image = make_image(label=None)
    for ticked in (True, True, False, True, False):
        key = uuid.uuid4()
        token = round_token_make(voter_key=key, image_ids=[image.id])
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[image.id] if ticked else [])
    image.refresh_from_db()
    assert (image.votes_yes, image.votes_no) == (3, 2)
    assert image.crowd_label == Label.CORROSION
    assert image.effective_label == Label.CORROSION


def test_it_snapshots_the_voters_expertise_on_each_vote(images):
    from quiz.services.votes import voter_set_expertise

    key = uuid.uuid4()
    voter_set_expertise(voter_key=key, expertise="professional")
    token = round_token_make(voter_key=key, image_ids=[images[0].id])
    vote_cast(voter_key=key, round_token=token, corrosion_ids=[])
    assert Vote.objects.get().expertise == "professional"


def test_it_keeps_the_daily_tally_equal_to_the_vote_rows(images):
    from django.db.models import Sum

    from quiz.models import VoteTally
    from quiz.services.votes import vote_set

    for _ in range(3):
        key = uuid.uuid4()
        token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[0].id])
    owner = uuid.uuid4()
    vote_set(voter_key=owner, image_id=images[1].id, corrosion=True)
    vote_set(voter_key=owner, image_id=images[1].id, corrosion=False)  # changes side, not the count
    tally = VoteTally.objects.aggregate(votes=Sum("votes"), yes=Sum("yes"))
    assert tally == {"votes": Vote.objects.count(), "yes": Vote.objects.filter(corrosion=True).count()}
    assert tally == {"votes": 13, "yes": 3}


def test_it_refuses_a_round_overlapping_an_earlier_vote_and_changes_nothing(images):
    from quiz.services.votes import vote_set

    key = uuid.uuid4()
    vote_set(voter_key=key, image_id=images[2].id, corrosion=True)
    before = list(Image.objects.order_by("id").values_list("votes_yes", "votes_no", "vote_count"))
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    with pytest.raises(AlreadyVoted):
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[0].id])
    assert Vote.objects.count() == 1
    assert list(Image.objects.order_by("id").values_list("votes_yes", "votes_no", "vote_count")) == before
    assert Voter.objects.get(key=key).votes_cast == 1


def test_it_stores_the_label_its_source_and_time_only_for_the_image_that_reached_the_threshold(settings):
    settings.QUIZ_MIN_VOTES = 3
    almost = make_image(label=None, votes_yes=2, vote_count=2)
    fresh = make_image(label=None)
    imported = make_image(label=Label.NO_CORROSION)
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[almost.id, fresh.id, imported.id])
    result = vote_cast(voter_key=key, round_token=token, corrosion_ids=[almost.id])
    assert result.newly_labelled == [almost.id]
    assert sorted(vote.image_id for vote in result.votes) == sorted([almost.id, fresh.id, imported.id])
    assert {vote.pk for vote in result.votes} == set(Vote.objects.values_list("pk", flat=True))
    almost.refresh_from_db()
    assert (almost.votes_yes, almost.votes_no, almost.vote_count) == (3, 0, 3)
    assert (almost.crowd_label, almost.effective_label, almost.label_source) == (Label.CORROSION,) * 2 + ("crowd",)
    assert almost.labelled_at is not None and almost.crowd_confidence is None
    fresh.refresh_from_db()
    assert (fresh.votes_no, fresh.crowd_label, fresh.label_source, fresh.labelled_at) == (1, None, None, None)
    labelled_at = Image.objects.get(pk=imported.pk).labelled_at
    imported.refresh_from_db()
    assert (imported.effective_label, imported.label_source) == (Label.NO_CORROSION, "imported")
    assert imported.labelled_at == labelled_at  # untouched: its label did not change


def test_it_records_a_round_in_a_few_statements(images):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    with CaptureQueriesContext(connection) as queries:
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[1].id])
    # PostgreSQL: voter and lock, votes and tally, images; elsewhere one statement each
    # (plus the savepoint statements of the test's transaction)
    statements = [q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == (3 if connection.vendor == "postgresql" else 5)


def test_its_statements_stay_within_what_psycopg_keeps_parsed(postgres, settings):
    """psycopg caches a statement's parsed form only up to 4,096 characters and 50 parameters; past that it
    parses the SQL again on every call, which cost more than a round trip (bench/README.md)."""
    from django.test.utils import CaptureQueriesContext
    from psycopg import _queries

    settings.QUIZ_ROUND_SIZE = 4
    images = [make_image(label=None) for _ in range(settings.QUIZ_ROUND_SIZE)]
    key = uuid.uuid4()
    token = round_token_make(voter_key=key, image_ids=[i.id for i in images])
    with CaptureQueriesContext(postgres) as queries:
        vote_cast(voter_key=key, round_token=token, corrosion_ids=[images[0].id])
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3
    for sql in statements:  # as sent: psycopg's $n placeholders (no shorter than the %s written)
        parameters = max(int(n) for n in re.findall(r"\$(\d+)", sql))
        assert 5 <= parameters <= _queries.MAX_CACHED_STATEMENT_PARAMS, sql
        assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, sql


def test_it_accepts_the_empty_round_served_when_nothing_is_left():
    key = uuid.uuid4()
    result = vote_cast(voter_key=key, round_token=round_token_make(voter_key=key, image_ids=[]), corrosion_ids=[])
    assert (result.votes, result.newly_labelled, result.votes_cast) == ([], [], 0)
    assert Vote.objects.count() == 0
