"""Which photos an export takes: the command, the staff API and the admin action all choose through
`dataset_export_select`. Only reads the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from quiz.models import Image, Label, Split

ALL_SPLITS = "all"
SPLIT_CHOICES = (ALL_SPLITS, *Split.values)
BALANCE_RULE = (
    "equal numbers of each class within each split; of the larger class, the photos with the lowest SHA-256 "
    "(a content-derived order: the same pool always gives the same set, and it favours neither easy nor hard photos)"
)


class ExportOptionsError(ValueError):
    """Options that make no export; the command reports it as a CommandError, the API as a 400."""


@dataclass(frozen=True, eq=False)
class DatasetSelection:
    """The photos chosen for an export, in archive order, and the options that chose them."""

    images: QuerySet[Image]  # the filters alone, applied again while streaming
    image_ids: list[int]
    split: str = ALL_SPLITS
    min_votes: int = 0
    balanced: bool = False

    def __len__(self) -> int:
        return len(self.image_ids)


def exportable_images(base: QuerySet[Image] | None = None) -> QuerySet[Image]:
    """Photos allowed to leave at all: labelled and not excluded, whatever else was asked."""
    images = Image.objects.all() if base is None else base
    return images.filter(excluded=False, effective_label__isnull=False)


def dataset_export_select(
    *,
    split: str = ALL_SPLITS,
    min_votes: int | None = None,
    balanced: bool = False,
    base: QuerySet[Image] | None = None,
) -> DatasetSelection:
    """Choose the photos of an export.

    `min_votes` keeps photos with at least that many votes or an expert label (an expert's word needs
    no crowd behind it). `balanced` keeps `BALANCE_RULE`. `base` narrows the pool (the admin's selection).
    """
    if split not in SPLIT_CHOICES:
        raise ExportOptionsError(f"split must be one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    if min_votes is not None and min_votes < 0:
        raise ExportOptionsError(f"min_votes must be at least 0, not {min_votes}")
    min_votes = min_votes or 0
    # Without clearing it, an ordering inherited from `base` (the admin's) would leak into GROUP BY below.
    images = exportable_images(base).order_by()
    if split != ALL_SPLITS:
        images = images.filter(split=split)
    if min_votes:
        images = images.filter(Q(vote_count__gte=min_votes) | Q(expert_label__isnull=False))
    ids = _balanced_ids(images) if balanced else _all_ids(images)
    return DatasetSelection(images=images, image_ids=ids, split=split, min_votes=min_votes, balanced=balanced)


def _all_ids(images: QuerySet[Image]) -> list[int]:
    return list(images.order_by("split", "effective_label", "sha256").values_list("id", flat=True))


def _balanced_ids(images: QuerySet[Image]) -> list[int]:
    sizes = Counter(
        {
            (row["split"], row["effective_label"]): row["n"]
            for row in images.values("split", "effective_label").annotate(n=Count("id"))
        }
    )
    ids: list[int] = []
    for split in Split.values:
        per_class = min(sizes[(split, label)] for label in Label.values)
        for label in Label.values:
            if per_class:
                group = images.filter(split=split, effective_label=label).order_by("sha256")
                ids += group.values_list("id", flat=True)[:per_class]
    return ids
