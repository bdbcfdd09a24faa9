"""Reads of the quiz: which images a voter is served next."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Least

from quiz.models import Image, Label, LabelSource, Moderation, Split, Vote, Voter, VoteTally
from quiz.sql import prepared_cursor


def images_controversial(queryset: QuerySet[Image]) -> QuerySet[Image]:
    """Minority share between 40% and 60% with at least the label threshold of votes."""
    return queryset.alias(minority=Least("votes_yes", "votes_no")).filter(
        vote_count__gte=settings.QUIZ_MIN_VOTES, minority__gte=F("vote_count") * 0.4
    )


def images_awaiting_moderation(queryset: QuerySet[Image]) -> QuerySet[Image]:
    """Shared photos staff must look at: new ones waiting for approval, and those reports pulled out.

    Unshared uploads never wait here: nobody but their uploader sees them, so there is nothing to moderate.
    """
    return queryset.filter(Q(moderation=Moderation.PENDING) | Q(hidden_by_reports=True), shared=True)


def image_in_quiz_get(*, image_id: int) -> Image | None:
    """The image if the quiz may show it now (what a volunteer may report), else None."""
    return Image.objects.filter(pk=image_id, excluded=False).first()


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

    Hand-written SQL, one statement per vote-count level visited (usually one per tier): building
    and compiling the equivalent ORM querysets cost several times what PostgreSQL spends running
    them. The voter is looked up inside each statement, so a round costs no extra round trip for it.
    """
    rng = rng or random.Random()
    size = settings.QUIZ_ROUND_SIZE
    pool = _Pool(voter_key)
    # Each tier is a list of (split, label_source) prefixes of the selection index, in order of preference.
    needs_votes = [(Split.TRAIN, None), (Split.TRAIN, LabelSource.IMPORTED)]
    labelled = [(Split.TRAIN, LabelSource.CROWD), (Split.TRAIN, LabelSource.EXPERT)]
    gold = [(Split.VALIDATION, LabelSource.EXPERT)]

    n_gold = 1 if size > 1 and rng.random() < settings.QUIZ_GOLD_RATE else 0
    n_sharpen = 1 if size > 1 + n_gold and rng.random() < settings.QUIZ_SHARPEN_RATE else 0
    chosen: list[Image] = []
    chosen += _fewest_votes_first(pool, gold, n_gold, exclude=[], rng=rng)
    chosen += _fewest_votes_first(pool, labelled, n_sharpen, exclude=_ids(chosen), rng=rng)
    n_needs = size - n_gold - n_sharpen
    if settings.QUIZ_SELECTION == "uncertain":
        n_uncertain = min(n_needs, round(size * (1 - settings.QUIZ_EXPLORE_RATE)))
        uncertain = _least_certain(pool, n_uncertain, exclude=_ids(chosen))
        chosen += uncertain
        n_needs -= len(uncertain)
    chosen += _most_votes_first(pool, needs_votes, n_needs, exclude=_ids(chosen), rng=rng)
    for tier in (needs_votes, labelled, gold):
        if len(chosen) >= size:
            break
        chosen += _fewest_votes_first(pool, tier, size - len(chosen), exclude=_ids(chosen), rng=rng)
    rng.shuffle(chosen)
    return chosen


def _ids(images: Iterable[Image]) -> list[int]:
    return [image.id for image in images]


# In the model's field order: Model.from_db pairs the row's values with the fields in that order.
_ROUND_FIELDS = ("id", "file", "width", "height", "thumbnail", "thumbnail_width", "thumbnail_height", "vote_count")
_IMAGE = Image._meta.db_table


class _Pool:
    """The SQL shared by every statement of a round: images in the quiz that this voter has not voted on."""

    def __init__(self, voter_key: uuid.UUID):
        self.voter_key = Voter._meta.get_field("key").get_db_prep_value(voter_key, connection)
        # When the voter is new the subquery is NULL and the anti-join excludes nothing.
        self.where = (
            f"NOT i.excluded AND NOT EXISTS (SELECT 1 FROM {Vote._meta.db_table} v WHERE v.image_id = i.id"
            f" AND v.voter_id = (SELECT w.id FROM {Voter._meta.db_table} w WHERE w.key = %s))"
        )

    def filters(self, conditions: list[str], params: list, *, exclude: list[int]) -> tuple[str, list]:
        """The WHERE clause: the pool, then `conditions` (with their `params`), then no id of `exclude`."""
        sql = " AND ".join((self.where, *conditions))
        if exclude:
            sql += f" AND i.id NOT IN ({', '.join(['%s'] * len(exclude))})"
        return sql, [self.voter_key, *params, *exclude]

    def fetch(self, sql: str, params: list) -> list[Image]:
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [Image.from_db(connection.alias, _ROUND_FIELDS, row) for row in rows]


