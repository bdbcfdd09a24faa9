"""Keeping the validation set out of training: training images that are near-duplicates of a validation image.

A resized, re-encoded, lightly cropped or recoloured copy of a validation photo has other bytes (another
sha256) but nearly the same perceptual hash (quiz.imaging.phash_of). Such a training image gets
near_duplicate_of = that validation image, which takes it out of the pool (Image.refresh_excluded): a model
scored on the validation set must never have trained on one of its photos.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.db import transaction
from django.db.models import Count, Max

from quiz.imaging import phash_pairs_within
from quiz.models import Image, Split

# Hamming distance (bits of 64) at or under which two photos count as near-duplicates. Measured on the real
# set (bench/near_duplicates.py, bench/README.md): at 10, every half-size, quality-60 and 10 %-brighter copy
# of the 344 validation photos and 338 of 344 copies cropped by 5 % are caught, while 20 of the 4.9 M pairs
# of distinct photos fall under it, 11 of them real near-duplicates. 12 catches 3 more crops for 4x the
# false pairs.
MAX_DISTANCE = 10

# Reading the whole train split's hashes, this many rows at a time.
_CHUNK = 20_000


@dataclass(frozen=True)
class NearDuplicate:
    train_id: int
    validation_id: int
    distance: int


# The validation hashes, loaded once per process and read again only when the set changes: checking an
# upload must not read the table.
_validation_cache: tuple[tuple[int, int | None], list[tuple[int, str]]] | None = None


def validation_hashes() -> list[tuple[int, str]]:
    """(id, phash) of every hashed validation image."""
    global _validation_cache
    hashed = Image.objects.filter(split=Split.VALIDATION).exclude(phash="")
    # A hash is only ever set once (from ""), and ids only grow: count and largest id change with the set.
    key = tuple(hashed.aggregate(count=Count("id"), last=Max("id")).values())
    if _validation_cache is None or _validation_cache[0] != key:
        _validation_cache = (key, list(hashed.order_by("id").values_list("id", "phash")))
    return _validation_cache[1]


def near_duplicate_of_validation(phash: str) -> int | None:
    """The id of the validation image nearest to PHASH within MAX_DISTANCE, or None."""
    if not phash:
        return None
    pairs = phash_pairs_within([(0, phash)], validation_hashes(), MAX_DISTANCE)
    return min(pairs, key=lambda pair: (pair[2], pair[1]))[1] if pairs else None


def near_duplicates_find(*, image_ids: Iterable[int]) -> list[NearDuplicate]:
    """Every train–validation pair within MAX_DISTANCE that one of these images is part of, nearest first."""
    hashed = Image.objects.exclude(phash="").values_list("id", "split", "phash")
    images = [row for ids in _chunks(iter(image_ids), _CHUNK) for row in hashed.filter(pk__in=ids)]
    train = [(image_id, phash) for image_id, split, phash in images if split == Split.TRAIN]
    validation = [(image_id, phash) for image_id, split, phash in images if split == Split.VALIDATION]
    found = {(t, v): d for t, v, d in phash_pairs_within(train, validation_hashes(), MAX_DISTANCE)}
    if validation:
        pool = Image.objects.filter(split=Split.TRAIN).exclude(phash="").order_by("id").values_list("id", "phash")
        for chunk in _chunks(pool.iterator(chunk_size=_CHUNK), _CHUNK):
            found.update({(t, v): d for t, v, d in phash_pairs_within(chunk, validation, MAX_DISTANCE)})
    pairs = [NearDuplicate(train_id=t, validation_id=v, distance=d) for (t, v), d in found.items()]
    return sorted(pairs, key=lambda pair: (pair.distance, pair.train_id, pair.validation_id))


@transaction.atomic
def near_duplicates_flag(*, pairs: Iterable[NearDuplicate]) -> list[int]:
    """Take the training image of each pair out of the pool, as a near-duplicate of its nearest validation image.

    Images flagged already keep their validation image. Returns the ids of the images flagged now.
    """
    # Farthest first: the nearest validation image of a training image is written last, and stays.
    ordered = sorted(pairs, key=lambda pair: (pair.distance, pair.validation_id), reverse=True)
    nearest = {pair.train_id: pair.validation_id for pair in ordered}
    images = list(
        Image.objects.select_for_update()
        .filter(pk__in=list(nearest), split=Split.TRAIN, near_duplicate_of__isnull=True)
        .order_by("id")
    )
    for image in images:
        image.near_duplicate_of_id = nearest[image.pk]
        image.refresh_excluded()
    Image.objects.bulk_update(images, ["near_duplicate_of", "excluded"])
    return [image.pk for image in images]


def near_duplicates_check(*, image_ids: Iterable[int]) -> tuple[list[NearDuplicate], list[int]]:
    """Find the train–validation near-duplicates these images are part of and flag their training images.

    Returns the pairs found and the ids of the training images flagged by this call.
    """
    pairs = near_duplicates_find(image_ids=image_ids)
    return pairs, near_duplicates_flag(pairs=pairs)


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk = list(islice(rows, size))
    while chunk:
        yield chunk
        chunk = list(islice(rows, size))
