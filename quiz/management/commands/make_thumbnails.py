"""Give images imported before thumbnails existed their thumbnail. Safe to rerun, and to stop at any point."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from quiz.imaging import thumbnail_or_error
from quiz.models import Image
from quiz.services.images import image_thumbnail_set


class Command(BaseCommand):
    help = "Make the thumbnail of every image that has none (images that have one are left alone)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200, help="images read and stored per batch")
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="decoding processes")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size: int, jobs: int, no_progress: bool, **options):
        if batch_size < 1 or jobs < 1:
            raise CommandError("--batch-size and --jobs must be at least 1")
        missing = Image.objects.filter(thumbnail="")
        bar = tqdm(total=missing.count(), unit="img", disable=no_progress, desc="thumbnails")
        made = failed = 0
        # spawn, not fork: a forked child would share the parent's database socket.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) if jobs > 1 else _InProcess() as pool:
            # Keyset pages by id: an image that fails stays without a thumbnail but is not met again.
            last_id = 0
            while batch := list(missing.filter(pk__gt=last_id).order_by("pk").only("pk", "file")[:batch_size]):
                last_id = batch[-1].pk
                readable = []
                for image in batch:
                    try:
                        readable.append((image.pk, self._read(image)))
                    except OSError as exc:
                        failed += 1
                        bar.write(self.style.WARNING(f"image {image.pk}: cannot read {image.file.name}: {exc}"))
                results = pool.map(thumbnail_or_error, [data for _, data in readable])
                for (image_id, _), thumbnail in zip(readable, results):
                    if isinstance(thumbnail, str):
                        failed += 1
                        bar.write(self.style.WARNING(f"image {image_id}: {thumbnail}"))
                    else:
                        made += image_thumbnail_set(image_id=image_id, thumbnail=thumbnail)
                bar.update(len(batch))
        bar.close()
        self.stdout.write(self.style.SUCCESS(f"Made {made} thumbnail(s); {failed} image(s) could not be read."))
        if failed:
            raise CommandError(f"{failed} image(s) still have no thumbnail (see the warnings above)")

    @staticmethod
    def _read(image: Image) -> bytes:
        # Through the file's storage, which may be S3: never a local path.
        with image.file.open("rb") as handle:
            return handle.read()


class _InProcess:
    """The pool's map, run here: --jobs 1 starts no process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def map(self, function, items):
        return map(function, items)