def _least_certain(pool: _Pool, wanted: int, *, exclude: list[int]) -> list[Image]:
    """Scored images by the model's margin, smallest first: one scan of the partial margin index.

    Images no model has scored yet are left to the random slots.
    """
    if wanted <= 0:
        return []
    # Spelled like the partial index's predicate (NEEDS_VOTES), so PostgreSQL can prove it applies.
    where, params = pool.filters(
        ["i.split = %s", "(i.label_source IS NULL OR i.label_source = %s)", "i.model_margin IS NOT NULL"],
        [Split.TRAIN, LabelSource.IMPORTED],
        exclude=exclude,
    )
    columns = ", ".join(f"i.{name}" for name in _ROUND_FIELDS)
    return pool.fetch(
        f"SELECT {columns} FROM {_IMAGE} i WHERE {where} ORDER BY i.model_margin LIMIT %s",
        [*params, wanted],
    )


def _fewest_votes_first(
    pool: _Pool, tier: list[tuple[str, str | None]], wanted: int, *, exclude: list[int], rng: random.Random
) -> list[Image]:
    """Random images from the lowest vote-count level upwards."""
    picked: list[Image] = []
    for prefix in tier:
        if len(picked) >= wanted:
            break
        picked += _levels(pool, prefix, wanted - len(picked), exclude=exclude + _ids(picked), rng=rng)
    return picked


def _most_votes_first(
    pool: _Pool, tier: list[tuple[str, str | None]], wanted: int, *, exclude: list[int], rng: random.Random
) -> list[Image]:
    """Images needing votes, nearest to a label first; images with twice the threshold or more are left out
    (the fallback tiers still serve them, fewest votes first, when nothing else is left)."""
    ceiling = 2 * settings.QUIZ_MIN_VOTES
    picked: list[Image] = []
    for prefix in tier:
        if len(picked) >= wanted:
            break
        picked += _levels(pool, prefix, wanted - len(picked), exclude=exclude + _ids(picked), rng=rng, below=ceiling)
    return picked


def _levels(
    pool: _Pool,
    prefix: tuple[str, str | None],
    wanted: int,
    *,
    exclude: list[int],
    rng: random.Random,
    below: int | None = None,
) -> list[Image]:
    """Walk vote-count levels upwards, or downwards from `below` (exclusive) when it is given.

    One statement per level, all index range scans on (split, label_source, vote_count, random_key):
    the CTE finds the level (the first index entry past the bound), then the level is sampled from a
    random point of random_key, wrapping round (two range scans, each stopped by its LIMIT), in place
    of sorting the table randomly. Ordering by the constant prefix too lets PostgreSQL read the index
    in order even when label_source is pinned by IS NULL, which it does not treat as an equality.
    """
    picked: list[Image] = []
    descending = below is not None
    bound = below if descending else 0
    split, label_source = prefix
    source_sql = "i.label_source IS NULL" if label_source is None else "i.label_source = %s"
    source_params = [] if label_source is None else [label_source]
    columns = ", ".join(f"i.{name}" for name in _ROUND_FIELDS)
    direction = " DESC" if descending else ""
    index_order = f"i.split{direction}, i.label_source{direction}, i.vote_count{direction}"
    while len(picked) < wanted:
        need = wanted - len(picked)
        where, params = pool.filters(
            ["i.split = %s", source_sql], [split, *source_params], exclude=exclude + _ids(picked)
        )
        # The level's random start is drawn only when the level exists (as the draws were ordered before).
        state = rng.getstate()
        start = rng.random()
        sample = (
            f"SELECT * FROM (SELECT {{part}} AS part, {columns}, i.random_key FROM {_IMAGE} i"
            f" WHERE {where} AND i.vote_count = (SELECT vote_count FROM lvl) AND i.random_key {{cmp}} %s"
            f" ORDER BY i.split, i.label_source, i.vote_count, i.random_key LIMIT %s) s{{part}}"
        )
        sql = (
            f"WITH lvl AS (SELECT i.vote_count FROM {_IMAGE} i WHERE {where}"
            f" AND i.vote_count {'<' if descending else '>='} %s ORDER BY {index_order} LIMIT 1) "
            f"SELECT {', '.join(_ROUND_FIELDS)} FROM ("
            + sample.format(part=0, cmp=">=")
            + " UNION ALL "
            + sample.format(part=1, cmp="<")
            + ") u ORDER BY part, random_key LIMIT %s"
        )
        batch = pool.fetch(
            sql,
            [*params, bound, *params, start, need, *params, start, need, need],
        )
        if not batch:
            rng.setstate(state)
            break
        picked += batch
        level = batch[0].vote_count
        bound = level if descending else level + 1
    return picked


