"""The public dataset: labelled photos as a streamed ImageFolder zip with `labels.csv` and a README.

Inside the zip:

    <split>/<label>/<sha256[:16]>.<ext>   the photos; torchvision's ImageFolder reads <split>/ as it is
    labels.csv                            one row per photo: labels, provenance, votes, agreement
    README.md                             counts per split and label, export date, how the labels were made

The zip is made on the fly: `zip_stream` writes each entry with a data descriptor into a write-only
sink and hands the bytes on as they come, so memory holds a chunk or two whatever the size of the
export, and an HTTP download starts at once instead of after the whole file is built.

Only reads the database; the command, the staff API and the admin action all choose photos with
`datasets.selectors.dataset_export_select` and zip them with `DatasetExport`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from datasets.selectors import BALANCE_RULE, DatasetSelection
from quiz.models import QUESTIONS, Image, Label, Split, Wording
from quiz.selectors import votes_by_wording

logger = logging.getLogger(__name__)

CSV_COLUMNS = [
    "file",
    "split",
    "effective_label",
    "label_source",
    "yes_votes",
    "no_votes",
    "agreement",
    "expert_label",
    # The votes split by the question they answered (quiz.models.Wording), so the two wordings can be compared.
    "yes_votes_any",
    "no_votes_any",
    "yes_votes_repair",
    "no_votes_repair",
]
CHUNK_SIZE = 64 * 1024
# Rows loaded per query while streaming: few enough to keep memory flat, enough that a large export
# is not one query per photo.
BATCH_SIZE = 200
# Photos are already compressed (JPEG, PNG, WebP): deflating them again costs CPU and saves nothing.
_DEFLATED_SUFFIXES = (".csv", ".md", ".txt", ".json")

Producer = Callable[[], Iterable[bytes]]
Entry = tuple[str, Producer]


def archive_name(image: Image) -> str:
    name = image.file.name
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else "jpg"
    return f"{image.split}/{image.effective_label}/{image.sha256[:16]}.{extension}"


def _in_order(selection: DatasetSelection, batch_size: int) -> Iterator[tuple[Image, dict]]:
    """The selected photos in order, each with its votes by wording ({wording: (yes, no)})."""
    ids = selection.image_ids
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        # Loaded (and so filtered again) just before their bytes go out: a photo excluded while a long
        # export is streaming must still not leave, and its labels.csv row must match its folder.
        found = selection.images.in_bulk(batch)
        by_wording = votes_by_wording(image_ids=list(found))
        yield from ((found[pk], by_wording.get(pk, {})) for pk in batch if pk in found)


@dataclass
class DatasetExport:
    """One export of a selection: `chunks()` yields the zip; `counts` and `missing` fill in as it streams."""

    selection: DatasetSelection
    exported_at: datetime = field(default_factory=timezone.now)
    batch_size: int = BATCH_SIZE
    counts: Counter = field(default_factory=Counter)  # (split, label) -> photos written
    missing: list[int] = field(default_factory=list)  # ids whose stored file could not be read

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def chunks(self) -> Iterator[bytes]:
        return zip_stream(self.entries(), date_time=self.exported_at)

    def entries(self) -> Iterator[Entry]:
        """The photos, then labels.csv and README.md, written last so they describe exactly what was sent."""
        # labels.csv grows by a row per photo; past 1 MiB it moves to a temporary file, not memory.
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+", encoding="utf-8", newline="") as rows:
            writer = csv.writer(rows)
            writer.writerow(CSV_COLUMNS)
            for image, by_wording in _in_order(self.selection, self.batch_size):
                try:
                    handle = image.file.storage.open(image.file.name, "rb")
                except OSError:
                    # Skipped rather than aborting: a broken download helps nobody, and the README says so.
                    logger.warning("dataset export: image %s has no readable file %r", image.pk, image.file.name)
                    self.missing.append(image.pk)
                    continue
                try:
                    yield archive_name(image), lambda handle=handle: handle.chunks(CHUNK_SIZE)
                finally:
                    handle.close()
                writer.writerow(_csv_row(image, by_wording))
                self.counts[(image.split, image.effective_label)] += 1
            rows.seek(0)
            yield "labels.csv", lambda: _text_chunks(rows)
            yield "README.md", lambda: [self.readme().encode()]

    def readme(self) -> str:
        selection = self.selection
        rows = []
        for split in Split.values:
            yes, no = self.counts[(split, Label.CORROSION)], self.counts[(split, Label.NO_CORROSION)]
            rows.append(f"| {split} | {yes} | {no} | {yes + no} |")
        table = "\n".join(rows)
        if selection.min_votes:
            floor = f"at least {selection.min_votes} votes, or an expert label (expert-labelled photos need no votes)"
        else:
            floor = "none"
        missing = ""
        if self.missing:
            missing = f"\n- {len(self.missing)} selected photos were left out: their files could not be read."
        return f"""# Corrosion Detector dataset

