"""The hand-written SQL of round selection against the ORM implementation it replaced.

The old implementation is kept below as an oracle: for the same pool, voter and random draws, both must
serve exactly the same images in the same order, on PostgreSQL and on SQLite. Plus the plans: on a
20,000-image table every statement is index range scans, never a scan or a sort of the image table.
"""

import random
import uuid
from collections.abc import Iterable

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.test.utils import CaptureQueriesContext

from quiz.models import NEEDS_VOTES, Image, Label, LabelSource, Split, Vote, Voter
from quiz.selectors import round_images_select
from quiz.sql import prepared_cursor

pytestmark = pytest.mark.django_db


def make_pool(seed: int, size: int = 150) -> list[Image]:
    """Images spread over every tier, vote count and margin, some excluded; no files (rounds only link them)."""
    rng = random.Random(seed)
    images = []
    for n in range(size):
        split = Split.VALIDATION if rng.random() < 0.1 else Split.TRAIN
        source = rng.choice([None, None, LabelSource.IMPORTED, LabelSource.CROWD, LabelSource.EXPERT])
        if split == Split.VALIDATION:
            source = LabelSource.EXPERT
        yes = rng.randrange(0, 8)
        no = rng.randrange(0, 8) if rng.random() < 0.7 else 0
        label = rng.choice([Label.CORROSION, Label.NO_CORROSION]) if source else None
        images.append(
            Image(
                file=f"images/t/{seed}-{n}.jpg",
                sha256=f"{seed:08d}{n:056d}",
                split=split,
                width=64,
                height=48,
                imported_label=label if source == LabelSource.IMPORTED else None,
                crowd_label=label if source == LabelSource.CROWD else None,
                expert_label=label if source == LabelSource.EXPERT else None,
                effective_label=label,
                label_source=source,
                votes_yes=yes,
                votes_no=no,
                vote_count=yes + no,
                # Few distinct keys at a level would make ties, whose order neither implementation fixes.
                random_key=rng.random(),
                model_margin=rng.random() / 2 if rng.random() < 0.5 else None,
                excluded=rng.random() < 0.05,
            )
        )
    return Image.objects.bulk_create(images)


def voter_with_votes(images: list[Image], rng: random.Random, share: float) -> uuid.UUID:
    voter = Voter.objects.create()
    Vote.objects.bulk_create(
        [Vote(voter=voter, image=image, corrosion=rng.random() < 0.5) for image in images if rng.random() < share]
    )
    return voter.key


@pytest.mark.parametrize("selection", ["random", "uncertain"])
@pytest.mark.parametrize("pool_size", [150, 12])
def test_it_serves_exactly_what_the_orm_implementation_served(settings, selection, pool_size):
    settings.QUIZ_SELECTION = selection
    settings.QUIZ_MIN_VOTES = 3
    settings.QUIZ_GOLD_RATE = settings.QUIZ_SHARPEN_RATE = 0.5
    images = make_pool(pool_size, size=pool_size)
    rng = random.Random(7)
    voters = [uuid.uuid4(), voter_with_votes(images, rng, 0.3), voter_with_votes(images, rng, 0.9)]
    served = 0
    for seed in range(60):
        for key in voters:
            expected = reference_round(voter_key=key, rng=random.Random(seed))
            got = round_images_select(voter_key=key, rng=random.Random(seed))
            assert [i.id for i in got] == [i.id for i in expected], (seed, key)
            assert [(i.file.name, i.width, i.height, i.vote_count) for i in got] == [
                (i.file.name, i.width, i.height, i.vote_count) for i in expected
            ]
            served += len(got)
    assert served > 0


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize("selection", ["random", "uncertain"])
def test_it_uses_only_index_range_scans_on_a_large_table(settings, selection):
    settings.QUIZ_SELECTION = selection
    settings.QUIZ_GOLD_RATE = settings.QUIZ_SHARPEN_RATE = 1.0
    settings.QUIZ_SUSPECT_SHARE = 0.75  # one of the two slots left after gold and sharpening: a suspect
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO quiz_image (file, sha256, source, split, width, height, original_name, imported_label,
                                    crowd_label, expert_label, effective_label, label_source, votes_yes, votes_no,
                                    vote_count, random_key, model_margin, excluded, excluded_reason, created_at)
            SELECT 'images/x/' || i || '.jpg', md5(i::text) || md5((i * 7)::text), 'seed',
                   CASE WHEN i % 20 = 0 THEN 'validation' ELSE 'train' END, 64, 48, '', NULL,
                   CASE WHEN i % 20 = 1 THEN 'corrosion' END, CASE WHEN i % 20 = 0 THEN 'corrosion' END,
                   CASE WHEN i % 20 IN (0, 1) THEN 'corrosion' END,
                   CASE WHEN i % 20 = 0 THEN 'expert' WHEN i % 20 = 1 THEN 'crowd' END,
                   i % 4, 0, i % 4, random(), CASE WHEN i % 3 = 0 THEN random() / 2 END, false, '', now()
            FROM generate_series(1, 20000) i
            """
        )
        # A few hundred suspect labels, as confident learning leaves them.
        cursor.execute("UPDATE quiz_image SET label_suspect_score = random() WHERE id % 80 = 2")
        cursor.execute("ANALYZE quiz_image")
    key = voter_with_votes(list(Image.objects.all()[:300]), random.Random(1), 0.5)
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert len(round_images_select(voter_key=key, rng=random.Random(3))) == settings.QUIZ_ROUND_SIZE
    assert any("label_suspect_score IS NOT NULL" in sql for sql, _ in statements)
    with prepared_cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, plan
            assert "Sort Key: i." not in plan, plan  # only the few rows of the two LIMITed scans are sorted
            assert "Index" in plan, plan


def test_it_serves_a_round_in_few_statements(settings):
    settings.QUIZ_GOLD_RATE = settings.QUIZ_SHARPEN_RATE = 0
    images = make_pool(3, size=60)
    key = voter_with_votes(images, random.Random(2), 0.2)
    with CaptureQueriesContext(connection) as queries:
        assert len(round_images_select(voter_key=key, rng=random.Random(5))) == settings.QUIZ_ROUND_SIZE
    assert len(queries.captured_queries) <= 3


# --- The oracle --------------------------------------------------------------------------------------------


def reference_round(*, voter_key: uuid.UUID, rng: random.Random | None = None) -> list[Image]:
    """The ORM implementation selection had before it was hand-written SQL, kept as the oracle."""
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
