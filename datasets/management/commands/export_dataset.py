"""Write the labelled dataset to a zip: ImageFolder layout, labels.csv and README.md."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from datasets.export import dataset_export_write
from datasets.selectors import BALANCE_RULE, SPLIT_CHOICES, ExportOptionsError, dataset_export_select


class Command(BaseCommand):
    help = (
        "Export the labelled photos to OUT.zip as <split>/<label>/<file>, with labels.csv (labels, provenance, "
        "votes) and README.md. Unlabelled photos and photos excluded by reviewers are never exported."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, metavar="OUT.zip", help="the zip to write (replaced if it exists)")
        parser.add_argument("--balanced", action="store_true", help=f"keep {BALANCE_RULE}")
        parser.add_argument(
            "--min-votes",
            type=int,
            default=0,
            metavar="N",
            help="keep photos with at least N votes; expert-labelled photos are kept whatever their votes, "
            "because an expert label needs no votes (default 0: no floor)",
        )
        parser.add_argument("--split", choices=SPLIT_CHOICES, default="all", help="which split (default: all)")

    def handle(self, *args, out: Path, balanced: bool, min_votes: int, split: str, **options):
        if out.suffix.lower() != ".zip":
            raise CommandError(f"OUT must be a .zip file, not {out}")
        if out.is_dir():
            raise CommandError(f"{out} is a directory")
        if not out.parent.is_dir():
            raise CommandError(f"no such directory: {out.parent}")
        try:
            selection = dataset_export_select(split=split, min_votes=min_votes, balanced=balanced)
        except ExportOptionsError as exc:
            raise CommandError(str(exc)) from exc
        try:
            export = dataset_export_write(selection=selection, path=out)
        except OSError as exc:
            raise CommandError(f"could not write {out}: {exc}") from exc

        if export.missing:
            self.stderr.write(f"Left out {len(export.missing)} photo(s) whose file could not be read: {export.missing}")
        folders = ", ".join(f"{split_name}/{label} {n}" for (split_name, label), n in sorted(export.counts.items()))
        summary = f"Exported {export.total} photos to {out}" + (f" ({folders})." if folders else ".")
        self.stdout.write(self.style.SUCCESS(summary) if export.total else self.style.WARNING(summary))
