"""Give images stored before perceptual hashes existed their hash, and flag the validation leaks that uncovers.

Safe to rerun, and to stop at any point: only images without a hash are read.
"""

from __future__ import annotations

from quiz.imaging import phash_or_error
from quiz.management.backfill import ImageBackfill
from quiz.models import Image
from quiz.services.images import image_phash_set
from quiz.services.near_duplicates import near_duplicates_check


class Command(ImageBackfill):
    help = (
        "Compute the perceptual hash of every image that has none, then take training images that are "
        "near-duplicates of a validation image out of the pool."
    )
    what = "perceptual hash"

    def handle(self, *args, **options):
        self.pairs, self.flagged = 0, []
        super().handle(*args, **options)

    def missing(self):
        return Image.objects.filter(phash="")

    def worker(self):
        return phash_or_error

    def store(self, computed):
        hashed = [image_id for image_id, phash in computed if image_phash_set(image_id=image_id, phash=phash)]
        # Each batch against the pool hashed so far: a pair is found when its second image gets its hash.
        found, newly_flagged = near_duplicates_check(image_ids=hashed)
        self.pairs += len(found)
        self.flagged += newly_flagged
        return len(hashed)

    def summary(self, made, failed):
        lines = (
            f"Hashed {made} image(s); {failed} could not be read. {self.pairs} train–validation near-duplicate "
            f"pair(s) found; {len(self.flagged)} training image(s) taken out of the pool."
        )
        if self.flagged:
            lines += "\nFlagged: " + ", ".join(f"#{image_id}" for image_id in self.flagged[:100])
        return lines
