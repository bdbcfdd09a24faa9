"""Give images stored before perceptual hashes existed their hash, and flag the validation leaks that uncovers.

Safe to rerun, and to stop at any point: only images without a hash are read.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from quiz.imaging import phash_or_error
from quiz.management.commands.make_thumbnails import _InProcess
from quiz.models import Image
from quiz.services.images import image_phash_set
from quiz.services.near_duplicates import near_duplicates_check


class Command(BaseCommand):
    help = (
        "Compute the perceptual hash of every image that has none, then take training images that are "
        "near-duplicates of a validation image out of the pool."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200, help="images read and stored per batch")
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="decoding processes")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size: int, jobs: int, no_progress: bool, **options):
        if batch_size < 1 or jobs < 1:
            raise CommandError("--batch-size and --jobs must be at least 1")
        missing = Image.objects.filter(phash="")
        bar = tqdm(total=missing.count(), unit="img", disable=no_progress, desc="phashes")
        made = failed = pairs = 0
        flagged: list[int] = []
        # spawn, not fork: a forked child would share the parent's database socket.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) if jobs > 1 else _InProcess() as pool:
            # Keyset pages by id: an image that fails stays without a hash but is not met again.
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
                hashed = []
                for (image_id, _), (phash, error) in zip(readable, pool.map(phash_or_error, [d for _, d in readable])):
                    if error:
                        failed += 1
                        bar.write(self.style.WARNING(f"image {image_id}: {error}"))
                    elif image_phash_set(image_id=image_id, phash=phash):
                        hashed.append(image_id)
                # Each batch against the pool hashed so far: a pair is found when its second image gets its hash.
                found, newly_flagged = near_duplicates_check(image_ids=hashed)
                made, pairs, flagged = made + len(hashed), pairs + len(found), flagged + newly_flagged
                bar.update(len(batch))
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Hashed {made} image(s); {failed} could not be read. {pairs} train–validation near-duplicate "
                f"pair(s) found; {len(flagged)} training image(s) taken out of the pool."
            )
        )
        if flagged:
            self.stdout.write("Flagged: " + ", ".join(f"#{image_id}" for image_id in flagged[:100]))
        if failed:
            raise CommandError(f"{failed} image(s) still have no perceptual hash (see the warnings above)")

    @staticmethod
    def _read(image: Image) -> bytes:
        # Through the file's storage, which may be S3: never a local path.
        with image.file.open("rb") as handle:
            return handle.read()
