"""Writes of the image pool: importing pictures and their files, and staff decisions on an image."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from corrosiondetector.media import storage_for, unshared_name
from quiz.imaging import ImageInfo, Thumbnail, inspect_image, make_thumbnail
from quiz.models import LABEL_FIELDS, Image, Label, Source, Split, image_upload_to
from quiz.services.near_duplicates import near_duplicate_of_validation, near_duplicates_check
from quiz.services.votes import votes_withdraw


@transaction.atomic
def image_set_expert_label(*, image_id: int, label: str | None) -> Image:
    image = Image.objects.select_for_update().get(pk=image_id)
    if label is not None and label not in Label.values:
        raise ValueError(f"unknown label {label!r}")
    if label is None and image.split == Split.VALIDATION:
        raise ValueError("validation images must keep an expert label")
    image.expert_label = label
    image.refresh_effective_label()
    fields = list(LABEL_FIELDS)
    if label is not None and image.label_suspect_score is not None:
        # An expert's label is final: the suspicion (about the crowd's or the imported label) is settled.
        image.label_suspect_score = image.label_suspected_at = None
        fields += ["label_suspect_score", "label_suspected_at"]
    image.save(update_fields=fields)
    return image


@transaction.atomic
def image_exclude(*, image_id: int, reason: str) -> Image:
    """Keep an image out of the quiz, training and exports (it stays in the database, with why)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is needed to exclude an image")
    image = Image.objects.select_for_update().get(pk=image_id)
    image.excluded_by_staff = True
    image.excluded_reason = reason[:255]
    image.refresh_excluded()
    image.save(update_fields=["excluded_by_staff", "excluded_reason", "excluded"])
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
    check_pool: bool = True,
    shared: bool = True,
) -> ImportOutcome:
    """Add a checked picture to the pool, with its thumbnail; the same bytes imported twice are one image.

    `info` and `thumbnail` let a caller that already decoded the bytes (in a worker pool) skip
    that work here. A failure leaves neither a row nor a file behind. A new image that is not `shared`
    (an uploader's private photo) keeps its files on the private storage and stays out of the pool.

    A training image that is a near-duplicate of a validation image enters flagged, out of the pool. A new
    validation image flags the training images already in the pool that are near-duplicates of it: a scan of
    their hashes, which `check_pool=False` leaves to a caller importing many (near_duplicates_check once).
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
        phash=thumbnail.phash,
    )
    if split == Split.TRAIN:
        image.near_duplicate_of_id = near_duplicate_of_validation(thumbnail.phash)
    image.shared = shared
    image.refresh_excluded()
    image.refresh_effective_label()
    place = (lambda name: name) if shared else unshared_name
    written: list[str] = []
    try:
        image.file.name = _file_store_once(place(image_upload_to(image, f"x.{info.extension}")), data, written)
        image.thumbnail.name = _file_store_once(place(thumbnail.name), thumbnail.data, written)
        with transaction.atomic():
            image.save()
            if split == Split.VALIDATION and check_pool:
                near_duplicates_check(image_ids=[image.pk])
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


def image_phash_set(*, image_id: int, phash: str) -> bool:
    """Give an image that has no perceptual hash yet this one (the make_phashes backfill); False if it has one.

    The caller checks the image for near-duplicates once it has its hash (near_duplicates_check).
    """
    return bool(Image.objects.filter(pk=image_id, phash="").update(phash=phash))


def _file_store_once(name: str, data: bytes, written: list[str]) -> str:
    """Store content-addressed bytes unless their file is there already; note what was written."""
    storage = storage_for(name)
    if storage.exists(name):
        return name
    name = storage.save(name, ContentFile(data))
    written.append(name)
    return name


def files_remove(names) -> None:
    for name in names:
        storage_for(name).delete(name)


@transaction.atomic
def image_delete(*, image_id: int) -> None:
    """Delete an image with its votes, which the voters' counts and the daily tally forget first.

    Its files go once the deletion commits (uploads.receivers), whatever deleted the row.
    """
    votes_withdraw(image_id=image_id)
    Image.objects.filter(pk=image_id).delete()
