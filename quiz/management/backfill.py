"""The image backfills' one walk (make_thumbnails, make_phashes): every image that lacks something, read
through its storage, computed in a pool of decoding processes, stored a batch at a time.

Safe to rerun and to stop at any point: only images that still lack it are read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from tqdm import tqdm

from quiz.models import Image


class ImageBackfill(BaseCommand):
    """Subclasses say what is missing, how to compute it from an image's bytes and how to store a batch."""

    what = "result"  # what an image lacks, in messages ("thumbnail", "perceptual hash")

    def missing(self) -> QuerySet[Image]:
        raise NotImplementedError

    def worker(self) -> Callable[[bytes], tuple[Any, str]]:
        """A function of a Django-free module (spawned processes import it without Django set up), e.g. in
        quiz.imaging: bytes -> (value, "") or (anything, why it failed)."""
        raise NotImplementedError

    def store(self, computed: list[tuple[int, Any]]) -> int:
        """Store one batch's (image id, value) pairs; how many images got theirs."""
        raise NotImplementedError

    def summary(self, made: int, failed: int) -> str:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200, help="images read and stored per batch")
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="decoding processes")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size: int, jobs: int, no_progress: bool, **options):
        if batch_size < 1 or jobs < 1:
            raise CommandError("--batch-size and --jobs must be at least 1")
        missing = self.missing()
        bar = tqdm(total=missing.count(), unit="img", disable=no_progress, desc=self.what)
        made = failed = 0
        # spawn, not fork: a forked child would share the parent's database socket.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) if jobs > 1 else _InProcess() as pool:
            # Keyset pages by id: an image that fails stays without it but is not met again.
            last_id = 0
            while batch := list(missing.filter(pk__gt=last_id).order_by("pk").only("pk", "file")[:batch_size]):
                last_id = batch[-1].pk
                readable = []
                for image in batch:
                    try:
                        readable.append((image.pk, _read(image)))
                    except OSError as exc:
                        failed += 1
                        bar.write(self.style.WARNING(f"image {image.pk}: cannot read {image.file.name}: {exc}"))
                computed = []
                for (image_id, _), (value, error) in zip(readable, pool.map(self.worker(), [d for _, d in readable])):
                    if error:
                        failed += 1
                        bar.write(self.style.WARNING(f"image {image_id}: {error}"))
                    else:
                        computed.append((image_id, value))
                made += self.store(computed)
                bar.update(len(batch))
        bar.close()
        self.stdout.write(self.style.SUCCESS(self.summary(made, failed)))
        if failed:
            raise CommandError(f"{failed} image(s) still have no {self.what} (see the warnings above)")


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
