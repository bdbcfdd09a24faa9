"""Reads of the model zoo. Torch-free: web processes import this."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from modelzoo.forecast import TARGETS, Forecast, forecast
from modelzoo.models import ModelVersion, TrainingRun
from quiz.models import Image, Label, LabelSource, Split
from quiz.selectors import voter_votes_moments, votes_since, votes_total

logger = logging.getLogger(__name__)


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
    # `train` by where each label came from: {"expert": n, "crowd": n, "imported": n}.
    provenance: dict[str, int] = field(default_factory=dict)


def _source(image: Image) -> str | bytes:
    # A local path lets the trainer decode in threads without copying; other storages give bytes.
    try:
        return image.file.path
    except NotImplementedError:
        with image.file.open("rb") as handle:
            return handle.read()


def _rows(queryset) -> list[Image]:
    return list(queryset.only("id", "file", "effective_label", "label_source").order_by("id").iterator())


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
        provenance=dict(Counter(image.label_source for image in train)),
    )


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


def model_history() -> list[dict]:
    """Validation accuracy per version against time and against votes — the paper's Figure 3b."""
    return list(ModelVersion.objects.order_by("version").values("version", "val_accuracy", "created_at", "n_votes"))


def model_forecast(history: list[dict]) -> Forecast:
    """Votes needed for 95 / 99 / 99.9 % accuracy, from the versions' accuracy against votes."""
    return forecast([(row["n_votes"], row["val_accuracy"]) for row in history])


# Where a training photo's label came from; "model" is self-training's (a teacher model's) label.
PROVENANCES = (LabelSource.EXPERT, LabelSource.CROWD, LabelSource.IMPORTED, "model")


@dataclass(frozen=True)
class Provenance:
    counts: dict[str, int]  # every key of PROVENANCES
    # False: the version predates the record, so the counts were worked out now from its training image ids
    # and those photos' current labels (a label changed since, or a photo deleted since, shifts them).
    recorded: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def training_provenance(version: ModelVersion) -> Provenance | None:
    """How many of a version's training photos carried an expert, crowd, imported or model label.

    None for a version that recorded neither the counts nor its training images.
    """
    if version.train_provenance:
        return Provenance({key: int(version.train_provenance.get(key, 0)) for key in PROVENANCES}, recorded=True)
    if not version.train_image_ids:
        return None
    pseudo = {int(key) for key in version.pseudo_labels}
    people = [image_id for image_id in version.train_image_ids if image_id not in pseudo]
    sources = Counter(Image.objects.filter(pk__in=people).values_list("label_source", flat=True))
    counts = {key: sources.get(key, 0) for key in PROVENANCES if key != "model"}
    return Provenance({**counts, "model": len(pseudo)}, recorded=False)


@dataclass(frozen=True)
class ModelCard:
    """Everything the public model card shows (/model/, GET /api/models/active/)."""

    version: ModelVersion
    provenance: Provenance | None
    history: list[dict]
    forecast: Forecast
    votes_now: int


def model_card() -> ModelCard | None:
    """The active version's card; None when no model is active."""
    version = model_version_active()
    if version is None:
        return None
    history = model_history()
    return ModelCard(
        version=version,
        provenance=training_provenance(version),
        history=history,
        forecast=model_forecast(history),
        votes_now=votes_total(),
    )


@dataclass(frozen=True)
class CommunityFigures:
    """The quiz page's strip: what the crowd did lately and what it is working towards."""

    votes_this_week: int
    labels_gained: int  # training photos labelled since the active model's data was read
    labels_per_retrain: int  # RETRAIN_MIN_NEW_LABELS
    accuracy: float | None  # the active model's validation accuracy
    next_milestone: float | None  # the first of 95 / 99 / 99.9 % it has not reached
    votes_now: int
    votes_for_milestone: int | None  # the forecast's central estimate, when there is one

    @property
    def labels_until_retrain(self) -> int:
        return max(0, self.labels_per_retrain - self.labels_gained)

    @property
    def milestone_progress(self) -> float | None:
        """Share of the votes the forecast says the next milestone needs (0..1)."""
        if not self.votes_for_milestone:
            return None
        return min(1.0, self.votes_now / self.votes_for_milestone)


COMMUNITY_CACHE_KEY = "modelzoo:community-figures:v1"


def community_figures() -> CommunityFigures:
    """Cached for COMMUNITY_CACHE_SECONDS: the quiz page shows these on every round."""
    try:
        cached = cache.get(COMMUNITY_CACHE_KEY)
    except Exception as error:  # the cache (Redis) is down: count afresh rather than fail the quiz page
        logger.warning("community figures not cached: %s: %s", type(error).__name__, error)
        return community_figures_count()
    if cached is not None:
        return cached
    figures = community_figures_count()
    try:
        cache.set(COMMUNITY_CACHE_KEY, figures, settings.COMMUNITY_CACHE_SECONDS)
    except Exception as error:
        logger.warning("community figures not cached: %s: %s", type(error).__name__, error)
    return figures


def community_figures_count() -> CommunityFigures:
    """The strip's figures counted now (a handful of aggregate queries)."""
    active = model_version_active()
    # The scheduled retrain's own rule (retrain_if_enough_labels): labels gained since the active data.
    gained = labels_gained_since(active.data_snapshot_at if active else None)
    accuracy = active.val_accuracy if active else None
    milestone = next((target for target in TARGETS if accuracy is None or accuracy < target), None)
    needed = None
    if milestone is not None and active is not None:
        prediction = model_forecast(model_history())
        if prediction.ok:
            needed = round(prediction.votes_needed[milestone][1])
    return CommunityFigures(
        votes_this_week=votes_since(timezone.now() - timedelta(days=6)),
        labels_gained=gained,
        labels_per_retrain=settings.RETRAIN_MIN_NEW_LABELS,
        accuracy=accuracy,
        next_milestone=milestone,
        votes_now=votes_total(),
        votes_for_milestone=needed,
    )


@dataclass(frozen=True)
class VersionTrained:
    version: int
    val_accuracy: float
    created_at: datetime
    photos: int  # photos the voter had voted on (before its data was read) among its training photos
    approximate: bool  # no training ids recorded: "voted on a training photo before its data was read"


def model_versions_trained_by(*, voter_key) -> list[VersionTrained]:
    """The versions whose training data held photos this voter had voted on by the time the data was read.

    Each version records its training images' ids (train_image_ids) and when its data was read
    (data_snapshot_at), so a vote counts for a version when its photo is among those ids and it was cast
    before that moment. A version without recorded ids (none yet exist here) falls back to "voted on a
    training photo before the data was read", flagged as approximate.
    """
    voted = voter_votes_moments(key=voter_key)
    if not voted:
        return []
    found = []
    versions = ModelVersion.objects.order_by("version").only(
        "version", "val_accuracy", "created_at", "data_snapshot_at", "train_image_ids"
    )
    for version in versions:
        before = {image_id for image_id, at in voted.items() if at <= version.data_snapshot_at}
        if version.train_image_ids:
            photos = len(before.intersection(version.train_image_ids))
            approximate = False
        else:
            photos = Image.objects.filter(pk__in=before, split=Split.TRAIN).count()
            approximate = True
        if photos:
            found.append(VersionTrained(version.version, version.val_accuracy, version.created_at, photos, approximate))
    return found
