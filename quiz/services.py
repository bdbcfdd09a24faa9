"""Writes of the quiz and the image pool."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from corrosiondetector import metrics
from quiz import aggregation
from quiz.db import prepared_cursor
from quiz.errors import AlreadyVoted, RoundInvalid, RoundNotYours
from quiz.imaging import ImageInfo, Thumbnail, inspect_image, make_thumbnail
from quiz.models import (
    COUNTER_FIELDS,
    LABEL_FIELDS,
    CrowdAggregation,
    Expertise,
    Image,
    Label,
    Source,
    Split,
    Vote,
    Voter,
    VoteTally,
    image_upload_to,
)
from quiz.rounds import round_token_read


@dataclass(frozen=True)
class RoundResult:
    votes: list[Vote]
    newly_labelled: list[int]
    votes_cast: int


@transaction.atomic
def vote_cast(
    *, voter_key: uuid.UUID, round_token: str, corrosion_ids: Collection[int], ip_hash: str = ""
) -> RoundResult:
    """Record one vote per image of a served round: ticked = corrosion, unticked = no corrosion.

    Either every vote of the round is recorded and counted, or none is.
    """
    served = round_token_read(round_token, max_age=settings.QUIZ_ROUND_MAX_AGE)
    if served.voter_key != voter_key:
        raise RoundNotYours("This round was served to someone else.")
    ticked = set(corrosion_ids)
    if not ticked <= set(served.image_ids):
        raise RoundInvalid("Some of the ticked images are not in this round.")

    voter, images = _voter_count_votes_and_lock_images(
        key=voter_key, ip_hash=ip_hash, image_ids=served.image_ids, votes=len(served.image_ids)
    )
    if len(images) != len(served.image_ids):
        raise RoundInvalid("Some images of this round no longer exist; please take a new round.")

    now = timezone.now()
    votes = [
        Vote(voter_id=voter.pk, image=image, corrosion=image.id in ticked, expertise=voter.expertise, created_at=now)
        for image in images
    ]
    # The rows are locked, so the counters and labels can be settled before the votes are written:
    # the writes then go out together, and a refused round rolls all of it back.
    before = {image.id: _tracked_state(image) for image in images}
    for image in images:
        image.count_vote(corrosion=image.id in ticked)
    _crowd_labels_refresh(images, new_votes=[(vote.image_id, vote.corrosion, voter) for vote in votes])
    newly_labelled = [image.id for image in images if image.crowd_label and not before[image.id]["crowd_label"]]
    # A double submit of the same round waits on the locks above, then inserts nothing.
    if not _round_write(votes, images, expertise=voter.expertise):
        raise AlreadyVoted("You have already voted on this round.")
    # Counted once the votes are in the database: a rolled-back round counts nothing.
    transaction.on_commit(functools.partial(metrics.QUIZ_VOTES_RECORDED.inc, len(votes)))
    return RoundResult(votes=votes, newly_labelled=newly_labelled, votes_cast=voter.votes_cast)


def _voter_count_votes_and_lock_images(
    *, key: uuid.UUID, ip_hash: str, image_ids: Collection[int], votes: int
) -> tuple[Voter, list[Image]]:
    """Count the votes on the voter (created if new) and lock the round's image rows.

    The rows are locked in id order, so concurrent rounds sharing images queue up instead of
    deadlocking, and the counters cannot lose an update. On PostgreSQL one statement (the upsert as a
    CTE beside the locking SELECT); elsewhere two.
    """
    voter_sql, voter_params = _voter_count_votes_sql(key=key, ip_hash=ip_hash, votes=votes)
    if image_ids and connection.vendor == "postgresql":
        lock_sql, lock_params = _images_lock_sql(image_ids)
        rows = _fetch(
            f"WITH w AS ({voter_sql}) SELECT w.*, i.* FROM w LEFT JOIN ({lock_sql}) i ON TRUE ORDER BY i.id",
            voter_params + lock_params,
        )
        voter_width = len(_VOTER_RETURNING)
        images = [row[voter_width:] for row in rows if row[voter_width] is not None]
        return _voter_from_row(key, rows[0][:voter_width]), _images_from_rows(images)
    voter = _voter_from_row(key, _fetch(voter_sql, voter_params)[0])
    # An empty round is served when nothing was left to vote on.
    return voter, _images_from_rows(_fetch(*_images_lock_sql(image_ids))) if image_ids else []


def _fetch(sql: str, params: list) -> list[tuple]:
    """Run one statement of the vote path; its rows, if it returns any."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


