"""Classify image files with the active model, through the torch-free serving code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from modelzoo.selectors import model_version_active
from quiz.imaging import image_files


def expand(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += image_files(path)
        else:
            found.append(path)
    return found


class Command(BaseCommand):
    help = "Classify images (files or directories, recursively) with the active model."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--json", action="store_true", dest="as_json", help="one JSON object per line")

    def handle(self, *args, paths: list[str], as_json: bool, **options):
        from modelzoo.inference import classifier_for

        version = model_version_active()
        if version is None:
            self.stderr.write("No active model: train one first (python manage.py train).")
            sys.exit(2)
        classifier = classifier_for(version)
        failures = 0
        for path in expand(paths):
            try:
                prediction = classifier.classify([path])[0]
            except Exception as exc:  # one unreadable file must not stop the rest
                failures += 1
                self._emit_error(path, exc, as_json=as_json)
                continue
            self._emit(path, prediction, version.version, as_json=as_json)
        if failures:
            sys.exit(1)

    def _emit(self, path: Path, prediction, version: int, *, as_json: bool) -> None:
        if as_json:
            record = {
                "path": str(path),
                "label": prediction.label,
                "probability": round(float(prediction.probability), 6),
                "model_version": version,
            }
            self.stdout.write(json.dumps(record))
        else:
            self.stdout.write(f"{path}\t{prediction.label}\t{prediction.probability:.3f}")

    def _emit_error(self, path: Path, exc: Exception, *, as_json: bool) -> None:
        message = f"cannot read image: {exc.__class__.__name__}: {exc}"
        if as_json:
            self.stdout.write(json.dumps({"path": str(path), "error": message}))
        else:
            self.stderr.write(f"{path}\t{message}")