@dataclass(frozen=True)
class GoldFeedback:
    """What the experts said about a photo the voter has just answered as a gold question."""

    image: Image
    expert_corrosion: bool
    your_corrosion: bool
    note: str

    @property
    def agreed(self) -> bool:
        return self.expert_corrosion == self.your_corrosion


def gold_feedback(*, voter_key: uuid.UUID, image_ids: Iterable[int]) -> list[GoldFeedback]:
    """The voter's answers on these photos beside the experts' labels (photos without one are left out)."""
    votes = (
        Vote.objects.filter(voter__key=voter_key, image_id__in=list(image_ids), image__expert_label__isnull=False)
        .select_related("image")
        .order_by("image_id")
    )
    return [
        GoldFeedback(
            image=vote.image,
            expert_corrosion=vote.image.expert_label == Label.CORROSION,
            your_corrosion=vote.corrosion,
            note=vote.image.expert_note,
        )
        for vote in votes
    ]


@dataclass(frozen=True)
class VoterRecord:
    """A volunteer's part, for their own page (/me/)."""

    votes: int  # answers given (votes still held: a withdrawn upload takes its vote with it)
    gold_answered: int  # answers on photos with an expert label
    gold_agreed: int  # ... that match it
    photos_labelled: int  # photos voted on that now carry a crowd label
    first_vote_at: datetime | None

    @property
    def gold_agreement(self) -> float | None:
        return self.gold_agreed / self.gold_answered if self.gold_answered else None


def voter_record(*, key: uuid.UUID) -> VoterRecord:
    """One aggregate query over the voter's votes (the vote table's voter index)."""
    agreed = Q(image__expert_label=Label.CORROSION, corrosion=True) | Q(
        image__expert_label=Label.NO_CORROSION, corrosion=False
    )
    figures = Vote.objects.filter(voter__key=key).aggregate(
        votes=Count("pk"),
        gold_answered=Count("pk", filter=Q(image__expert_label__isnull=False)),
        gold_agreed=Count("pk", filter=agreed),
        photos_labelled=Count("pk", filter=Q(image__crowd_label__isnull=False)),
        first_vote_at=Min("created_at"),
    )
    return VoterRecord(**figures)


def voter_votes_moments(*, key: uuid.UUID) -> dict[int, datetime]:
    """{image id: when the voter voted on it}, for matching against what a model trained on."""
    return dict(Vote.objects.filter(voter__key=key).values_list("image_id", "created_at"))


def votes_since(moment: datetime) -> int:
    """Votes cast since `moment`'s day, from the daily tally (a few rows a day, never the vote table)."""
    return VoteTally.objects.filter(day__gte=moment.date()).aggregate(n=Sum("votes"))["n"] or 0


def votes_total() -> int:
    """Every vote cast and still held, from the daily tally."""
    return VoteTally.objects.aggregate(n=Sum("votes"))["n"] or 0


def votes_by_wording(*, image_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
    """{image id: {wording: (yes votes, no votes)}}: one grouped query (the vote table's image index)."""
    rows = (
        Vote.objects.filter(image_id__in=image_ids)
        .values("image_id", "wording")
        .annotate(yes=Count("pk", filter=Q(corrosion=True)), no=Count("pk", filter=Q(corrosion=False)))
        .order_by()
    )
    found: dict[int, dict[str, tuple[int, int]]] = {}
    for row in rows:
        found.setdefault(row["image_id"], {})[row["wording"]] = (row["yes"], row["no"])
    return found
