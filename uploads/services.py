"""Writes of the uploads app: take a photo in, classify it, record the uploader's correction."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from corrosiondetector import metrics
from modelzoo.selectors import model_version_active
from quiz.imaging import CleanedImage, InvalidImage, Thumbnail, clean_photo, make_thumbnail, sha256_of
from quiz.models import Label, Source, Split
from quiz.services.images import files_remove, image_import
from quiz.services.votes import vote_set
from uploads.errors import NotTheUploader, UploadError, UploadTooLarge
from uploads.models import Upload

HEATMAP_SIDE = 640

# Why each kind of bad image is refused, as an HTTP status.
_STATUS_FOR_INVALID = {"empty": 400, "corrupt": 400, "unsupported": 415, "too_large": 413}


def upload_create(*, data: bytes, uploader_key: uuid.UUID, shared: bool = False) -> Upload:
    """Check and clean a photo, add it to the quiz pool and queue its classification.

    A refused photo leaves no row and no file behind.
    """
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLarge()
    try:
        cleaned = clean_photo(data, max_pixels=settings.IMAGE_MAX_PIXELS, max_side=settings.UPLOAD_MAX_SIDE)
        # Made here, before any transaction is open: the quiz shows this, not the 1600 px photo.
        thumbnail = make_thumbnail(cleaned.data)
    except InvalidImage as error:
        raise UploadError(str(error), status_code=_STATUS_FOR_INVALID.get(error.code, 400), code=error.code) from None
    return _upload_store(cleaned, thumbnail, uploader_key, shared=shared)


def _upload_store(cleaned: CleanedImage, thumbnail: Thumbnail, uploader_key: uuid.UUID, *, shared: bool) -> Upload:
    outcome = None
    try:
        with transaction.atomic():
            outcome = image_import(
                data=cleaned.data,
                split=Split.TRAIN,
                label=None,
                expert=False,
                source=Source.UPLOAD,
                info=cleaned.info,
                thumbnail=thumbnail,
            )
            has_model = model_version_active() is not None
            upload = Upload.objects.create(
                image=outcome.image,
                uploader_key=uploader_key,
                shared=shared,
                status=Upload.Status.QUEUED if has_model else Upload.Status.NO_MODEL,
                finished_at=None if has_model else timezone.now(),
            )
            # robust: with the broker down the upload is still stored and answered (202), the failure
            # is logged, and the requeue schedule hands it out once the broker is back.
            transaction.on_commit(lambda: _upload_created(upload.id, queue=has_model), robust=True)
    except BaseException:
        # The files were written before the transaction gave up: do not leave them behind.
        if outcome is not None:
            files_remove(outcome.files_written)
        raise
    return upload


def _upload_created(upload_id: uuid.UUID, *, queue: bool) -> None:
    """Once the upload is committed: count it and, when a model is there to judge it, queue it."""
    metrics.UPLOADS_CREATED.inc()
    if queue:
        _enqueue(upload_id)


def _enqueue(upload_id: uuid.UUID) -> None:
    from uploads.tasks import classify_upload

    classify_upload.delay(str(upload_id))


def upload_classify(*, upload_id: uuid.UUID) -> Upload | None:
    """Give an upload the active model's verdict and heatmap. Safe to run twice."""
    from modelzoo.inference import classifier_for
    from modelzoo.ml.serving import render_heatmap_overlay

    upload = Upload.objects.select_related("image").filter(pk=upload_id).first()
    if upload is None or upload.is_final:
        return upload
    version = model_version_active()
    if version is None:
        Upload.objects.filter(pk=upload.pk, status__in=[Upload.Status.QUEUED, Upload.Status.RUNNING]).update(
            status=Upload.Status.NO_MODEL, finished_at=timezone.now()
        )
        return Upload.objects.get(pk=upload.pk)
    Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.RUNNING, attempts=F("attempts") + 1)
    if settings.INFERENCE_DELAY_SECONDS:
        time.sleep(settings.INFERENCE_DELAY_SECONDS)

    from PIL import Image as PILImage

    with upload.image.file.open("rb") as handle:
        photo = PILImage.open(io.BytesIO(handle.read()))
        photo.load()
    classifier = classifier_for(version)
    with metrics.INFERENCE_SECONDS.time():
        prediction = classifier.classify([photo])[0]
        # Render on a screen-sized copy: the overlay is for looking at, and full size costs 10x more.
        preview = photo.convert("RGB")
        preview.thumbnail((HEATMAP_SIDE, HEATMAP_SIDE))
        overlay = render_heatmap_overlay(preview, prediction.cam, input_size=classifier.input_size)
    heatmap_name = _heatmap_save(overlay)
    # Conditional: if a redelivered twin finished first, this changes nothing.
    finished = Upload.objects.filter(pk=upload.pk, status=Upload.Status.RUNNING).update(
        status=Upload.Status.DONE,
        label=prediction.label,
        probability=float(prediction.probability),
        model_version=version,
        heatmap=heatmap_name,
        finished_at=timezone.now(),
    )
    if not finished and not Upload.objects.filter(heatmap=heatmap_name).exists():
        default_storage.delete(heatmap_name)
    return Upload.objects.get(pk=upload.pk)


