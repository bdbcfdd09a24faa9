from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quiz.models import Label


class Upload(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        NO_MODEL = "no_model", _("No model yet")

    FINAL = (Status.DONE, Status.FAILED, Status.NO_MODEL)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The same photo uploaded twice is one image in the pool, with two uploads.
    image = models.ForeignKey("quiz.Image", on_delete=models.CASCADE, related_name="uploads")
    uploader_key = models.UUIDField(db_index=True, help_text="the uploader's voter key (cookie)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    probability = models.FloatField(null=True, blank=True, help_text="P(corrosion) from the model")
    model_version = models.ForeignKey(
        "modelzoo.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    heatmap = models.FileField(upload_to="heatmaps/", max_length=255, blank=True)
    # Where the heatmap is hottest, as a region code of modelzoo.ml.heatmap_text ("upper_left", "spread", …);
    # empty for no corrosion, and for uploads classified before it was computed.
    heatmap_region = models.CharField(max_length=16, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    corrected_label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    # The uploader's "Share with the crowd": unticked by default. Unshared, the photo is theirs alone.
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Upload {str(self.id)[:8]} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL
