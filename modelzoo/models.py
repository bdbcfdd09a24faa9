from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from corrosiondetector.media import get_private_storage


class TrainingRun(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.QUEUED, State.RUNNING)

    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    # Constant for every row: with the partial unique constraint below, at most one run
    # can be queued or running at a time, whatever races the triggers get into.
    slot = models.CharField(max_length=16, default="training", editable=False)
    triggered_by = models.CharField(max_length=64, help_text="who or what asked for it: user:<name>, schedule, command")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    config = models.JSONField(default=dict, blank=True)
    promote = models.BooleanField(default=True, help_text="apply the promotion gate when training ends")
    epoch = models.PositiveIntegerField(default=0)
    epochs_total = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="host:pid of the process running it")
    # Refreshed every TRAINING_HEARTBEAT_SECONDS while the run trains; a running run whose
    # heartbeat is older than TRAINING_HEARTBEAT_TIMEOUT is taken for dead (its worker was killed).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=Q(state__in=["queued", "running"]), name="one_open_training_run"
            )
        ]
        permissions = [("trigger_training", "Can trigger a retrain")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.state})"

    @property
    def latest_metrics(self) -> dict:
        return self.history[-1] if self.history else {}


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    training_run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    architecture = models.CharField(max_length=64)
    hyperparameters = models.JSONField(default=dict)
    n_train_images = models.PositiveIntegerField()
    # Self-training (TRAIN_PSEUDO_LABEL_CONFIDENCE): training photos no person had labelled, labelled by a
    # teacher model trained on people's labels; {image id: 1 corrosion / 0 not}.
    n_pseudo_labels = models.PositiveIntegerField(default=0)
    pseudo_labels = models.JSONField(default=dict, blank=True)
    n_val_images = models.PositiveIntegerField()
    # Training photos by where their label came from, counted when the data was read:
    # {"expert": n, "crowd": n, "imported": n, "model": n}. Empty on versions trained before it was recorded.
    train_provenance = models.JSONField(default=dict, blank=True)
    # The training images' ids, so a withdrawn upload can be traced to the versions that learned from it.
    train_image_ids = models.JSONField(default=list, blank=True)
    # Images deleted after this version trained on them: [{"image_id": 12, "withdrawn_at": "2026-12-02T…"}].
    withdrawn_images = models.JSONField(default=list, blank=True)
    n_votes = models.PositiveIntegerField(help_text="crowd votes recorded when training started")
    history = models.JSONField(default=list)
    best_epoch = models.PositiveIntegerField()
    epochs = models.PositiveIntegerField()
    val_accuracy = models.FloatField(help_text="accuracy on the expert-labelled validation set")
    # Null on versions trained before these were measured (migration 0006).
    balanced_accuracy = models.FloatField(null=True, blank=True, help_text="mean per-class recall on validation")
    ece = models.FloatField(
        null=True, blank=True, help_text="expected calibration error on validation (15 bins), before calibration"
    )
    ece_calibrated = models.FloatField(
        null=True, blank=True, help_text="expected calibration error on validation after temperature scaling"
    )
    # The exported model divides its logits by it, so the probability users see is the calibrated one.
    temperature = models.FloatField(default=1.0, help_text="fitted on the selection slice of the training images")
    selection_accuracy = models.FloatField(
        null=True, blank=True, help_text="accuracy of the chosen epoch on the held-out selection slice"
    )
    n_selection_images = models.PositiveIntegerField(
        default=0, help_text="training images held out to choose the epoch and fit the temperature"
    )
    precision = models.JSONField(default=dict)
    recall = models.JSONField(default=dict)
    confusion = models.JSONField(default=list, help_text="rows: true class, columns: predicted (no, yes)")
    training_seconds = models.FloatField()
    device = models.CharField(max_length=32)
    # Private storage: model files reach only researchers and staff (GET /api/models/<version>/onnx/).
    checkpoint = models.FileField(upload_to="models/", max_length=255, storage=get_private_storage)
    checkpoint_sha256 = models.CharField(max_length=64)
    onnx = models.FileField(upload_to="models/", max_length=255, storage=get_private_storage)
    onnx_sha256 = models.CharField(max_length=64)
    onnx_bytes = models.PositiveBigIntegerField()
    data_snapshot_at = models.DateTimeField(help_text="labels up to this moment were in the training data")
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model_version")
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status}, {self.val_accuracy:.1%})"
