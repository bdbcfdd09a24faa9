"""The Dawid-Skene pass: every voter's reliability re-estimated from all votes, then the crowd labels it changes."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from quiz import aggregation
from quiz.models import LABEL_FIELDS, CrowdAggregation, Image, Label, Vote, Voter

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
