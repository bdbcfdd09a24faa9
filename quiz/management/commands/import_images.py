"""Import an ImageFolder directory (DIR/corrosion/*, DIR/no_corrosion/*) into the image pool.

Then report the near-duplicates across the train and validation splits that the imported images are part
of (against the whole pool, this import included); their training images leave the pool.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from quiz.imaging import image_files, image_folder_files, read_and_prepare
from quiz.models import Image, Label, Split
from quiz.services.images import image_import
from quiz.services.near_duplicates import MAX_DISTANCE, near_duplicates_check

# Pairs (and files) listed by name in the report; the rest are counted.
LISTED = 20


def unlabelled_files(directory: Path) -> list[tuple[Path, None]]:
    return [(path, None) for path in image_files(directory)]


class Command(BaseCommand):
    help = "Import an ImageFolder directory (DIR/corrosion, DIR/no_corrosion) into the image pool."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--split", choices=Split.values, default=Split.TRAIN)
        parser.add_argument(
            "--expert", action="store_true", help="the folder names are expert labels (required for validation)"
        )
        parser.add_argument(
            "--unlabelled",
            action="store_true",
            help="ignore the folder names: the images join the pool without a label, for the crowd to label",
        )
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="decoding processes")
        parser.add_argument("--no-progress", action="store_true")

    def handle(
        self,
        *args,
        directory: Path,
        split: str,
        expert: bool,
        unlabelled: bool,
        jobs: int,
        no_progress: bool,
        **options,
    ):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        if split == Split.VALIDATION and not expert:
            raise CommandError("validation images need expert labels: add --expert")
        if unlabelled and (expert or split == Split.VALIDATION):
            raise CommandError("--unlabelled is for training images without --expert")
        files = unlabelled_files(directory) if unlabelled else image_folder_files(directory, Label.values)
        if not files:
            where = directory if unlabelled else f"{directory}/corrosion or {directory}/no_corrosion"
            raise CommandError(f"no images found under {where}")
        summary = import_files(files, split=split, expert=expert, jobs=jobs, progress=not no_progress, out=self)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary['created']} new image(s) into {split}; "
                f"{summary['existing']} already present; {summary['failed']} skipped as unreadable."
            )
        )
        self.report_other_split(summary["other_split"], split)
        self.report_near_duplicates(summary["image_ids"])

    def report_other_split(self, found: list[tuple[str, Image]], split: str) -> None:
        """Files of this import that are byte for byte an image of the other split: they were not moved."""
        if not found:
            return
        warning = f"{len(found)} file(s) are already in the pool as an image of another split than {split}:"
        self.stdout.write(self.style.WARNING(warning))
        for path, image in found[:LISTED]:
            self.stdout.write(f"  {path} is {image.split} image #{image.pk}")

    def report_near_duplicates(self, image_ids: list[int]) -> None:
        pairs, flagged = near_duplicates_check(image_ids=image_ids)
        self.stdout.write(
            f"Near-duplicates across the train and validation splits: {len(pairs)} pair(s) within "
            f"{MAX_DISTANCE} bits of the perceptual hash; {len(flagged)} training image(s) newly taken out of the pool."
        )
        names = dict(
            Image.objects.filter(pk__in={i for p in pairs[:LISTED] for i in (p.train_id, p.validation_id)}).values_list(
                "id", "original_name"
            )
        )
        for pair in pairs[:LISTED]:
            self.stdout.write(
                f"  train #{pair.train_id} ({names[pair.train_id]}) ~ validation #{pair.validation_id} "
                f"({names[pair.validation_id]}): {pair.distance} bit(s) apart"
            )
        if len(pairs) > LISTED:
            self.stdout.write(f"  … and {len(pairs) - LISTED} more")


def import_files(files, *, split: str, expert: bool, jobs: int, progress: bool, out: BaseCommand) -> dict:
    labels = {str(path): label for path, label in files}
    summary = {"created": 0, "existing": 0, "failed": 0, "image_ids": [], "other_split": []}
    tasks = [(str(path), settings.IMAGE_MAX_PIXELS) for path, _ in files]
    bar = tqdm(total=len(tasks), unit="img", disable=not progress, desc=f"import {split}")
    # spawn, not fork: a forked child would share the parent's database socket.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        # The pool decodes each photo and makes its thumbnail; this process only stores and records them.
        for path, data, info, thumbnail in pool.map(read_and_prepare, tasks, chunksize=16):
            bar.update()
            if data is None:
                summary["failed"] += 1
                bar.write(out.style.WARNING(f"skipped {path}: {info}"))
                continue
            outcome = image_import(
                data=data,
                split=split,
                label=labels[path],
                expert=expert,
                original_name=Path(path).name,
                info=info,
                thumbnail=thumbnail,
                # Checked below, once for the whole import: not one scan of the train split per validation image.
                check_pool=False,
            )
            summary["created" if outcome.created else "existing"] += 1
            summary["image_ids"].append(outcome.image.pk)
            if outcome.image.split != split:
                summary["other_split"].append((path, outcome.image))
    bar.close()
    return summary
