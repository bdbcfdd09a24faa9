"""Writes of the quiz and the image pool."""

from __future__ import annotations

import random
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from quiz.errors import AlreadyVoted, RoundInvalid, RoundNotYours
from quiz.imaging import ImageInfo, inspect_image
from quiz.models import (
    COUNTER_FIELDS,
    LABEL_FIELDS,
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

    voter = _voter_count_votes(key=voter_key, ip_hash=ip_hash, votes=len(served.image_ids))
    # Lock the images in id order: concurrent rounds sharing images then queue up
    # instead of deadlocking, and the counters below cannot lose an update.
    images = list(Image.objects.select_for_update().filter(id__in=served.image_ids).order_by("id"))
    if len(images) != len(served.image_ids):
        raise RoundInvalid("Some images of this round no longer exist; please take a new round.")
    # A double submit of the same round waits on the locks above, then finds these votes.
    if Vote.objects.filter(voter_id=voter.pk, image_id__in=served.image_ids).exists():
        raise AlreadyVoted("You have already voted on this round.")

    votes = [
        Vote(voter_id=voter.pk, image=image, corrosion=image.id in ticked, expertise=voter.expertise)
        for image in images
    ]
    try:
        Vote.objects.bulk_create(votes)
    except IntegrityError:
        # The unique (voter, image) constraint, should anything slip past the check above.
        raise AlreadyVoted("You have already voted on this round.") from None
    _tally(expertise=voter.expertise, votes=len(votes), yes=sum(vote.corrosion for vote in votes))

    newly_labelled = []
    for image in images:
        before = _tracked_state(image)
        image.record_vote(corrosion=image.id in ticked, min_votes=settings.QUIZ_MIN_VOTES)
        after = _tracked_state(image)
        if image.crowd_label and not before["crowd_label"]:
            newly_labelled.append(image.id)
        # One small UPDATE per image with only what changed: much cheaper to build than
        # bulk_update's CASE expressions, and the rows are locked already.
        Image.objects.filter(pk=image.pk).update(**{k: v for k, v in after.items() if v != before[k]})
    return RoundResult(votes=votes, newly_labelled=newly_labelled, votes_cast=voter.votes_cast)


def _tally(*, expertise: str, votes: int, yes: int, day=None) -> None:
    """Add to today's vote tally (one statement; a random shard row keeps concurrent voters apart)."""
    table = VoteTally._meta.db_table
    day = day or timezone.now().date()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (day, expertise, shard, votes, yes) VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (day, expertise, shard) DO UPDATE SET
                votes = {table}.votes + EXCLUDED.votes, yes = {table}.yes + EXCLUDED.yes
            """,
            [
                VoteTally._meta.get_field("day").get_db_prep_value(day, connection),
                expertise,
                random.randrange(VoteTally.SHARDS),
                votes,
                yes,
            ],
        )


def _tracked_state(image: Image) -> dict:
    return {field: getattr(image, field) for field in COUNTER_FIELDS + LABEL_FIELDS}


def _voter_count_votes(*, key: uuid.UUID, ip_hash: str, votes: int) -> Voter:
    """Create the voter if new and add `votes` to their count, in one statement (one round trip).

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
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (key, expertise, ip_hash, votes_cast, created_at, last_seen_at)
            VALUES (%s, '', %s, %s, %s, %s)
            ON CONFLICT (key) DO UPDATE SET
                votes_cast = {table}.votes_cast + EXCLUDED.votes_cast,
                ip_hash = CASE WHEN EXCLUDED.ip_hash <> '' THEN EXCLUDED.ip_hash ELSE {table}.ip_hash END,
                last_seen_at = EXCLUDED.last_seen_at
            RETURNING id, expertise, votes_cast
            """,
            params,
        )
        voter_id, expertise, votes_cast = cursor.fetchone()
    return Voter(pk=voter_id, key=key, expertise=expertise, votes_cast=votes_cast)


@transaction.atomic
def vote_set(*, voter_key: uuid.UUID, image_id: int, corrosion: bool, ip_hash: str = "") -> Vote:
    """Record or change one voter's vote on one image outside a quiz round (an uploader's own photo)."""
    voter, _ = Voter.objects.get_or_create(key=voter_key, defaults={"ip_hash": ip_hash})
    image = Image.objects.select_for_update().get(pk=image_id)
    vote = Vote.objects.filter(voter=voter, image=image).first()
    if vote is not None and vote.corrosion == corrosion:
        return vote
    if vote is not None:
        image.withdraw_vote(corrosion=vote.corrosion, min_votes=settings.QUIZ_MIN_VOTES)
        vote.corrosion = corrosion
        vote.save(update_fields=["corrosion"])
        # Counted on the day it was first cast: only its side changes.
        _tally(expertise=vote.expertise, votes=0, yes=1 if corrosion else -1, day=vote.created_at.date())
    else:
        vote = Vote.objects.create(voter=voter, image=image, corrosion=corrosion, expertise=voter.expertise)
        Voter.objects.filter(pk=voter.pk).update(votes_cast=F("votes_cast") + 1, last_seen_at=timezone.now())
        _tally(expertise=vote.expertise, votes=1, yes=int(corrosion))
    image.record_vote(corrosion=corrosion, min_votes=settings.QUIZ_MIN_VOTES)
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


def image_import(
    *,
    data: bytes,
    split: str,
    label: str | None,
    expert: bool,
    source: str = Source.SEED,
    original_name: str = "",
    info: ImageInfo | None = None,
) -> ImportOutcome:
    """Add a checked picture to the pool; the same bytes imported twice are one image.

    `info` lets a caller that already decoded the bytes (in a worker pool) skip
    the decode here. A failure leaves neither a row nor a file behind.
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

    image = Image(
        sha256=info.sha256,
        source=source,
        split=split,
        width=info.width,
        height=info.height,
        original_name=original_name[:255],
        imported_label=None if expert else label,
        expert_label=label if expert else None,
    )
    image.refresh_effective_label()
    name = image_upload_to(image, f"x.{info.extension}")
    file_was_there = default_storage.exists(name)
    if not file_was_there:
        name = default_storage.save(name, ContentFile(data))
    image.file.name = name
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        if not file_was_there:
            default_storage.delete(name)
        existing = Image.objects.filter(sha256=info.sha256).first()
        if existing is None:
            raise
        return ImportOutcome(image=existing, created=False)
    except BaseException:
        if not file_was_there:
            default_storage.delete(name)
        raise
    return ImportOutcome(image=image, created=True)