Exported {self.exported_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {self.total} photos.

## Layout

ImageFolder: `<split>/<label>/<file>`, with `split` train or validation and `label` corrosion or no_corrosion
(`torchvision.datasets.ImageFolder("train")` reads a split as it is). A file is named after the first 16 hex
digits of its SHA-256. `labels.csv` has a row per photo: {", ".join(CSV_COLUMNS)}.

| split | corrosion | no_corrosion | total |
|---|---|---|---|
{table}

## Labels and their provenance

Labels are crowd-sourced. {wording_rule()} {crowd_rule()} Each photo's label is
the first of: an expert's label, the crowd's label, the label it was imported with from its original source.
`label_source` (expert, crowd or imported) says which one it carries, `expert_label` gives the expert's where
there is one, and `yes_votes`, `no_votes` and `agreement` (the share of votes on the majority side, empty without
votes) let you weigh or filter photos by how sure the crowd was. Validation photos always carry an expert label:
use them to evaluate, not to train.

## Selection

- split: {selection.split}
- minimum votes: {floor}
- balanced: {BALANCE_RULE if selection.balanced else "no"}
- photos excluded by reviewers are never exported; unlabelled photos are not exported.{missing}
"""


def wording_rule() -> str:
    """Which questions the votes answered (QUIZ_WORDING now; each vote records its own)."""
    asked = QUESTIONS[settings.QUIZ_WORDING]
    return (
        f'Volunteers are now asked: "{asked}" (QUIZ_WORDING={settings.QUIZ_WORDING}). Each vote records the wording '
        f'it answered: "any" ("{QUESTIONS[Wording.ANY]}", the paper\'s question) or "repair" '
        f'("{QUESTIONS[Wording.REPAIR]}", the paper\'s recommended rephrasing). The `*_any` and `*_repair` '
        "columns of `labels.csv` split each photo's votes by wording, so the two can be compared."
    )


def crowd_rule() -> str:
    """How this site turns votes into a crowd label, as the settings say (QUIZ_AGGREGATION)."""
    if settings.QUIZ_AGGREGATION == "weighted":
        return (
            "Votes are weighed by each volunteer's reliability, estimated from all votes with Dawid–Skene "
            "(expert-labelled photos served as gold questions anchor it). A photo's crowd label is the likelier "
            f"side once {settings.QUIZ_MIN_VOTES_CONFIDENT} votes make it at least "
            f"{settings.QUIZ_LABEL_CONFIDENCE:.0%} likely, or in any case once it has {settings.QUIZ_MIN_VOTES} "
            "votes; an exact tie stays undecided. So the crowd label may disagree with the larger of `yes_votes` "
            "and `no_votes`."
        )
    return f"Once a photo has {settings.QUIZ_MIN_VOTES} votes its crowd label is the majority; a tie stays undecided."


def _csv_row(image: Image, by_wording: dict[str, tuple[int, int]]) -> list:
    agreement = image.agreement
    any_yes, any_no = by_wording.get(Wording.ANY, (0, 0))
    repair_yes, repair_no = by_wording.get(Wording.REPAIR, (0, 0))
    return [
        archive_name(image),
        image.split,
        image.effective_label,
        image.label_source,
        image.votes_yes,
        image.votes_no,
        "" if agreement is None else f"{agreement:.4f}",
        image.expert_label or "",
        any_yes,
        any_no,
        repair_yes,
        repair_no,
    ]


def _text_chunks(text_file) -> Iterator[bytes]:
    while block := text_file.read(CHUNK_SIZE):
        yield block.encode()


class _ChunkSink(io.RawIOBase):
    """Write-only and unseekable, so zipfile writes data descriptors and never goes back to patch a header."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pending = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self.pending += len(data)
        return len(data)

    def drain(self) -> bytes:
        data, self._parts, self.pending = b"".join(self._parts), [], 0
        return data


def zip_stream(entries: Iterable[Entry], *, date_time: datetime | None = None) -> Iterator[bytes]:
    """Zip `(arcname, producer)` entries on the fly, yielding the archive in chunks of about `CHUNK_SIZE`.

    Each producer is called once, when its entry is written, and returns an iterable of bytes. Photos are
    stored; text (csv, md, ...) is deflated. zipfile adds Zip64 records when the archive needs them.
    """
    stamp = (date_time or timezone.now()).astimezone(UTC).timetuple()[:6]
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, mode="w") as archive:
        for arcname, produce in entries:
            info = zipfile.ZipInfo(arcname, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if arcname.endswith(_DEFLATED_SUFFIXES) else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, mode="w") as entry:
                for data in produce():
                    entry.write(data)
                    if sink.pending >= CHUNK_SIZE:
                        yield sink.drain()
    if tail := sink.drain():
        yield tail


def dataset_export_write(*, selection: DatasetSelection, path: Path) -> DatasetExport:
    """Write the export to `path`, through a temporary name so a reader never sees a half-written zip."""
    export = DatasetExport(selection)
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "wb") as handle:
            for chunk in export.chunks():
                handle.write(chunk)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return export
