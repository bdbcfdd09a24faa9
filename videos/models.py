from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from corrosiondetector.media import get_private_storage


class Video(models.Model):
    """An uploaded clip and its corrosion timeline. Its files live on the private storage, whatever `shared`
    says: the clip, key frames and heatmaps reach a browser only through Django (videos.views)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        NO_MODEL = "no_model", "No model yet"

    FINAL = (Status.DONE, Status.FAILED, Status.NO_MODEL)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploader_key = models.UUIDField(db_index=True, help_text="the uploader's voter key (cookie) or token user's key")
    shared = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    failure_reason = models.CharField(max_length=500, blank=True)
    file = models.FileField(storage=get_private_storage, max_length=255)
    size = models.BigIntegerField(help_text="bytes")
    container = models.CharField(max_length=64, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    every_s = models.FloatField(help_text="seconds between regular samples")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Stamped while a worker analyses the video; stale, the worker died (videos_requeue_stuck).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    model_version = models.ForeignKey(
        "modelzoo.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="videos"
    )
    # [{"t", "probability", "label"}], in time order.
    frames = models.JSONField(default=list, blank=True)
    # [{"start", "end", "max_probability"}]
    segments = models.JSONField(default=list, blank=True)
    # [{"t", "probability", "image", "heatmap"}]: names of files on the private storage.
    key_frames = models.JSONField(default=list, blank=True)
    # [{"t", "upload_id"}]: key frames the uploader gave the crowd, each as a photo upload.
    shared_frames = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Video {str(self.id)[:8]} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    def file_names(self) -> list[str]:
        """Every file of this video on the private storage."""
        names = [self.file.name]
        for key_frame in self.key_frames:
            names += [key_frame.get("image"), key_frame.get("heatmap")]
        return [name for name in names if name]
