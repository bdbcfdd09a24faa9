"""Writes of the videos app: take a clip in, analyse it on the `video` queue, fail it, delete it."""

from __future__ import annotations

import functools
import io
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from corrosiondetector.media import private_storage
from modelzoo.selectors import model_version_active
from quiz.services.images import files_remove
from videos import analysis as video_analysis
from videos.decoding import DecodeError
from videos.errors import STATUS_FOR_DECODE_CODE, VideoError, VideoNotFound, VideoTooLarge
from videos.models import Video

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
        raise VideoError("The file is empty.", code="empty")
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
    """Give a video its timeline from the active model. Safe to run twice: a rerun starts over."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.is_final:
        return video
    version = model_version_active()
    if version is None:
        Video.objects.filter(pk=video.pk, status__in=[Video.Status.QUEUED, Video.Status.RUNNING]).update(
            status=Video.Status.NO_MODEL, finished_at=timezone.now()
        )
        return Video.objects.get(pk=video.pk)
    # A rerun after a killed worker starts from zero: the frames of the dead attempt are not kept.
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.RUNNING, attempts=F("attempts") + 1, progress_done=0, progress_total=0, frames=[]
    )
    classifier = video_analysis.frame_classifier(version)
    with _local_copy(video.file.name) as path:
        try:
            result = video_analysis.analyse(
                path, classifier=classifier, every=video.every_s, on_progress=functools.partial(_progress, video.pk)
            )
        except DecodeError as error:
            video_fail(video_id=video.pk, reason=error.message)
            return Video.objects.filter(pk=video.pk).first()
    _video_finish(video.pk, result=result, version=version)
    return Video.objects.filter(pk=video.pk).first()


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
    Video.objects.filter(pk=video_id, status=Video.Status.RUNNING).update(progress_done=done, progress_total=total)


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
        raise VideoNotFound("No such video.")
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
