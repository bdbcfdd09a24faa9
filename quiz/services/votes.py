"""A volunteer's votes: a quiz round (the hot path, in the statements of quiz/sql.py), a vote on one
image (the ORM path), the voter's expertise, and the counters, crowd labels and daily tally they move."""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from corrosiondetector import metrics
from quiz import aggregation, sql
from quiz.errors import AlreadyVoted, RoundInvalid, RoundNotYours
from quiz.models import COUNTER_FIELDS, LABEL_FIELDS, Expertise, Image, Vote, Voter, VoteTally
from quiz.rounds import round_token_read


@dataclass(frozen=True)
class RoundResult:
    votes: list[Vote]
    newly_labelled: list[int]
    votes_cast: int

    @property
    def gold_image_ids(self) -> list[int]:
        """The round's photos with an expert label (gold questions): the voter is shown what the experts said."""
        return [vote.image_id for vote in self.votes if vote.image.expert_label]


@transaction.atomic
def vote_cast(
    *, voter_key: uuid.UUID, round_token: str, corrosion_ids: Collection[int], ip_hash: str = ""
) -> RoundResult:
    """Record one vote per image of a served round: ticked = corrosion, unticked = no corrosion.

    Either every vote of the round is recorded and counted, or none is.
    """
    served = round_token_read(round_token, max_age=settings.QUIZ_ROUND_MAX_AGE)
    if served.voter_key != voter_key:
        raise RoundNotYours(_("This round was served to someone else."))
    ticked = set(corrosion_ids)
    if not ticked <= set(served.image_ids):
        raise RoundInvalid(_("Some of the ticked images are not in this round."))

    voter, images = _voter_count_votes_and_lock_images(
        key=voter_key, ip_hash=ip_hash, image_ids=served.image_ids, votes=len(served.image_ids)
    )
    if len(images) != len(served.image_ids):
        raise RoundInvalid(_("Some images of this round no longer exist; please take a new round."))

    now = timezone.now()
    votes = [
        Vote(
            voter_id=voter.pk,
            image=image,
            corrosion=image.id in ticked,
            expertise=voter.expertise,
            wording=served.wording,
            created_at=now,
        )
        for image in images
    ]
    # The rows are locked, so the counters and labels can be settled before the votes are written:
    # the writes then go out together, and a refused round rolls all of it back.
    before = {image.id: image.crowd_label for image in images}
    for image in images:
        image.count_vote(corrosion=image.id in ticked)
    _crowd_labels_refresh(images, new_votes=[(vote.image_id, vote.corrosion, voter) for vote in votes])
    newly_labelled = [image.id for image in images if image.crowd_label and not before[image.id]]
    # A double submit of the same round waits on the locks above, then inserts nothing.
    if not _round_write(votes, images, expertise=voter.expertise):
        raise AlreadyVoted(_("You have already voted on this round."))
    # Counted once the votes are in the database: a rolled-back round counts nothing.
    transaction.on_commit(functools.partial(metrics.QUIZ_VOTES_RECORDED.inc, len(votes)))
    return RoundResult(votes=votes, newly_labelled=newly_labelled, votes_cast=voter.votes_cast)


def _voter_count_votes_and_lock_images(
    *, key: uuid.UUID, ip_hash: str, image_ids: Collection[int], votes: int
) -> tuple[Voter, list[Image]]:
    """Count the votes on the voter (created if new) and lock the round's image rows, in id order.

    The locks keep the counters from losing an update. PostgreSQL: one statement; SQLite: two.
    """
    voter_params = _voter_count_votes_params(key=key, ip_hash=ip_hash, votes=votes)
    if image_ids and connection.vendor == "postgresql":
        statement = sql.voter_count_votes_and_lock_images(images=len(image_ids))
        rows = sql.fetch(statement, voter_params + list(image_ids))
        width = len(sql.VOTER_COLUMNS)
        images = [row[width:] for row in rows if row[width] is not None]
        return _voter_from_row(key, rows[0][:width]), _images_from_rows(images)
    voter = _voter_from_row(key, sql.fetch(sql.VOTER_COUNT_VOTES, voter_params)[0])
    if not image_ids:  # the empty round served when nothing was left to vote on
        return voter, []
    return voter, _images_from_rows(sql.fetch(sql.images_lock(images=len(image_ids)), list(image_ids)))


def _round_write(votes: list[Vote], images: list[Image], *, expertise: str) -> bool:
    """Insert the round's votes, add them to the tally and store the images' counters and labels.

    True when every vote went in; fewer mean the voter had voted on some image already, and the caller
    rolls the round back. PostgreSQL: two statements; SQLite: three.
    """
    if not votes:
        return True
    tally_params = _tally_params(expertise=expertise, votes=len(votes), yes=sum(vote.corrosion for vote in votes))
    insert_params = _votes_insert_params(votes)
    if connection.vendor == "postgresql":
        inserted = sql.fetch(sql.tally_add_and_votes_insert(votes=len(votes)), tally_params + insert_params)
    else:
        inserted = sql.fetch(sql.votes_insert(votes=len(votes)), insert_params)
        sql.fetch(sql.TALLY_ADD, tally_params)
    sql.fetch(sql.images_store(vendor=connection.vendor, images=len(images)), _images_store_params(images))
    by_image = {image_id: pk for pk, image_id in inserted}
    for vote in votes:
        vote.pk = by_image.get(vote.image_id)
        vote._state.adding, vote._state.db = False, connection.alias
    return len(by_image) == len(votes)


