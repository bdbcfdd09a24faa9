"""Give images imported before thumbnails existed their thumbnail. Safe to rerun, and to stop at any point."""

from __future__ import annotations

from quiz.imaging import thumbnail_or_error
from quiz.management.backfill import ImageBackfill
from quiz.models import Image
from quiz.services.images import image_thumbnail_set


class Command(ImageBackfill):
    help = "Make the thumbnail of every image that has none (images that have one are left alone)."
    what = "thumbnail"

    def missing(self):
        return Image.objects.filter(thumbnail="")

    def worker(self):
        return thumbnail_or_error

    def store(self, computed):
        return sum(image_thumbnail_set(image_id=image_id, thumbnail=thumbnail) for image_id, thumbnail in computed)

    def summary(self, made, failed):
        return f"Made {made} thumbnail(s); {failed} image(s) could not be read."
