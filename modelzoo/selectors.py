"""Reads of the model zoo. Torch-free: web processes import this."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Sum

from modelzoo.models import ModelVersion, TrainingRun
from quiz.models import Image, Label, Split


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_get(*, version: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(version=version).first()


def training_run_open() -> TrainingRun | None:
    return TrainingRun.objects.filter(state__in=TrainingRun.OPEN_STATES).first()


@dataclass(frozen=True)
class TrainingData:
    train: list[tuple[str | bytes, int]]
    validation: list[tuple[str | bytes, int]]
    n_votes: int
    # The ids behind `train`, in its order: the version records them (a withdrawn upload is traced back).
    train_image_ids: list[int] = field(default_factory=list)
    # Per-item loss weights in `train`'s order: TRAIN_SUSPECT_WEIGHT for suspect labels, 1 for the rest;
    # None when every weight would be 1 (no suspects, or the setting is 1).
    train_weights: list[float] | None = None


def _source(image: Image) -> str | bytes:
    # A local path lets the trainer decode in threads without copying; other storages give bytes.
    try:
        return image.file.path
    except NotImplementedError:
        with image.file.open("rb") as handle:
            return handle.read()


def _rows(queryset) -> list[Image]:
    return list(queryset.only("id", "file", "effective_label", "label_suspect_score").order_by("id").iterator())


def _items(rows: list[Image]) -> list[tuple[str | bytes, int]]:
    return [(_source(image), int(image.effective_label == Label.CORROSION)) for image in rows]


def training_data() -> TrainingData:
    """Train split with an effective label (never validation), and the expert-labelled validation split."""
    labelled = Image.objects.filter(excluded=False, effective_label__isnull=False)
    train = _rows(labelled.filter(split=Split.TRAIN))
    return TrainingData(
        train=_items(train),
        validation=_items(_rows(labelled.filter(split=Split.VALIDATION, expert_label__isnull=False))),
        n_votes=Image.objects.aggregate(n=Sum("vote_count"))["n"] or 0,
        train_image_ids=[image.id for image in train],
        train_weights=_suspect_weights(train),
    )


def _suspect_weights(rows: list[Image]) -> list[float] | None:
    weight = settings.TRAIN_SUSPECT_WEIGHT
    weights = [weight if image.label_suspect_score is not None else 1.0 for image in rows]
    return weights if any(w != 1.0 for w in weights) else None


def training_items_with_labels() -> tuple[list[tuple[str | bytes, int]], list[int], list[str]]:
    """What suspect-label search scores: the labelled training items, their ids and effective labels."""
    rows = _rows(Image.objects.filter(excluded=False, effective_label__isnull=False, split=Split.TRAIN))
    return _items(rows), [image.id for image in rows], [image.effective_label for image in rows]


def images_suspect_count() -> int:
    return Image.objects.filter(label_suspect_score__isnull=False).count()


def training_images_unlabelled() -> list[tuple[int, str | bytes]]:
    """(id, source) of the training images nobody has labelled yet: what self-training may label."""
    rows = Image.objects.filter(split=Split.TRAIN, excluded=False, effective_label__isnull=True)
    return [(image.id, _source(image)) for image in rows.only("id", "file").order_by("id").iterator()]


def labels_gained_since(moment: datetime | None) -> int:
    """Training images that gained (or changed) their label after `moment`."""
    labelled = Image.objects.filter(split=Split.TRAIN, excluded=False, effective_label__isnull=False)
    if moment is not None:
        labelled = labelled.filter(labelled_at__gt=moment)
    return labelled.count()
