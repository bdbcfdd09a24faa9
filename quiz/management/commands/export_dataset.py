"""Write the labelled dataset as a zip (ImageFolder layout + labels.csv + README)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from quiz.dataset_export import SPLITS, export_queryset, zip_stream


class Command(BaseCommand):
    help = "Export labelled images as OUT.zip: <split>/<label>/<file>, labels.csv and README.md."

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path)
        parser.add_argument("--balanced", action="store_true", help="equal numbers per class within each split")
        parser.add_argument(
            "--min-votes", type=int, help="keep images with at least N votes; expert-labelled images need none"
        )
        parser.add_argument("--split", choices=SPLITS, default="all")

    def handle(self, *args, out: Path, balanced: bool, min_votes: int | None, split: str, **options):
        if out.suffix.lower() != ".zip":
            raise CommandError("OUT must end in .zip")
        if min_votes is not None and min_votes < 0:
            raise CommandError("--min-votes must not be negative")
        images = export_queryset(split=split, min_votes=min_votes, balanced=balanced)
        partial = out.with_suffix(".zip.part")
        with open(partial, "wb") as handle:
            for chunk in zip_stream(images, balanced=balanced, min_votes=min_votes):
                handle.write(chunk)
        partial.replace(out)  # a reader never sees a half-written zip
        self.stdout.write(self.style.SUCCESS(f"Exported {len(images)} images to {out}."))