def _round_write(votes: list[Vote], images: list[Image], *, expertise: str) -> bool:
    """Insert the round's votes, add them to the tally and store the images' counters and labels.

    True when every vote went in; fewer mean the voter had voted on some image already (ON CONFLICT
    on the one-vote-per-voter-and-image constraint stands in for a check before the insert), and the
    caller rolls the round back. On PostgreSQL two statements (the tally as a data-modifying CTE of the
    insert); elsewhere three.
    """
    if not votes:
        return True
    insert_sql, insert_params = _votes_insert_sql(votes)
    tally_sql, tally_params = _tally_sql(
        expertise=expertise, votes=len(votes), yes=sum(vote.corrosion for vote in votes)
    )
    if connection.vendor == "postgresql":
        inserted = _fetch(f"WITH tally AS ({tally_sql}) {insert_sql}", tally_params + insert_params)
    else:
        inserted = _fetch(insert_sql, insert_params)
        _fetch(tally_sql, tally_params)
    # A statement of its own: with the votes it would pass psycopg's limits for caching a statement's
    # parsed form (50 parameters), and parsing it again on every round costs more than the round trip.
    values_sql, update_sql, store_params = _images_store_sql(images)
    _fetch(f"WITH {values_sql} {update_sql}", store_params)
    by_image = {image_id: pk for pk, image_id in inserted}
    for vote in votes:
        vote.pk = by_image.get(vote.image_id)
        vote._state.adding, vote._state.db = False, connection.alias
    return len(by_image) == len(votes)


# The columns vote_cast reads from the locked image rows: what count_vote and the label rules use.
# In model order: Model.from_db matches a partial row to the fields that way.
_LOCKED_FIELDS = [
    field.attname
    for field in Image._meta.concrete_fields
    if field.attname in {"id", *COUNTER_FIELDS, "imported_label", *LABEL_FIELDS}
]
_LOCKED_CONVERTERS: dict[str, list] = {}


def _images_lock_sql(image_ids: Collection[int]) -> tuple[str, list]:
    """The round's image rows, locked in id order (SQLite locks the whole database per write transaction)."""
    columns = ", ".join(Image._meta.get_field(name).column for name in _LOCKED_FIELDS)
    placeholders = ", ".join(["%s"] * len(image_ids))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT {columns} FROM {Image._meta.db_table} WHERE id IN ({placeholders}) ORDER BY id{lock}"
    return sql, list(image_ids)


def _images_from_rows(rows: list[tuple]) -> list[Image]:
    converters = _LOCKED_CONVERTERS.get(connection.vendor)
    if converters is None:
        converters = _LOCKED_CONVERTERS[connection.vendor] = [
            _from_db_converter(Image._meta.get_field(name)) for name in _LOCKED_FIELDS
        ]
    return [
        Image.from_db(
            connection.alias,
            _LOCKED_FIELDS,
            [value if convert is None else convert(value) for value, convert in zip(row, converters, strict=True)],
        )
        for row in rows
    ]


def _from_db_converter(field):
    """What the ORM would apply to a raw column value (SQLite returns datetimes as text, for one)."""
    converters = connection.ops.get_db_converters(field.get_col(Image._meta.db_table)) + field.get_db_converters(
        connection
    )
    if not converters:
        return None

    def convert(value):
        for converter in converters:
            value = converter(value, None, connection)
        return value

    return convert


def _votes_insert_sql(votes: list[Vote]) -> tuple[str, list]:
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: 20 values are adapted through it
    fields = [Vote._meta.get_field(name) for name in ("voter", "image", "corrosion", "expertise", "created_at")]
    rows = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(votes))
    params = [field.get_db_prep_save(getattr(vote, field.attname), connection) for vote in votes for field in fields]
    sql = (
        f"INSERT INTO {Vote._meta.db_table} ({', '.join(field.column for field in fields)}) VALUES {rows}"
        " ON CONFLICT (voter_id, image_id) DO NOTHING RETURNING id, image_id"
    )
    return sql, params


