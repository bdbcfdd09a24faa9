"""Reads of the model zoo. Torch-free: web processes import this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Sum

from modelzoo.models import ModelVersion, TrainingRun
from quiz.models import Image, Label, Split


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def training_run_open() -> TrainingRun | None:
    return TrainingRun.objects.filter(state__in=TrainingRun.OPEN_STATES).first()


@dataclass(frozen=True)
class TrainingData:
    train: list[tuple[str | bytes, int]]
    validation: list[tuple[str | bytes, int]]
    n_votes: int
    n_pseudo: int = 0  # of `train`, those labelled by the active model rather than by people


def _source(image: Image) -> str | bytes:
    # A local path lets the trainer decode in threads without copying; other storages give bytes.
    try:
        return image.file.path
    except NotImplementedError:
        with image.file.open("rb") as handle:
            return handle.read()


def _items(queryset) -> list[tuple[str | bytes, int]]:
    rows = queryset.only("id", "file", "effective_label").order_by("id")
    return [(_source(image), int(image.effective_label == Label.CORROSION)) for image in rows.iterator()]


def _pseudo_labelled_items(confidence: float) -> list[tuple[str | bytes, int]]:
    """Unlabelled training images the active model is at least `confidence` sure of, with its prediction.

    Only scores from the active version count: an older model's view is the one that was replaced.
    """
    active = model_version_active()
    if not confidence or active is None:
        return []
    sure = Image.objects.filter(
        split=Split.TRAIN,
        excluded=False,
        effective_label__isnull=True,
        model_version=active.version,
        model_margin__gte=confidence - 0.5,
    )
    rows = sure.only("id", "file", "model_probability").order_by("id")
    return [(_source(image), int(image.model_probability > 0.5)) for image in rows.iterator()]


def training_data() -> TrainingData:
    """Train split with an effective label (never validation), the expert-labelled validation split and,
    with self-training on (TRAIN_PSEUDO_LABEL_CONFIDENCE), the unlabelled images the active model is sure of."""
    labelled = Image.objects.filter(excluded=False, effective_label__isnull=False)
    pseudo = _pseudo_labelled_items(settings.TRAIN_PSEUDO_LABEL_CONFIDENCE)
    return TrainingData(
        train=_items(labelled.filter(split=Split.TRAIN)) + pseudo,
        validation=_items(labelled.filter(split=Split.VALIDATION, expert_label__isnull=False)),
        n_votes=Image.objects.aggregate(n=Sum("vote_count"))["n"] or 0,
        n_pseudo=len(pseudo),
    )


def labels_gained_since(moment: datetime | None) -> int:
    """Training images that gained (or changed) their label after `moment`."""
    labelled = Image.objects.filter(split=Split.TRAIN, excluded=False, effective_label__isnull=False)
    if moment is not None:
        labelled = labelled.filter(labelled_at__gt=moment)
    return labelled.count()
