"""Reads of the quiz: which images a voter is served next."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Least

from quiz.models import NEEDS_VOTES, Image, LabelSource, Split, Vote, Voter


def images_controversial(queryset: QuerySet[Image]) -> QuerySet[Image]:
    """Minority share between 40% and 60% with at least the label threshold of votes."""
    return queryset.alias(minority=Least("votes_yes", "votes_no")).filter(
        vote_count__gte=settings.QUIZ_MIN_VOTES, minority__gte=F("vote_count") * 0.4
    )


def voter_get(*, key: uuid.UUID) -> Voter | None:
    return Voter.objects.filter(key=key).first()


def round_images_select(*, voter_key: uuid.UUID, rng: random.Random | None = None) -> list[Image]:
    """Pick the next round for a voter.

    Training images that still need votes come first: those with no label at all, then those with
    only an imported one; those closest to a label first ("finish what's started"), so every
    QUIZ_MIN_VOTES votes yield a label instead of thousands of images holding one vote each. Each
    image still gets just the votes it needs; one stuck undecided stops being preferred at twice the
    threshold, so it cannot pile up votes while others starve. With QUIZ_SELECTION = "uncertain",
    most of those slots go instead to the images the active model is least sure about (smallest
    |P(corrosion) - 0.5|), the rest (QUIZ_EXPLORE_RATE) still random so the whole pool keeps being
    explored. With a small probability one slot goes to an image with a crowd or expert label (to
    sharpen its agreement) and one to an expert-labelled validation image (a gold question). A slot
    that a tier cannot fill falls through to the next tier.
    """
    rng = rng or random.Random()
    size = settings.QUIZ_ROUND_SIZE
    voter_id = Voter.objects.filter(key=voter_key).values_list("id", flat=True).first()

    pool = Image.objects.filter(excluded=False)
    if voter_id is not None:
        pool = pool.exclude(Exists(Vote.objects.filter(voter_id=voter_id, image_id=OuterRef("pk"))))
    train = pool.filter(split=Split.TRAIN)
    # Each tier is a list of (split, label_source) prefixes of the selection index, in order of preference.
    needs_votes = [train.filter(label_source__isnull=True), train.filter(label_source=LabelSource.IMPORTED)]
    labelled = [train.filter(label_source=LabelSource.CROWD), train.filter(label_source=LabelSource.EXPERT)]
    gold = [pool.filter(split=Split.VALIDATION, label_source=LabelSource.EXPERT)]

    n_gold = 1 if size > 1 and rng.random() < settings.QUIZ_GOLD_RATE else 0
    n_sharpen = 1 if size > 1 + n_gold and rng.random() < settings.QUIZ_SHARPEN_RATE else 0
    chosen: list[Image] = []
    chosen += _fewest_votes_first(gold, n_gold, exclude=[], rng=rng)
    chosen += _fewest_votes_first(labelled, n_sharpen, exclude=_ids(chosen), rng=rng)
    n_needs = size - n_gold - n_sharpen
    if settings.QUIZ_SELECTION == "uncertain":
        n_uncertain = min(n_needs, round(size * (1 - settings.QUIZ_EXPLORE_RATE)))
        uncertain = _least_certain(pool.filter(NEEDS_VOTES), n_uncertain, exclude=_ids(chosen))
        chosen += uncertain
        n_needs -= len(uncertain)
    chosen += _most_votes_first(needs_votes, n_needs, exclude=_ids(chosen), rng=rng)
    for tier in (needs_votes, labelled, gold):
        if len(chosen) >= size:
            break
        chosen += _fewest_votes_first(tier, size - len(chosen), exclude=_ids(chosen), rng=rng)
    rng.shuffle(chosen)
    return chosen


def _ids(images: Iterable[Image]) -> list[int]:
    return [image.id for image in images]


_ROUND_FIELDS = ("id", "file", "width", "height", "vote_count")


def _least_certain(qs: QuerySet[Image], wanted: int, *, exclude: list[int]) -> list[Image]:
    """Scored images by the model's margin, smallest first: one scan of the partial margin index.

    Images no model has scored yet are left to the random slots.
    """
    if wanted <= 0:
        return []
    scored = qs.filter(model_margin__isnull=False).exclude(id__in=exclude).only(*_ROUND_FIELDS)
    return list(scored.order_by("model_margin")[:wanted])


def _fewest_votes_first(
    tier: list[QuerySet[Image]], wanted: int, *, exclude: list[int], rng: random.Random
) -> list[Image]:
    picked: list[Image] = []
    for qs in tier:
        if len(picked) >= wanted:
            break
        picked += _fewest_votes_first_one(qs, wanted - len(picked), exclude=exclude + _ids(picked), rng=rng)
    return picked


def _most_votes_first(
    tier: list[QuerySet[Image]], wanted: int, *, exclude: list[int], rng: random.Random
) -> list[Image]:
    """Images needing votes, nearest to a label first; images with twice the threshold or more are left out
    (the fallback tiers still serve them, fewest votes first, when nothing else is left)."""
    ceiling = 2 * settings.QUIZ_MIN_VOTES
    picked: list[Image] = []
    for qs in tier:
        if len(picked) >= wanted:
            break
        picked += _levels(qs, wanted - len(picked), exclude=exclude + _ids(picked), rng=rng, below=ceiling)
    return picked


def _fewest_votes_first_one(qs: QuerySet[Image], wanted: int, *, exclude: list[int], rng: random.Random) -> list[Image]:
    """Random images from the lowest vote-count level upwards, by index range scans only.

    Each level is sampled from a random point of `random_key`, wrapping round, which uses the
    (split, label_source, vote_count, random_key) index instead of sorting the table randomly.
    The queryset pins split and label_source; ordering by them too (constant, so no effect on the
    result) lets PostgreSQL read the index in order even when label_source is pinned by IS NULL,
    which it does not treat as an equality.
    """
    return _levels(qs, wanted, exclude=exclude, rng=rng)


def _levels(
    qs: QuerySet[Image], wanted: int, *, exclude: list[int], rng: random.Random, below: int | None = None
) -> list[Image]:
    """Walk vote-count levels upwards, or downwards from `below` (exclusive) when it is given."""
    picked: list[Image] = []
    descending = below is not None
    bound = below if descending else 0
    prefix = ("split", "label_source")
    while len(picked) < wanted:
        candidates = qs.filter(**{"vote_count__lt" if descending else "vote_count__gte": bound})
        candidates = candidates.exclude(id__in=exclude + _ids(picked))
        level_order = "-vote_count" if descending else "vote_count"
        prefix_order = [f"-{field}" for field in prefix] if descending else list(prefix)
        level = candidates.order_by(*prefix_order, level_order).values_list("vote_count", flat=True).first()
        if level is None:
            break
        at_level = (
            candidates.filter(vote_count=level).only(*_ROUND_FIELDS).order_by(*prefix, "vote_count", "random_key")
        )
        start = rng.random()
        need = wanted - len(picked)
        batch = list(at_level.filter(random_key__gte=start)[:need])
        if len(batch) < need:
            batch += list(at_level.filter(random_key__lt=start)[: need - len(batch)])
        picked += batch
        bound = level if descending else level + 1
    return picked