_STORED_FIELDS = COUNTER_FIELDS + LABEL_FIELDS


def _images_store_sql(images: list[Image]) -> tuple[str, str, list]:
    """The counters and labels of the locked images as a VALUES list `v` and one UPDATE ... FROM v."""
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: read for every value
    fields = [Image._meta.get_field(name) for name in _STORED_FIELDS]
    params = []
    for image in images:
        params.append(image.pk)
        for field in fields:
            value = getattr(image, field.attname)
            # Only datetimes need the backend's adaptation (SQLite stores them as text); the rest go as they are.
            params.append(
                field.get_db_prep_save(value, connection) if field.get_internal_type() == "DateTimeField" else value
            )
    values_sql, update_sql = _store_sql(connection.vendor, len(images))
    return values_sql, update_sql, params


@functools.cache
def _store_sql(vendor: str, rows: int) -> tuple[str, str]:
    """PostgreSQL types a VALUES column from its first row, so that row's parameters are cast to the
    column types (an all-NULL column would otherwise be text); SQLite needs no casts."""
    fields = [Image._meta.get_field(name) for name in _STORED_FIELDS]
    table = Image._meta.db_table

    def placeholder(field, first: bool) -> str:
        return f"CAST(%s AS {field.db_type(connection)})" if vendor == "postgresql" and first else "%s"

    values = ", ".join(
        "(" + ", ".join(["%s"] + [placeholder(field, n == 0) for field in fields]) + ")" for n in range(rows)
    )
    names = [field.column for field in fields]
    return (
        f"v (id, {', '.join(names)}) AS (VALUES {values})",
        f"UPDATE {table} SET {', '.join(f'{name} = v.{name}' for name in names)} FROM v WHERE {table}.id = v.id",
    )


def _crowd_labels_refresh(images: list[Image], *, new_votes: Collection[tuple[int, bool, Voter]] = ()) -> None:
    """Re-derive the crowd labels of images whose counters just changed (rows locked).

    Majority needs only the counters. Weighted aggregation reads the stored votes of the images that
    could be decided, with their voters' stored reliabilities, in one query (an image has a
    handful of votes; the vote table's image index finds them), plus `new_votes` (image id, ticked,
    voter) when they are not written yet.
    """
    if settings.QUIZ_AGGREGATION != "weighted":
        for image in images:
            image.refresh_crowd_label(min_votes=settings.QUIZ_MIN_VOTES)
        return
    threshold = min(settings.QUIZ_MIN_VOTES_CONFIDENT, settings.QUIZ_MIN_VOTES)
    decidable = [image.id for image in images if image.vote_count >= threshold]
    evidence: dict[int, list[tuple[bool, float, float]]] = {image_id: [] for image_id in decidable}
    prior = None
    if decidable:
        for image_id, corrosion, sensitivity, specificity, latest in _votes_with_reliabilities(decidable):
            prior = latest
            if image_id is not None:
                evidence[image_id].append((corrosion, sensitivity, specificity))
        for image_id, corrosion, voter in new_votes:
            if image_id in evidence:
                evidence[image_id].append((corrosion, voter.sensitivity, voter.specificity))
    for image in images:
        posterior = None
        if image.id in evidence:
            votes, sensitivity, specificity = zip(*evidence[image.id]) if evidence[image.id] else ((), (), ())
            posterior = aggregation.image_posterior(votes, sensitivity, specificity, 0.5 if prior is None else prior)
        corrosion, confidence = aggregation.crowd_decision(
            posterior,
            image.vote_count,
            min_votes=settings.QUIZ_MIN_VOTES,
            min_votes_confident=settings.QUIZ_MIN_VOTES_CONFIDENT,
            confidence=settings.QUIZ_LABEL_CONFIDENCE,
        )
        image.set_crowd_decision(corrosion=corrosion, confidence=confidence)


_VOTE_PAGE = 200_000
_RELABEL_CHUNK = 1000


