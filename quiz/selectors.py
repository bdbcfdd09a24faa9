"""Reads of the quiz: which images a voter is served next."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Least

from quiz.models import Image, Split, Vote, Voter


def images_controversial(queryset: QuerySet[Image]) -> QuerySet[Image]:
    """Minority share between 40% and 60% with at least the label threshold of votes."""
    return queryset.alias(minority=Least("votes_yes", "votes_no")).filter(
        vote_count__gte=settings.QUIZ_MIN_VOTES, minority__gte=F("vote_count") * 0.4
    )


def voter_get(*, key: uuid.UUID) -> Voter | None:
    return Voter.objects.filter(key=key).first()


def round_images_select(*, voter_key: uuid.UUID, rng: random.Random | None = None) -> list[Image]:
    """Pick the next round for a voter.

    Unlabelled training images come first, fewest votes first, so votes spread
    evenly and no image piles up votes while others starve. With a small
    probability one slot goes to an already labelled image (to sharpen its
    agreement estimate) and one to an expert-labelled validation image (a gold
    question). A slot that a tier cannot fill falls through to the next tier.
    """
    rng = rng or random.Random()
    size = settings.QUIZ_ROUND_SIZE
    min_votes = settings.QUIZ_MIN_VOTES
    voter_id = Voter.objects.filter(key=voter_key).values_list("id", flat=True).first()

    pool = Image.objects.filter(excluded=False)
    if voter_id is not None:
        pool = pool.exclude(Exists(Vote.objects.filter(voter_id=voter_id, image_id=OuterRef("pk"))))
    unlabelled = pool.filter(split=Split.TRAIN, vote_count__lt=min_votes)
    labelled = pool.filter(split=Split.TRAIN, vote_count__gte=min_votes)
    gold = pool.filter(split=Split.VALIDATION)

    n_gold = 1 if size > 1 and rng.random() < settings.QUIZ_GOLD_RATE else 0
    n_sharpen = 1 if size > 1 + n_gold and rng.random() < settings.QUIZ_SHARPEN_RATE else 0
    chosen: list[Image] = []
    for tier, wanted in ((gold, n_gold), (labelled, n_sharpen), (unlabelled, size - n_gold - n_sharpen)):
        chosen += _fewest_votes_first(tier, wanted, exclude=_ids(chosen), rng=rng)
    for tier in (unlabelled, labelled, gold):
        if len(chosen) >= size:
            break
        chosen += _fewest_votes_first(tier, size - len(chosen), exclude=_ids(chosen), rng=rng)
    rng.shuffle(chosen)
    return chosen


def _ids(images: Iterable[Image]) -> list[int]:
    return [image.id for image in images]


def _fewest_votes_first(qs: QuerySet[Image], wanted: int, *, exclude: list[int], rng: random.Random) -> list[Image]:
    """Random images from the lowest vote-count level upwards, by index range scans only.

    Each level is sampled from a random point of `random_key`, wrapping round,
    which uses the (split, vote_count, random_key) index instead of sorting the
    table randomly.
    """
    picked: list[Image] = []
    floor = 0
    while len(picked) < wanted:
        candidates = qs.filter(vote_count__gte=floor).exclude(id__in=exclude + _ids(picked))
        level = candidates.order_by("vote_count").values_list("vote_count", flat=True).first()
        if level is None:
            break
        at_level = candidates.filter(vote_count=level).only("id", "file", "width", "height", "vote_count")
        start = rng.random()
        need = wanted - len(picked)
        batch = list(at_level.filter(random_key__gte=start).order_by("random_key")[:need])
        if len(batch) < need:
            batch += list(at_level.filter(random_key__lt=start).order_by("random_key")[: need - len(batch)])
        picked += batch
        floor = level + 1
    return picked
