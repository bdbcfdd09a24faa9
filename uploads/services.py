"""Writes of the uploads app: take a photo in, classify it, record the uploader's correction, share or
unshare it, delete it."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from corrosiondetector import metrics
from corrosiondetector.media import storage_for, unshared_name
from modelzoo.selectors import model_version_active
from quiz.imaging import CleanedImage, InvalidImage, Thumbnail, clean_photo, make_thumbnail, sha256_of
from quiz.models import EXCLUSION_FIELDS, Image, Label, Moderation, Source, Split, Voter
from quiz.services.images import files_remove, image_delete, image_import
from quiz.services.votes import vote_set, votes_withdraw
from uploads.errors import NotTheUploader, UploadError, UploadNotFound, UploadTooLarge
from uploads.files import file_place, files_remove_unused_on_commit
from uploads.models import Upload

HEATMAP_SIDE = 640

# Why each kind of bad image is refused, as an HTTP status.
_STATUS_FOR_INVALID = {"empty": 400, "corrupt": 400, "unsupported": 415, "too_large": 413}


def upload_create(*, data: bytes, uploader_key: uuid.UUID, shared: bool = False) -> Upload:
    """Check and clean a photo, store it and queue its classification.

    `shared` is the uploader's "Share with the crowd": only then may the photo join the quiz (after
    moderation) and training; otherwise it is theirs alone. A refused photo leaves no row and no file behind.
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
    written: list[str] = []
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
                shared=shared,
            )
            if outcome.created:
                _image_moderation_start(outcome.image)
            has_model = model_version_active() is not None
            upload = Upload.objects.create(
                image=outcome.image,
                uploader_key=uploader_key,
                shared=shared,
                status=Upload.Status.QUEUED if has_model else Upload.Status.NO_MODEL,
                finished_at=None if has_model else timezone.now(),
            )
            if not outcome.created:
                # A photo already in the pool: sharing this copy may share it.
                _image_sharing_refresh(outcome.image.pk, written)
            _voter_remember_sharing(uploader_key, shared=shared)
            # robust: with the broker down the upload is still stored and answered (202), the failure
            # is logged, and the requeue schedule hands it out once the broker is back.
            transaction.on_commit(lambda: _upload_created(upload.id, queue=has_model), robust=True)
    except BaseException:
        # The files were written before the transaction gave up: do not leave them behind.
        files_remove([*(outcome.files_written if outcome is not None else ()), *written])
        raise
    return upload


def _image_moderation_start(image: Image) -> None:
    """A new photo from an upload waits for staff (UPLOAD_MODERATION=pre) before the public may see it."""
    image.moderation = Moderation.PENDING if settings.UPLOAD_MODERATION == "pre" else Moderation.APPROVED
    image.refresh_excluded()
    image.save(update_fields=EXCLUSION_FIELDS)


def _voter_remember_sharing(key: uuid.UUID, *, shared: bool) -> None:
    # The upload page offers the last answer again.
    Voter.objects.update_or_create(key=key, defaults={"shares_uploads": shared})


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
    from modelzoo.ml.heatmap_text import heatmap_region
    from modelzoo.ml.serving import CORROSION, heat_on_photo, render_heatmap_overlay

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

    name = upload.image.file.name
    with storage_for(name).open(name, "rb") as handle:
        photo = PILImage.open(io.BytesIO(handle.read()))
        photo.load()
    classifier = classifier_for(version)
    with metrics.INFERENCE_SECONDS.time():
        prediction = classifier.classify([photo])[0]
        # Render on a screen-sized copy: the overlay is for looking at, and full size costs 10x more.
        preview = photo.convert("RGB")
        preview.thumbnail((HEATMAP_SIDE, HEATMAP_SIDE))
        overlay = render_heatmap_overlay(preview, prediction.cam, input_size=classifier.input_size)
    # Said in words once, here, for the alt text and caption; nothing is claimed for "no corrosion".
    region = ""
    if prediction.label == CORROSION:
        region = heatmap_region(heat_on_photo(preview.size, prediction.cam, input_size=classifier.input_size))
    _upload_finish(upload.pk, prediction=prediction, version=version, overlay=overlay, region=region)
    return Upload.objects.filter(pk=upload.pk).first()


def _upload_finish(upload_id: uuid.UUID, *, prediction, version, overlay, region: str = "") -> None:
    written: list[str] = []
    try:
        with transaction.atomic():
            # Locked, so that the heatmap lands where the upload's sharing (changed meanwhile?) says.
            upload = Upload.objects.select_for_update().filter(pk=upload_id, status=Upload.Status.RUNNING).first()
            if upload is None:  # deleted, or a redelivered twin finished first
                return
            upload.status = Upload.Status.DONE
            upload.label = prediction.label
            upload.probability = float(prediction.probability)
            upload.model_version = version
            upload.heatmap = _heatmap_save(overlay, shared=upload.shared, written=written)
            upload.heatmap_region = region
            upload.finished_at = timezone.now()
            fields = ["status", "label", "probability", "model_version", "heatmap", "heatmap_region", "finished_at"]
            upload.save(update_fields=fields)
    except BaseException:
        files_remove(written)
        raise