def crowd_labels_reaggregate() -> CrowdAggregation:
    """Dawid–Skene over every vote, gold clamped: store each voter's reliability, then relabel.

    Images whose crowd label (or its confidence, to 1e-3) changes under the weighted rule are
    rewritten, in one transaction, in id order (the order vote_cast locks in, so the two cannot
    deadlock). An image that got another vote while this ran is left to the live vote path.
    Reliabilities are stored in an earlier transaction of their own.
    """
    import numpy as np

    started = time.perf_counter()
    image_ids, voter_ids, ticked = _votes_read()
    images, image_idx = np.unique(image_ids, return_inverse=True)
    voters, voter_idx = np.unique(voter_ids, return_inverse=True)
    gold = np.full(images.size, np.nan)
    expert = np.array([(pk, label == Label.CORROSION) for pk, label in _expert_labels()], dtype=np.int64).reshape(-1, 2)
    if images.size and expert.size:
        at = np.searchsorted(images, expert[:, 0])
        present = (at < images.size) & (images[np.minimum(at, images.size - 1)] == expert[:, 0])
        gold[at[present]] = expert[present, 1]
    # Labels and confidences are kept to 1e-3, so EM need not converge further than that.
    fit = aggregation.dawid_skene(
        image_idx, voter_idx, ticked, n_images=images.size, n_voters=voters.size, gold=gold, tolerance=1e-4
    )
    voters_updated = _voter_reliabilities_store(voters, fit.sensitivity, fit.specificity)

    # The crowd's own verdict, gold not clamped: a validation image's crowd label is what the crowd says.
    crowd = aggregation.posteriors(
        image_idx, voter_idx, ticked, images.size, fit.sensitivity, fit.specificity, fit.class_prior
    )
    n_votes = np.bincount(image_idx, minlength=images.size)
    labels, confidences = aggregation.crowd_decisions(
        crowd,
        n_votes,
        min_votes=settings.QUIZ_MIN_VOTES,
        min_votes_confident=settings.QUIZ_MIN_VOTES_CONFIDENT,
        confidence=settings.QUIZ_LABEL_CONFIDENCE,
    )
    decisions = {
        int(pk): (None if label < 0 else bool(label), None if label < 0 else float(sure), int(n))
        for pk, label, sure, n in zip(images, labels, confidences, n_votes)
    }
    changed = [pk for pk, current in _crowd_labels_current(images) if _differs(current, decisions[pk])]
    with transaction.atomic():
        relabelled = _crowd_labels_write(changed, decisions)
        return CrowdAggregation.objects.create(
            class_prior=fit.class_prior,
            votes=int(ticked.size),
            voters=int(voters.size),
            gold_images=int(np.count_nonzero(~np.isnan(gold))),
            iterations=fit.iterations,
            voters_updated=voters_updated,
            images_relabelled=relabelled,
            seconds=time.perf_counter() - started,
        )


def _votes_read():
    """Every vote as (image id, voter id, ticked) arrays, read in pages of the primary key."""
    import numpy as np

    pages, last = [], 0
    table = Vote._meta.db_table
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, image_id, voter_id, corrosion FROM {table} WHERE id > %s ORDER BY id LIMIT %s",
                [last, _VOTE_PAGE],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            pages.append(np.array(rows, dtype=np.int64))
            last = int(pages[-1][-1, 0])
    data = np.concatenate(pages) if pages else np.zeros((0, 4), dtype=np.int64)
    return data[:, 1], data[:, 2], data[:, 3].astype(np.float64)


def _expert_labels():
    return Image.objects.filter(expert_label__isnull=False, vote_count__gt=0).values_list("id", "expert_label")


def _crowd_labels_current(image_ids):
    rows = Image.objects.filter(vote_count__gt=0).values_list("id", "crowd_label", "crowd_confidence", "vote_count")
    wanted = {int(pk) for pk in image_ids}
    for pk, label, confidence, vote_count in rows.iterator(chunk_size=10_000):
        if pk in wanted:
            yield pk, (label, confidence, vote_count)


def _differs(current, decision) -> bool:
    label, confidence, _ = current
    corrosion, sure, _ = decision
    wanted_label = None if corrosion is None else (Label.CORROSION if corrosion else Label.NO_CORROSION)
    if label != wanted_label:
        return True
    if sure is None or confidence is None:
        return (sure is None) != (confidence is None)
    return abs(confidence - sure) > 1e-3