def _voter_count_votes_params(*, key: uuid.UUID, ip_hash: str, votes: int) -> list:
    now = timezone.now()
    return [
        Voter._meta.get_field("key").get_db_prep_value(key, connection),
        ip_hash,
        votes,
        Voter._meta.get_field("created_at").get_db_prep_value(now, connection),
        Voter._meta.get_field("last_seen_at").get_db_prep_value(now, connection),
    ]


def _voter_from_row(key: uuid.UUID, row: tuple) -> Voter:
    return Voter(key=key, **{("pk" if name == "id" else name): value for name, value in zip(sql.VOTER_COLUMNS, row)})


_LOCKED_CONVERTERS: dict[str, list] = {}


def _images_from_rows(rows: list[tuple]) -> list[Image]:
    """Model instances of the locked rows (sql.IMAGE_LOCKED_COLUMNS), converted as the ORM would."""
    converters = _LOCKED_CONVERTERS.get(connection.vendor)
    if converters is None:
        converters = _LOCKED_CONVERTERS[connection.vendor] = [
            _from_db_converter(Image._meta.get_field(name)) for name in sql.IMAGE_LOCKED_COLUMNS
        ]
    return [
        Image.from_db(
            connection.alias,
            sql.IMAGE_LOCKED_COLUMNS,
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


_VOTE_FIELDS = [Vote._meta.get_field(column) for column in sql.VOTE_COLUMNS]


def _votes_insert_params(votes: list[Vote]) -> list:
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: 20 values are adapted through it
    return [
        field.get_db_prep_save(getattr(vote, field.attname), connection) for vote in votes for field in _VOTE_FIELDS
    ]


_STORED_FIELDS = [Image._meta.get_field(column) for column in sql.IMAGE_STORED_COLUMNS[1:]]


def _images_store_params(images: list[Image]) -> list:
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: read for every value
    params = []
    for image in images:
        params.append(image.pk)
        for field in _STORED_FIELDS:
            value = getattr(image, field.attname)
            # Only datetimes need the backend's adaptation (SQLite stores them as text); the rest go as they are.
            params.append(
                field.get_db_prep_save(value, connection) if field.get_internal_type() == "DateTimeField" else value
            )
    return params


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


def _votes_with_reliabilities(image_ids: list[int]) -> list[tuple]:
    """(image id, ticked, sensitivity, specificity, latest class prior or None) for every vote on the images,
    or one row (None, None, None, None, prior) when they have none."""
    return sql.fetch(sql.votes_with_reliabilities(images=len(image_ids)), list(image_ids))


def _tally(*, expertise: str, votes: int, yes: int, day=None) -> None:
    """Add to a day's vote tally (today's unless given), in one statement."""
    sql.fetch(sql.TALLY_ADD, _tally_params(expertise=expertise, votes=votes, yes=yes, day=day))


def _tally_params(*, expertise: str, votes: int, yes: int, day=None) -> list:
    day = day or timezone.now().date()
    return [
        VoteTally._meta.get_field("day").get_db_prep_value(day, connection),
        expertise,
        random.randrange(VoteTally.SHARDS),
        votes,
        yes,
    ]


@transaction.atomic
def vote_set(*, voter_key: uuid.UUID, image_id: int, corrosion: bool, ip_hash: str = "") -> Vote:
    """Record or change one voter's vote on one image outside a quiz round (an uploader's own photo).

    Its wording is "any": the uploader is asked whether the photo shows corrosion at all.
    """
    voter, _created = Voter.objects.get_or_create(key=voter_key, defaults={"ip_hash": ip_hash})
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
def votes_withdraw(*, image_id: int, voter_key: uuid.UUID | None = None) -> int:
    """Take back the votes on one image: one voter's, or everyone's (before the image is deleted).

    The image's counters and crowd label, the voters' vote counts and the daily tally forget them.
    """
    votes = Vote.objects.filter(image_id=image_id)
    if voter_key is not None:
        votes = votes.filter(voter__key=voter_key)
    # Voters before the image, as the vote path locks them (its voter upsert, then the round's images):
    # the other order could deadlock against a volunteer answering a round with this photo in it.
    list(Voter.objects.filter(pk__in=votes.values("voter_id")).order_by("pk").select_for_update())
    image = Image.objects.select_for_update().get(pk=image_id)
    votes = list(votes)
    if not votes:
        return 0
    Vote.objects.filter(pk__in=[vote.pk for vote in votes]).delete()
    # One vote per voter and image: each of these voters cast exactly one of them.
    Voter.objects.filter(pk__in=[vote.voter_id for vote in votes]).update(votes_cast=Greatest(F("votes_cast") - 1, 0))
    tallies: dict[tuple, list[int]] = {}
    for vote in votes:
        # Taken off the day each was cast, where it was counted.
        counts = tallies.setdefault((vote.created_at.date(), vote.expertise), [0, 0])
        counts[0] += 1
        counts[1] += int(vote.corrosion)
        image.count_vote(corrosion=vote.corrosion, by=-1)
    for (day, expertise), (count, yes) in tallies.items():
        _tally(expertise=expertise, votes=-count, yes=-yes, day=day)
    _crowd_labels_refresh([image])
    image.save(update_fields=COUNTER_FIELDS + LABEL_FIELDS)
    return len(votes)