def _heatmap_save(overlay, *, shared: bool, written: list[str]) -> str:
    """Named by its content: the proxy lets browsers keep heatmaps a year, so new pixels need a new name."""
    buffer = io.BytesIO()
    overlay.save(buffer, format="PNG", optimize=False, compress_level=1)
    data = buffer.getvalue()
    digest = sha256_of(data)
    name = f"heatmaps/{digest[:2]}/{digest}.png"
    name = name if shared else unshared_name(name)
    storage = storage_for(name)
    # A retried task renders the same pixels: it finds its file already there.
    if storage.exists(name):
        return name
    name = storage.save(name, ContentFile(data))
    written.append(name)
    return name


def upload_fail(*, upload_id: uuid.UUID, reason: str) -> None:
    Upload.objects.filter(pk=upload_id, status__in=[Upload.Status.QUEUED, Upload.Status.RUNNING]).update(
        status=Upload.Status.FAILED, failure_reason=reason[:500], finished_at=timezone.now()
    )


def _upload_of(upload_id: uuid.UUID, voter_key: uuid.UUID | None) -> Upload:
    """The caller's upload, locked; anyone else's is not there (404), so that ids reveal nothing."""
    upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
    if upload is None or voter_key is None or upload.uploader_key != voter_key:
        raise UploadNotFound("No such upload.")
    return upload


def upload_share(*, upload_id: uuid.UUID, voter_key: uuid.UUID | None, shared: bool) -> Upload:
    """The uploader shares their photo with the crowd (and training), or takes it back.

    Its files move between the public and the private storage; the photo stays shared while any of its
    uploads is (or it was imported). Moderation is not touched: a photo staff have not approved stays out.
    """
    written: list[str] = []
    try:
        with transaction.atomic():
            upload = _upload_of(upload_id, voter_key)
            Image.objects.select_for_update().filter(pk=upload.image_id).first()  # lock order: upload, image
            if upload.shared != shared:
                old_heatmap = upload.heatmap.name
                upload.shared = shared
                upload.heatmap.name = file_place(old_heatmap, shared=shared, written=written)
                upload.save(update_fields=["shared", "heatmap"])
                files_remove_unused_on_commit([old_heatmap])
            _image_sharing_refresh(upload.image_id, written)
    except BaseException:
        files_remove(written)
        raise
    return Upload.objects.select_related("image", "model_version").get(pk=upload_id)


def _image_sharing_refresh(image_id: int, written: list[str]) -> None:
    """Shared while an upload of it is (or it was imported); its photo and thumbnail follow. Row locked."""
    image = Image.objects.select_for_update().get(pk=image_id)
    shared = image.source != Source.UPLOAD or image.uploads.filter(shared=True).exists()
    if image.shared == shared:
        return
    old = [image.file.name, image.thumbnail.name]
    image.file.name = file_place(image.file.name, shared=shared, written=written)
    image.thumbnail.name = file_place(image.thumbnail.name, shared=shared, written=written)
    image.shared = shared
    image.refresh_excluded()
    image.save(update_fields=["file", "thumbnail", *EXCLUSION_FIELDS])
    files_remove_unused_on_commit(old)


def upload_delete(*, upload_id: uuid.UUID, voter_key: uuid.UUID | None) -> None:
    """The uploader takes their photo back: see upload_remove. Anyone else finds no such upload."""
    with transaction.atomic():
        _upload_of(upload_id, voter_key)
        upload_remove(upload_id=upload_id)


def upload_remove(*, upload_id: uuid.UUID) -> bool:
    """Delete an upload (the uploader, retention, staff), and its photo when nothing else holds it.

    The photo goes with its votes (counters and labels recomputed) when it came from uploads alone and no
    other upload holds it; otherwise only this uploader's vote goes, and the photo may become unshared.
    Files go once this commits (uploads.receivers), so a rollback leaves everything in place.
    """
    written: list[str] = []
    try:
        with transaction.atomic():
            upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
            if upload is None:
                return False
            image = Image.objects.select_for_update().get(pk=upload.image_id)
            upload.delete()
            others = image.uploads.all()
            if image.source == Source.UPLOAD and not others.exists():
                image_delete(image_id=image.pk)
                return True
            if not others.filter(uploader_key=upload.uploader_key).exists():
                votes_withdraw(image_id=image.pk, voter_key=upload.uploader_key)
            _image_sharing_refresh(image.pk, written)
    except BaseException:
        files_remove(written)
        raise
    return True


def uploads_delete_expired(*, now=None, limit: int = 500) -> int:
    """Delete unshared uploads older than UPLOAD_RETENTION_DAYS (oldest first, `limit` a call)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    expired = list(
        Upload.objects.filter(shared=False, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    # One transaction each: a failure stops at one upload, and the next run resumes.
    return sum(upload_remove(upload_id=upload_id) for upload_id in expired)


@transaction.atomic
def upload_correct(*, upload_id: uuid.UUID, voter_key: uuid.UUID, corrosion: bool, ip_hash: str = "") -> Upload:
    """The uploader says what the photo shows; it counts as their vote on the image."""
    upload = Upload.objects.select_for_update().get(pk=upload_id)
    if upload.uploader_key != voter_key:
        raise NotTheUploader(_("Only the person who uploaded this photo can correct its verdict."))
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
    deleted, _by_model = Token.objects.filter(user=user).delete()
    return deleted > 0
