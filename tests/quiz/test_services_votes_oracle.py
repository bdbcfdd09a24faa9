"""vote_cast (the hot path's hand-written SQL) against vote_set (the ORM): the same votes must leave the
same database behind, every counter, label and tally.

Each path casts the same sequence of rounds on the same pool, inside a transaction that is then rolled
back, so that the other path starts from the same state.
"""

import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from factories import VoterFactory, make_image
from quiz.errors import AlreadyVoted
from quiz.models import CrowdAggregation, Image, Label, Split, Vote, Voter, VoteTally
from quiz.rounds import round_token_make
from quiz.services.votes import vote_cast, vote_set

pytestmark = pytest.mark.django_db

VOTERS = [uuid.UUID(int=n + 1) for n in range(4)]

# (voter, images served, images ticked). Voter 3 is new to the database; voter 0 comes back for a
# second round; the last round repeats one of voter 1's votes.
ROUNDS = [
    (0, ["fresh", "tied", "imported", "gold"], ["fresh", "gold"]),
    (1, ["fresh", "tied", "imported", "sharpen"], ["fresh", "imported"]),
    (2, ["fresh", "tied", "gold", "sharpen"], ["tied"]),
    (3, ["fresh", "tied", "imported", "gold"], ["fresh", "tied", "imported"]),
    (0, ["sharpen"], []),
    (1, ["fresh"], ["fresh"]),
]


class _Discard(Exception):
    """Raised to roll one path's votes back."""


@pytest.fixture(params=[("majority", 3, 3), ("weighted", 4, 2)], ids=["majority", "weighted"])
def aggregation(request, settings) -> str:
    """The rule, QUIZ_MIN_VOTES and QUIZ_MIN_VOTES_CONFIDENT."""
    settings.QUIZ_AGGREGATION, settings.QUIZ_MIN_VOTES, settings.QUIZ_MIN_VOTES_CONFIDENT = request.param
    return settings.QUIZ_AGGREGATION


@pytest.fixture
def pool(aggregation, monkeypatch) -> dict[str, int]:
    # One instant for both paths, so that the times they store (labels, tallies, last seen) compare.
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    VoterFactory(key=VOTERS[0], expertise="professional", ip_hash="ip-0", sensitivity=0.9, specificity=0.8)
    VoterFactory(key=VOTERS[1], expertise="some", ip_hash="ip-1", sensitivity=0.6, specificity=0.95)
    VoterFactory(key=VOTERS[2], ip_hash="ip-2")
    CrowdAggregation.objects.create(class_prior=0.3, votes=0, voters=0, gold_images=0, iterations=0)
    images = {
        "fresh": make_image(label=None),
        "tied": make_image(label=None),
        "imported": make_image(label=Label.NO_CORROSION),
        # A gold question: a validation image with an expert label.
        "gold": make_image(split=Split.VALIDATION, label=Label.CORROSION),
        # A sharpening question: an image the crowd has labelled already.
        "sharpen": make_image(label=None, votes_yes=3, vote_count=3),
    }
    return {name: image.pk for name, image in images.items()}


def cast_rounds(pool: dict[str, int]) -> None:
    for voter, served, ticked in ROUNDS:
        key = VOTERS[voter]
        token = round_token_make(voter_key=key, image_ids=[pool[name] for name in served])
        try:
            vote_cast(
                voter_key=key, round_token=token, corrosion_ids=[pool[name] for name in ticked], ip_hash=ip(voter)
            )
        except AlreadyVoted:
            pass  # the repeated round: refused whole


def set_votes(pool: dict[str, int]) -> None:
    for voter, served, ticked in ROUNDS:
        for name in served:
            vote_set(voter_key=VOTERS[voter], image_id=pool[name], corrosion=name in ticked, ip_hash=ip(voter))


def ip(voter: int) -> str:
    return f"ip-{voter}"


def state_after(cast, pool: dict[str, int]) -> dict:
    """Everything the votes can change, after `cast`; the votes are then rolled back."""
    state = {}
    try:
        with transaction.atomic():
            cast(pool)
            state = {
                "images": list(Image.objects.order_by("id").values()),
                # Keyed by the voter's key: a sequence does not roll back, so a new voter's id differs.
                "voters": sorted(
                    (voter.pop("key"), voter)
                    for voter in Voter.objects.values(
                        "key", "expertise", "ip_hash", "votes_cast", "last_seen_at", "sensitivity", "specificity"
                    )
                ),
                "votes": sorted(Vote.objects.values_list("voter__key", "image_id", "corrosion", "expertise")),
                # Summed over the shards, which each path picks at random.
                "tally": list(
                    VoteTally.objects.values("day", "expertise")
                    .order_by("day", "expertise")
                    .annotate(votes=Sum("votes"), yes=Sum("yes"))
                ),
            }
            raise _Discard
    except _Discard:
        pass
    return state


def test_it_leaves_the_same_counters_labels_and_tallies_as_the_orm_path(pool):
    sql_path = state_after(cast_rounds, pool)
    orm_path = state_after(set_votes, pool)

    assert Vote.objects.count() == 0  # both rolled back: each path started from the same pool
    assert len(sql_path["votes"]) == 17 and len(sql_path["voters"]) == 4
    assert sum(row["votes"] for row in sql_path["tally"]) == 17
    assert sql_path["images"] == orm_path["images"]
    assert sql_path["voters"] == orm_path["voters"]
    assert sql_path["votes"] == orm_path["votes"]
    assert sql_path["tally"] == orm_path["tally"]


@pytest.mark.parametrize("aggregation", [("majority", 3, 3)], indirect=True)
def test_its_rounds_reach_the_threshold_tie_and_unsettle_a_label(pool):
    """What the oracle compares is worth comparing: labels won and lost, a tie, a refused repeat."""
    images = {image["id"]: image for image in state_after(cast_rounds, pool)["images"]}
    names = ["fresh", "tied", "imported", "gold", "sharpen"]
    counts = [(images[pool[name]]["votes_yes"], images[pool[name]]["votes_no"]) for name in names]
    assert counts == [(3, 1), (2, 2), (2, 1), (1, 2), (3, 3)]
    crowd = [images[pool[name]]["crowd_label"] for name in names]
    assert crowd == [Label.CORROSION, None, Label.CORROSION, Label.NO_CORROSION, None]
    assert images[pool["gold"]]["effective_label"] == Label.CORROSION
