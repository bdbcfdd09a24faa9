"""Writes of the videos app: take a clip in, analyse it on the `video` queue, requeue it when its worker died,
fail it, share its frames with the crowd, delete it."""

from __future__ import annotations

import functools
import io
import logging
import os
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from corrosiondetector.media import private_storage
from modelzoo.selectors import model_version_active
from quiz.services.images import files_remove
from uploads.errors import UploadError
from uploads.services import upload_create
from videos import analysis as video_analysis
from videos.decoding import DecodeError
from videos.errors import STATUS_FOR_DECODE_CODE, VideoError, VideoNotFound, VideoNotShared, VideoTooLarge
from videos.models import Video

logger = logging.getLogger(__name__)

# Files of a video on the private storage: under this folder, the `unshared/` prefix keeping them off the
# public /media/ paths wherever both storages share a folder (corrosiondetector.media).
FOLDER = "unshared/videos"
_EXTENSIONS = {"mov,mp4,m4a,3gp,3g2,mj2": ".mp4", "matroska,webm": ".mkv"}


def video_create(*, path: str, uploader_key: uuid.UUID, shared: bool = False, every: float | None = None) -> Video:
    """Check a clip on disk (size, container, codec, caps, one frame decodes), store it, queue its analysis.

    `path` is a file the caller owns (the upload's temporary file); it is copied, never read into memory.
    A refused clip leaves no row and no file behind.
    """
    size = os.path.getsize(path)
    if size > settings.VIDEO_MAX_BYTES:
        raise VideoTooLarge()
    if size == 0:
        raise VideoError(_("The file is empty."), code="empty")
    try:
        probed = video_analysis.video_probe(path)
    except DecodeError as error:
        raise VideoError(
            error.message, status_code=STATUS_FOR_DECODE_CODE.get(error.code, 400), code=error.code
        ) from None
    video_id = uuid.uuid4()
    name = f"{FOLDER}/{video_id}/source{_EXTENSIONS.get(probed.container, '.bin')}"
    with open(path, "rb") as handle:
        name = private_storage.save(name, File(handle))
    try:
        with transaction.atomic():
            has_model = model_version_active() is not None
            video = Video.objects.create(
                id=video_id,
                uploader_key=uploader_key,
                shared=shared,
                file=name,
                size=size,
                container=probed.container,
                codec=probed.codec,
                duration_s=probed.duration_s,
                every_s=every or settings.VIDEO_EVERY_SECONDS,
                status=Video.Status.QUEUED if has_model else Video.Status.NO_MODEL,
                finished_at=None if has_model else timezone.now(),
            )
            if has_model:
                # robust: with the broker down the video is still stored and answered (202).
                transaction.on_commit(functools.partial(_enqueue, video.id), robust=True)
    except BaseException:
        files_remove([name])
        raise
    return video


def _enqueue(video_id: uuid.UUID) -> None:
    from videos.tasks import analyse_video

    analyse_video.delay(str(video_id))