def _heatmap_save(overlay) -> str:
    """Named by its content: the proxy lets browsers keep heatmaps a year, so new pixels need a new name."""
    buffer = io.BytesIO()
    overlay.save(buffer, format="PNG", optimize=False, compress_level=1)
    data = buffer.getvalue()
    digest = sha256_of(data)
    name = f"heatmaps/{digest[:2]}/{digest}.png"
    # A retried task renders the same pixels: it finds its file already there.
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(data))


def upload_fail(*, upload_id: uuid.UUID, reason: str) -> None:
    Upload.objects.filter(pk=upload_id, status__in=[Upload.Status.QUEUED, Upload.Status.RUNNING]).update(
        status=Upload.Status.FAILED, failure_reason=reason[:500], finished_at=timezone.now()
    )


@transaction.atomic
def upload_correct(*, upload_id: uuid.UUID, voter_key: uuid.UUID, corrosion: bool, ip_hash: str = "") -> Upload:
    """The uploader says what the photo shows; it counts as their vote on the image."""
    upload = Upload.objects.select_for_update().get(pk=upload_id)
    if upload.uploader_key != voter_key:
        raise NotTheUploader("Only the person who uploaded this photo can correct its verdict.")
    vote_set(voter_key=voter_key, image_id=upload.image_id, corrosion=corrosion, ip_hash=ip_hash)
    upload.corrected_label = Label.CORROSION if corrosion else Label.NO_CORROSION
    upload.save(update_fields=["corrected_label"])
    return upload


def uploads_requeue_stuck() -> int:
    """Hand uploads whose task was lost (worker or broker died) to the inference queue again."""
    cutoff = timezone.now() - timedelta(seconds=settings.UPLOAD_REQUEUE_AFTER)
    stuck = list(
        Upload.objects.filter(
            status__in=[Upload.Status.QUEUED, Upload.Status.RUNNING],
            created_at__lt=cutoff,
            attempts__lte=settings.UPLOAD_MAX_RETRIES,
        ).values_list("pk", flat=True)[:500]
    )
    for upload_id in stuck:
        _enqueue(upload_id)
    return len(stuck)


@transaction.atomic
def api_token_issue(*, user, rotate: bool = False) -> Token:
    """A new API token for `user`; with `rotate`, it replaces their current one (which stops working)."""
    current = Token.objects.select_for_update().filter(user=user).first()
    if current is not None:
        if not rotate:
            # Its key was shown once, when it was made; showing it again would hand it to whoever asks.
            raise UploadError(f"{user.get_username()} already has an API token.", status_code=409, code="token_exists")
        current.delete()
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user) -> bool:
    """Delete `user`'s API token; whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
