"""The public dataset: labelled images as an ImageFolder zip with labels.csv and a README, streamed.

The zip is produced chunk by chunk (a write-only sink, entries with data descriptors), so an export
of any size needs neither the whole file in memory nor a request that waits for it to be built.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from quiz.models import Image, Label, Split

CHUNK = 64 * 1024
SPLITS = ("train", "validation", "all")


def export_queryset(
    *, split: str = "all", min_votes: int | None = None, balanced: bool = False, base: QuerySet | None = None
) -> list[Image]:
    """Which images leave: labelled, never excluded; optional vote floor (expert labels need none)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    if min_votes is not None and min_votes < 0:
        raise ValueError("min_votes must not be negative")
    images = (base if base is not None else Image.objects.all()).filter(excluded=False, effective_label__isnull=False)
    if split != "all":
        images = images.filter(split=split)
    if min_votes:
        images = images.filter(Q(vote_count__gte=min_votes) | Q(expert_label__isnull=False))
    chosen = list(images.order_by("split", "effective_label", "sha256"))
    return _balanced(chosen) if balanced else chosen


def _balanced(images: list[Image]) -> list[Image]:
    """Equal numbers per class within each split; the lowest hashes are kept (a fixed, unbiased order)."""
    kept = []
    for split in Split.values:
        in_split = [image for image in images if image.split == split]
        by_label = {label: [i for i in in_split if i.effective_label == label] for label in Label.values}
        smallest = min(len(group) for group in by_label.values())
        for group in by_label.values():
            kept += group[:smallest]
    return kept


def archive_name(image: Image) -> str:
    extension = image.file.name.rsplit(".", 1)[-1].lower() if "." in image.file.name else "jpg"
    return f"{image.split}/{image.effective_label}/{image.sha256[:16]}.{extension}"


def labels_csv(images: Iterable[Image]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["file", "split", "effective_label", "label_source", "yes_votes", "no_votes", "agreement", "expert_label"]
    )
    for image in images:
        agreement = "" if image.agreement is None else f"{image.agreement:.3f}"
        writer.writerow(
            [
                archive_name(image),
                image.split,
                image.effective_label,
                image.label_source,
                image.votes_yes,
                image.votes_no,
                agreement,
                image.expert_label or "",
            ]
        )
    return buffer.getvalue().encode()


def readme(images: list[Image], *, balanced: bool, min_votes: int | None) -> bytes:
    counts = Counter((image.split, image.effective_label) for image in images)
    rows = "\n".join(
        f"| {split} | {counts[(split, Label.CORROSION)]} | {counts[(split, Label.NO_CORROSION)]} |"
        for split in Split.values
    )
    text = f"""# Corrosion Detector dataset

Exported {timezone.now():%Y-%m-%d %H:%M} UTC. {len(images)} images in ImageFolder layout
(`<split>/<label>/<file>`); `labels.csv` gives each file's labels and votes.

| split | corrosion | no_corrosion |
|---|---|---|
{rows}

Labels: the effective label is the expert's if there is one, else the crowd's (the majority of at least the
quiz threshold of votes), else the label the photo was imported with; `label_source` says which.
Options: balanced={balanced}, min_votes={min_votes or 0} (expert-labelled images need no votes).
Excluded images are never exported.
"""
    return text.encode()


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: zipfile then writes data descriptors and never seeks back."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_stream(images: list[Image], *, balanced: bool = False, min_votes: int | None = None) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for image in images:
            # JPEGs do not shrink further: stored, not deflated.
            with archive.open(archive_name(image), mode="w", force_zip64=True) as entry, image.file.open("rb") as src:
                while chunk := src.read(CHUNK):
                    entry.write(chunk)
                    yield sink.drain()
        archive.writestr("labels.csv", labels_csv(images), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(
            "README.md", readme(images, balanced=balanced, min_votes=min_votes), compress_type=zipfile.ZIP_DEFLATED
        )
    yield sink.drain()
