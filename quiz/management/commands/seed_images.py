"""Fill an empty image pool: from SEED_IMAGES_DIR when set, else with generated demo images."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from quiz.demo_images import make_demo_image
from quiz.models import Image, Label, Split
from quiz.services.images import image_import

DEMO_COUNTS = {Split.TRAIN: 24, Split.VALIDATION: 8}


class Command(BaseCommand):
    help = "Seed the image pool if it is empty (SEED_IMAGES_DIR, or generated demo images)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="seed even if the pool is not empty")

    def handle(self, *args, force: bool, **options):
        if Image.objects.exists() and not force:
            self.stdout.write("Image pool already has images; nothing to seed.")
            return
        if settings.SEED_IMAGES_DIR:
            self._seed_from(Path(settings.SEED_IMAGES_DIR))
        else:
            self._seed_demo()

    def _seed_from(self, directory: Path) -> None:
        if not directory.is_dir():
            raise CommandError(f"SEED_IMAGES_DIR={directory} is not a directory")
        train, validation = directory / "train", directory / "validation"
        if train.is_dir():
            call_command("import_images", str(train), split=Split.TRAIN, stdout=self.stdout)
            if validation.is_dir():
                call_command("import_images", str(validation), split=Split.VALIDATION, expert=True, stdout=self.stdout)
        else:
            call_command("import_images", str(directory), split=Split.TRAIN, stdout=self.stdout)

    def _seed_demo(self) -> None:
        made = 0
        for split, count in DEMO_COUNTS.items():
            for i in range(count):
                label = Label.CORROSION if i % 2 == 0 else Label.NO_CORROSION
                buffer = io.BytesIO()
                make_demo_image(label, seed=i + (1000 if split == Split.VALIDATION else 0)).save(
                    buffer, format="JPEG", quality=90
                )
                outcome = image_import(
                    data=buffer.getvalue(),
                    split=split,
                    label=label,
                    expert=split == Split.VALIDATION,
                    original_name=f"demo-{split}-{i}.jpg",
                )
                made += outcome.created
        self.stdout.write(
            self.style.WARNING(
                f"Seeded {made} GENERATED DEMO images (synthetic rust blotches, not real photos).\n"
                "Replace them with real ones: SEED_IMAGES_DIR=/path/to/imagefolder (with train/ and validation/)"
                " on an empty database, or `python manage.py import_images DIR`."
            )
        )