def _crowd_labels_write(changed: list[int], decisions: dict) -> int:
    """Apply decisions to locked rows (id order); returns how many crowd labels changed."""
    relabelled = 0
    changed = sorted(changed)
    for start in range(0, len(changed), _RELABEL_CHUNK):
        chunk = changed[start : start + _RELABEL_CHUNK]
        rows = []
        for image in Image.objects.select_for_update().filter(id__in=chunk).order_by("id"):
            corrosion, sure, n_votes = decisions[image.id]
            if image.vote_count != n_votes:
                continue  # voted on since the votes were read: the vote path has decided it already
            label_before = image.crowd_label
            image.set_crowd_decision(corrosion=corrosion, confidence=sure)
            relabelled += image.crowd_label != label_before
            rows.append(image)
        _rows_update(Image, rows, LABEL_FIELDS)
    return relabelled


def _rows_update(model, rows: list, fields: list[str]) -> None:
    """One UPDATE per row, sent as one batch: bulk_update's CASE over a thousand ids is quadratic."""
    if not rows:
        return
    model_fields = [model._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{field.column} = %s" for field in model_fields)
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in model_fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {model._meta.db_table} SET {assignments} WHERE id = %s", params)


@transaction.atomic
def _voter_reliabilities_store(voters, sensitivity, specificity) -> int:
    now = timezone.now()
    estimates = {
        int(pk): (round(float(s), 4), round(float(c), 4)) for pk, s, c in zip(voters, sensitivity, specificity)
    }
    changed = []
    # Scanned rather than filtered by id: a voter table's worth of ids is too many query parameters.
    stored = Voter.objects.only("id", "sensitivity", "specificity").order_by("id")
    for voter in stored.iterator(chunk_size=10_000):
        if voter.id not in estimates:
            continue
        sens, spec = estimates[voter.id]
        if abs(voter.sensitivity - sens) > 1e-3 or abs(voter.specificity - spec) > 1e-3:
            voter.sensitivity, voter.specificity, voter.reliability_at = sens, spec, now
            changed.append(voter)
    _rows_update(Voter, changed, ["sensitivity", "specificity", "reliability_at"])
    return len(changed)


def _votes_with_reliabilities(image_ids: list[int]) -> list[tuple]:
    """(image id, ticked, sensitivity, specificity, latest class prior or None) for every vote on the images,
    or one row (None, None, None, None, prior) when they have none.

    Raw SQL, like the other statements of the vote path: the ORM spent longer building this join than
    PostgreSQL spends running it (index on vote.image_id, then voter primary keys).
    """
    placeholders = ", ".join(["%s"] * len(image_ids))
    return _fetch(
        f"""
        SELECT v.image_id, v.corrosion, w.sensitivity, w.specificity, p.class_prior
        FROM (SELECT (SELECT class_prior FROM {CrowdAggregation._meta.db_table} ORDER BY id DESC LIMIT 1)
              AS class_prior) p
        LEFT JOIN ({Vote._meta.db_table} v JOIN {Voter._meta.db_table} w ON w.id = v.voter_id)
            ON v.image_id IN ({placeholders})
        """,
        list(image_ids),
    )


def _tally(*, expertise: str, votes: int, yes: int, day=None) -> None:
    """Add to today's vote tally (one statement; a random shard row keeps concurrent voters apart)."""
    _fetch(*_tally_sql(expertise=expertise, votes=votes, yes=yes, day=day))


def _tally_sql(*, expertise: str, votes: int, yes: int, day=None) -> tuple[str, list]:
    table = VoteTally._meta.db_table
    day = day or timezone.now().date()
    sql = f"""
        INSERT INTO {table} (day, expertise, shard, votes, yes) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (day, expertise, shard) DO UPDATE SET
            votes = {table}.votes + EXCLUDED.votes, yes = {table}.yes + EXCLUDED.yes
        """
    params = [
        VoteTally._meta.get_field("day").get_db_prep_value(day, connection),
        expertise,
        random.randrange(VoteTally.SHARDS),
        votes,
        yes,
    ]
    return sql, params


def _tracked_state(image: Image) -> dict:
    return {field: getattr(image, field) for field in COUNTER_FIELDS + LABEL_FIELDS}


_VOTER_RETURNING = ("id", "expertise", "votes_cast", "sensitivity", "specificity")


def _voter_count_votes_sql(*, key: uuid.UUID, ip_hash: str, votes: int) -> tuple[str, list]:
    """Create the voter if new and add `votes` to their count: one upsert, returning _VOTER_RETURNING.

    Runs inside the caller's transaction: if the votes are refused, the count rolls back too.
    """
    table = Voter._meta.db_table
    now = timezone.now()
    params = [
        Voter._meta.get_field("key").get_db_prep_value(key, connection),
        ip_hash,
        votes,
        Voter._meta.get_field("created_at").get_db_prep_value(now, connection),
        Voter._meta.get_field("last_seen_at").get_db_prep_value(now, connection),
    ]
    sql = f"""
        INSERT INTO {table} (key, expertise, ip_hash, votes_cast, created_at, last_seen_at)
        VALUES (%s, '', %s, %s, %s, %s)
        ON CONFLICT (key) DO UPDATE SET
            votes_cast = {table}.votes_cast + EXCLUDED.votes_cast,
            ip_hash = CASE WHEN EXCLUDED.ip_hash <> '' THEN EXCLUDED.ip_hash ELSE {table}.ip_hash END,
            last_seen_at = EXCLUDED.last_seen_at
        RETURNING {", ".join(_VOTER_RETURNING)}
        """
    return sql, params


def _voter_from_row(key: uuid.UUID, row: tuple) -> Voter:
    return Voter(key=key, **{("pk" if name == "id" else name): value for name, value in zip(_VOTER_RETURNING, row)})


@transaction.atomic
def vote_set(*, voter_key: uuid.UUID, image_id: int, corrosion: bool, ip_hash: str = "") -> Vote:
    """Record or change one voter's vote on one image outside a quiz round (an uploader's own photo)."""
    voter, _ = Voter.objects.get_or_create(key=voter_key, defaults={"ip_hash": ip_hash})
    image = Image.objects.select_for_update().get(pk=image_id)
    vote = Vote.objects.filter(voter=voter, image=image).first()
    if vote is not None and vote.corrosion == corrosion:
        return vote
    if vote is not None:
        image.count_vote(corrosion=vote.corrosion, by=-1)
        vote.corrosion = corrosion
        vote.save(update_fields=["corrosion"])
        # Counted on the day it was first cast: only its side changes.
        _tally(expertise=vote.expertise, votes=0, yes=1 if corrosion else -1, day=vote.created_at.date())
    else:
        vote = Vote.objects.create(voter=voter, image=image, corrosion=corrosion, expertise=voter.expertise)
        Voter.objects.filter(pk=voter.pk).update(votes_cast=F("votes_cast") + 1, last_seen_at=timezone.now())
        _tally(expertise=vote.expertise, votes=1, yes=int(corrosion))
        transaction.on_commit(metrics.CORRECTION_VOTES_RECORDED.inc)
    image.count_vote(corrosion=corrosion)
    _crowd_labels_refresh([image])
    image.save(update_fields=COUNTER_FIELDS + LABEL_FIELDS)
    return vote


def _voter_touch(*, key: uuid.UUID, ip_hash: str) -> Voter:
    voter, created = Voter.objects.get_or_create(key=key, defaults={"ip_hash": ip_hash})
    if not created:
        Voter.objects.filter(pk=voter.pk).update(ip_hash=ip_hash or voter.ip_hash, last_seen_at=timezone.now())
    return voter


@transaction.atomic
def voter_set_expertise(*, voter_key: uuid.UUID, expertise: str, ip_hash: str = "") -> Voter:
    if expertise not in Expertise.values:
        raise ValueError(f"unknown expertise {expertise!r}")
    voter = _voter_touch(key=voter_key, ip_hash=ip_hash)
    voter.expertise = expertise
    voter.save(update_fields=["expertise"])
    return voter


@transaction.atomic
def image_set_expert_label(*, image_id: int, label: str | None) -> Image:
    image = Image.objects.select_for_update().get(pk=image_id)
    if label is not None and label not in Label.values:
        raise ValueError(f"unknown label {label!r}")
    if label is None and image.split == Split.VALIDATION:
        raise ValueError("validation images must keep an expert label")
    image.expert_label = label
    image.refresh_effective_label()
    image.save(update_fields=LABEL_FIELDS)
    return image


@transaction.atomic
def image_exclude(*, image_id: int, reason: str) -> Image:
    """Keep an image out of the quiz, training and exports (it stays in the database, with why)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is needed to exclude an image")
    image = Image.objects.select_for_update().get(pk=image_id)
    image.excluded = True
    image.excluded_reason = reason[:255]
    image.save(update_fields=["excluded", "excluded_reason"])
    return image


@dataclass(frozen=True)
class ImportOutcome:
    image: Image
    created: bool
    # The files this call wrote (not those it found already there): a caller whose own transaction
    # fails after the import removes them (files_remove), so that no orphan file is left.
    files_written: tuple[str, ...] = ()


def image_import(
    *,
    data: bytes,
    split: str,
    label: str | None,
    expert: bool,
    source: str = Source.SEED,
    original_name: str = "",
    info: ImageInfo | None = None,
    thumbnail: Thumbnail | None = None,
) -> ImportOutcome:
    """Add a checked picture to the pool, with its thumbnail; the same bytes imported twice are one image.

    `info` and `thumbnail` let a caller that already decoded the bytes (in a worker pool) skip
    that work here. A failure leaves neither a row nor a file behind.
    """
    if split not in Split.values:
        raise ValueError(f"unknown split {split!r}")
    if label is not None and label not in Label.values:
        raise ValueError(f"unknown label {label!r}")
    if split == Split.VALIDATION and not (expert and label):
        raise ValueError("validation images need an expert label")
    info = info or inspect_image(data, max_pixels=settings.IMAGE_MAX_PIXELS)
    existing = Image.objects.filter(sha256=info.sha256).first()
    if existing is not None:
        return ImportOutcome(image=existing, created=False)
    thumbnail = thumbnail or make_thumbnail(data)

    image = Image(
        sha256=info.sha256,
        source=source,
        split=split,
        width=info.width,
        height=info.height,
        original_name=original_name[:255],
        imported_label=None if expert else label,
        expert_label=label if expert else None,
        thumbnail_width=thumbnail.width,
        thumbnail_height=thumbnail.height,
    )
    image.refresh_effective_label()
    written: list[str] = []
    try:
        image.file.name = _file_store_once(image_upload_to(image, f"x.{info.extension}"), data, written)
        image.thumbnail.name = _file_store_once(thumbnail.name, thumbnail.data, written)
        with transaction.atomic():
            image.save()
    except IntegrityError:
        files_remove(written)
        existing = Image.objects.filter(sha256=info.sha256).first()
        if existing is None:
            raise
        return ImportOutcome(image=existing, created=False)
    except BaseException:
        files_remove(written)
        raise
    return ImportOutcome(image=image, created=True, files_written=tuple(written))


def image_thumbnail_set(*, image_id: int, thumbnail: Thumbnail) -> bool:
    """Give an image that has no thumbnail yet this one (the make_thumbnails backfill).

    False, and no file left behind, when the image is gone or has a thumbnail already. No transaction
    around the file write: the row is changed by one conditional UPDATE, which is atomic on its own.
    """
    written: list[str] = []
    try:
        name = _file_store_once(thumbnail.name, thumbnail.data, written)
        updated = Image.objects.filter(pk=image_id, thumbnail="").update(
            thumbnail=name, thumbnail_width=thumbnail.width, thumbnail_height=thumbnail.height
        )
    except BaseException:
        files_remove(written)
        raise
    # Content-addressed: another image may show the same file, written a moment ago by a concurrent run.
    if not updated and written and not Image.objects.filter(thumbnail=name).exists():
        files_remove(written)
    return bool(updated)


def _file_store_once(name: str, data: bytes, written: list[str]) -> str:
    """Store content-addressed bytes unless their file is there already; note what was written."""
    if default_storage.exists(name):
        return name
    name = default_storage.save(name, ContentFile(data))
    written.append(name)
    return name


def files_remove(names) -> None:
    for name in names:
        default_storage.delete(name)