def video_analyse(*, video_id: uuid.UUID) -> Video | None:
    """Give a video its timeline from the active model. Safe to run twice, and to run after a dead worker.

    A run first claims the video: queued, or running with a stale heartbeat (its worker died). A second
    delivery of the same task while a live worker holds the video claims nothing and returns at once.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.is_final:
        return video
    version = model_version_active()
    if version is None:
        Video.objects.filter(pk=video.pk, status__in=[Video.Status.QUEUED, Video.Status.RUNNING]).update(
            status=Video.Status.NO_MODEL, finished_at=timezone.now()
        )
        return Video.objects.get(pk=video.pk)
    if not _video_claim(video.pk):
        return video
    try:
        with _heartbeat(video.pk):
            classifier = video_analysis.frame_classifier(version)
            with _local_copy(video.file.name) as path:
                try:
                    result = video_analysis.analyse(
                        path,
                        classifier=classifier,
                        every=video.every_s,
                        on_progress=functools.partial(_progress, video.pk),
                    )
                except DecodeError as error:
                    video_fail(video_id=video.pk, reason=error.message)
                    return Video.objects.filter(pk=video.pk).first()
        _video_finish(video.pk, result=result, version=version)
    except Exception:
        # Hand the claim back, so that the task's retry (a new delivery) may claim the video again.
        Video.objects.filter(pk=video.pk, status=Video.Status.RUNNING).update(status=Video.Status.QUEUED)
        raise
    return Video.objects.filter(pk=video.pk).first()


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.VIDEO_STALE_AFTER)


def _video_claim(video_id: uuid.UUID) -> bool:
    # One UPDATE decides between two deliveries racing for the same video: only one matches the row.
    # A rerun starts from zero: the frames of a dead attempt are not kept.
    stale = Q(heartbeat_at__lt=_stale_before()) | Q(heartbeat_at__isnull=True)
    claimable = Q(status=Video.Status.QUEUED) | (Q(status=Video.Status.RUNNING) & stale)
    claimed = Video.objects.filter(claimable, pk=video_id).update(
        status=Video.Status.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=timezone.now(),
        progress_done=0,
        progress_total=0,
        frames=[],
    )
    return claimed == 1


@contextmanager
def _heartbeat(video_id: uuid.UUID):
    """Stamp `heartbeat_at` every VIDEO_HEARTBEAT_SECONDS while the video is analysed, decoding included
    (the decoder child may work for minutes before the first progress): a video whose stamp grows stale
    lost its worker, and videos_requeue_stuck hands it out again."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.VIDEO_HEARTBEAT_SECONDS):
                Video.objects.filter(pk=video_id, status=Video.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"video-heartbeat-{video_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def videos_requeue_stuck(*, limit: int = 100) -> int:
    """Hand out again videos whose task was lost: running with a stale heartbeat (the worker was killed), or
    queued for longer than VIDEO_STALE_AFTER without a worker taking them (the broker lost the message).

    Idempotent: a requeued video gets a fresh stamp, so the next run (every minute) leaves it alone for
    another VIDEO_STALE_AFTER; a duplicate message finds the video claimed and does nothing. A video that
    has lost its worker VIDEO_MAX_ATTEMPTS times fails instead: it may be what kills the worker.
    """
    cutoff = _stale_before()
    stale = list(
        Video.objects.annotate(stamp=Coalesce("heartbeat_at", "created_at"))
        .filter(status__in=[Video.Status.QUEUED, Video.Status.RUNNING], stamp__lt=cutoff)
        .order_by("stamp")
        .values_list("pk", "attempts")[:limit]
    )
    requeued = 0
    for video_id, attempts in stale:
        if attempts >= settings.VIDEO_MAX_ATTEMPTS:
            video_fail(video_id=video_id, reason=f"The analysis stopped {attempts} times without finishing.")
            continue
        with transaction.atomic():
            # Still stale (not claimed or finished meanwhile): back to queued, stamped now.
            moved = (
                Video.objects.annotate(stamp=Coalesce("heartbeat_at", "created_at"))
                .filter(pk=video_id, status__in=[Video.Status.QUEUED, Video.Status.RUNNING], stamp__lt=cutoff)
                .update(status=Video.Status.QUEUED, heartbeat_at=timezone.now())
            )
            if moved:
                transaction.on_commit(functools.partial(_enqueue, video_id), robust=True)
                requeued += 1
    return requeued


@contextmanager
def _local_copy(name: str):
    """A path the decoder can open: the file itself on local storage, a temporary copy from S3."""
    try:
        local = private_storage.path(name)
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    with tempfile.NamedTemporaryFile(suffix=os.path.splitext(name)[1]) as copy:
        with private_storage.open(name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name


def _progress(video_id: uuid.UUID, done: int, total: int) -> None:
    Video.objects.filter(pk=video_id, status=Video.Status.RUNNING).update(
        progress_done=done, progress_total=total, heartbeat_at=timezone.now()
    )


def _video_finish(video_id: uuid.UUID, *, result: video_analysis.Analysis, version) -> None:
    written: list[str] = []
    try:
        key_frames = [
            _key_frame_save(video_id, index, key_frame, written) for index, key_frame in enumerate(result.key_frames)
        ]
        with transaction.atomic():
            video = Video.objects.select_for_update().filter(pk=video_id, status=Video.Status.RUNNING).first()
            if video is None:  # deleted meanwhile, or a redelivered twin finished first
                files_remove(written)
                return
            old = [name for name in video.file_names() if name != video.file.name]
            video.status = Video.Status.DONE
            video.duration_s = result.duration_s
            video.frames = result.frames
            video.segments = result.segments
            video.key_frames = key_frames
            video.model_version = version
            video.progress_done = video.progress_total = len(result.frames)
            video.finished_at = timezone.now()
            video.save()
            _files_remove_on_commit([name for name in old if name not in written])
    except BaseException:
        files_remove(written)
        raise


def _key_frame_save(video_id: uuid.UUID, index: int, key_frame: video_analysis.KeyFrame, written: list[str]) -> dict:
    stem = f"{FOLDER}/{video_id}/key-{index:03d}-{uuid.uuid4().hex[:8]}"
    names = {}
    for kind, picture, format_ in (("image", key_frame.image, "JPEG"), ("heatmap", key_frame.heatmap, "PNG")):
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, format=format_)
        name = private_storage.save(
            f"{stem}-{kind}.{format_.lower().replace('jpeg', 'jpg')}", ContentFile(buffer.getvalue())
        )
        written.append(name)
        names[kind] = name
    return {"t": key_frame.t, "probability": key_frame.probability, **names}


def video_fail(*, video_id: uuid.UUID, reason: str) -> None:
    Video.objects.filter(pk=video_id, status__in=[Video.Status.QUEUED, Video.Status.RUNNING]).update(
        status=Video.Status.FAILED, failure_reason=reason[:500], finished_at=timezone.now()
    )


@transaction.atomic
def video_delete(*, video_id: uuid.UUID, uploader_key: uuid.UUID | None) -> None:
    """The uploader takes their clip back, with its key frames. Anyone else finds no such video."""
    video = Video.objects.select_for_update().filter(pk=video_id).first()
    if video is None or uploader_key is None or video.uploader_key != uploader_key:
        raise VideoNotFound(_("No such video."))
    video_remove(video_id=video.pk)


@transaction.atomic
def video_remove(*, video_id: uuid.UUID) -> bool:
    """Delete a video (the uploader, retention); its files go once this commits, so a rollback keeps them."""
    video = Video.objects.select_for_update().filter(pk=video_id).first()
    if video is None:
        return False
    names = video.file_names()
    video.delete()
    _files_remove_on_commit(names)
    return True


def videos_delete_expired(*, now=None, limit: int = 100) -> int:
    """Delete unshared videos older than UPLOAD_RETENTION_DAYS (the uploads' rule), oldest first."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    expired = list(
        Video.objects.filter(shared=False, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    # One transaction each: a failure stops at one video, and the next run resumes.
    return sum(video_remove(video_id=video_id) for video_id in expired)


def _files_remove_on_commit(names: list[str]) -> None:
    transaction.on_commit(functools.partial(files_remove, names))


def video_frames_share(*, video_id: uuid.UUID, uploader_key: uuid.UUID | None) -> list[dict]:
    """Give the crowd the video's key frames: each segment's peak and the frames the model is least sure of.

    Each frame becomes a photo upload of the same uploader through the uploads' own path (uploads.services
    .upload_create, shared): it is classified, waits for moderation like any shared photo before volunteers
    see it, and the uploader finds it under "My uploads". Only the uploader, and only for a video they chose
    to share with the crowd (the upload's consent). Sharing again adds nothing: the frames already shared
    are remembered on the video. Returns [{"t", "upload_id"}] for every shared frame, old and new.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or uploader_key is None or video.uploader_key != uploader_key:
        raise VideoNotFound(_("No such video."))
    if not video.shared:
        raise VideoNotShared()
    if video.status != Video.Status.DONE:
        raise VideoError(_("The video has no key frames yet: wait until it is done."), status_code=409, code="not_done")
    for index in range(len(video.key_frames)):
        _video_frame_share(video_id=video.pk, index=index)
    return Video.objects.get(pk=video.pk).shared_frames


@transaction.atomic
def _video_frame_share(*, video_id: uuid.UUID, index: int) -> None:
    # One frame per transaction, under the video's lock: two requests at once share each frame once, and a
    # failure keeps the frames shared before it (their uploads' files are committed with their rows).
    video = Video.objects.select_for_update().filter(pk=video_id).first()
    if video is None or index >= len(video.key_frames):
        return
    key_frame = video.key_frames[index]
    if any(shared["t"] == key_frame["t"] for shared in video.shared_frames):
        return
    with private_storage.open(key_frame["image"], "rb") as handle:
        data = handle.read()
    try:
        upload = upload_create(data=data, uploader_key=video.uploader_key, shared=True)
    except UploadError as error:
        # A frame the photo checks refuse (too small, say) stays out; the others still go.
        logger.warning("video %s: frame at %ss not shared: %s", video_id, key_frame["t"], error.message)
        return
    video.shared_frames = [*video.shared_frames, {"t": key_frame["t"], "upload_id": str(upload.id)}]
    video.save(update_fields=["shared_frames"])
