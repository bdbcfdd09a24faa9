"""Classify video files from the command line with the active model: one JSON object per video."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from modelzoo.selectors import model_version_active
from videos import analysis as video_analysis
from videos.decoding import DecodeError


class Command(BaseCommand):
    help = "Print each video's corrosion timeline as JSON (exit 2 without an active model, 1 for a bad file)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--every", type=float, default=None, help="seconds between samples (VIDEO_EVERY_SECONDS)")
        parser.add_argument("--json", action="store_true", help="one JSON object per line (the only output format)")
        parser.add_argument(
            "--out", default="video-key-frames", help="folder for the key frames and heatmaps (created when needed)"
        )

    def handle(self, *args, paths, every, out, **options):
        version = model_version_active()
        if version is None:
            self.stderr.write("No active model: train one first (manage.py train).")
            sys.exit(2)
        every = every or settings.VIDEO_EVERY_SECONDS
        if every <= 0:
            self.stderr.write("--every must be a positive number of seconds.")
            sys.exit(1)
        classifier = video_analysis.frame_classifier(version)
        failed = False
        for path in paths:
            try:
                record = self._classify(Path(path), classifier=classifier, every=every, out=Path(out))
            except (DecodeError, OSError) as error:
                self.stderr.write(f"{path}: {getattr(error, 'message', None) or error}")
                failed = True
                continue
            record["model_version"] = version.version
            self.stdout.write(json.dumps(record))
        if failed:
            sys.exit(1)

    def _classify(self, path: Path, *, classifier, every: float, out: Path) -> dict:
        if not path.is_file():
            raise DecodeError("No such file.", code="missing")
        video_analysis.video_probe(str(path))
        result = video_analysis.analyse(str(path), classifier=classifier, every=every)
        return {
            "path": str(path),
            "status": "done",
            "progress": {"done": len(result.frames), "total": len(result.frames)},
            "duration_s": result.duration_s,
            "frames": result.frames,
            "segments": result.segments,
            "key_frames": [
                _key_frame_files(key_frame, path, index, out) for index, key_frame in enumerate(result.key_frames)
            ],
        }


def _key_frame_files(key_frame, video_path: Path, index: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    image_path = out / f"{video_path.stem}-{index:03d}.jpg"
    heatmap_path = out / f"{video_path.stem}-{index:03d}-heatmap.png"
    key_frame.image.save(image_path, format="JPEG")
    buffer = io.BytesIO()
    key_frame.heatmap.convert("RGB").save(buffer, format="PNG")
    heatmap_path.write_bytes(buffer.getvalue())
    return {
        "t": key_frame.t,
        "image_path": str(image_path),
        "heatmap_path": str(heatmap_path),
        "probability": key_frame.probability,
    }
