"""Bytes of photo a quiz round sends: the full photos (before thumbnails) against their thumbnails.

    .venv/bin/python bench/quiz_round_bytes.py                                # the real set, 2,000 rounds
    .venv/bin/python bench/quiz_round_bytes.py --dataset DIR --rounds 500
    .venv/bin/python bench/quiz_round_bytes.py --sweep 70 75 80 85 90     # also: thumbnail bytes by JPEG quality

Imports the photo set (ImageFolder: DIR/train/<label>/*, DIR/validation/<label>/*, or DIR/<label>/* alone)
through `manage.py import_images` — the product's own path, which makes the thumbnails — into a fresh
PostgreSQL database (default postgres://postgres@127.0.0.1:5432/cd_bench_round_bytes, dropped and re-created)
and a temporary MEDIA_ROOT. Then it serves rounds in this process through the Django test client, with
production settings (DEBUG off, the default gold and sharpen rates): `GET /api/quiz/round/` (each round's
`url`, the full photo every round sent before thumbnails, and `thumbnail_url`, what is shown now) and the quiz
page `GET /` (the `<img src>` a browser fetches). Each voter answers its round, so its next one holds other
photos. A photo's bytes are its stored file's size, read through the storage API (nothing serves /media/ with
DEBUG off; the proxy does in production). Figures are per round of QUIZ_ROUND_SIZE photos.

--sweep makes every photo's thumbnail at each given JPEG quality (no database) and reports bytes per photo,
which is how THUMBNAIL_QUALITY was chosen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchlib import recreate_database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cd_bench_round_bytes"
DEFAULT_DATASET = ROOT.parent / "shared" / "data" / "corrosion"
TARGET_KB = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=2000, help="rounds served through the API (and as many pages)")
    parser.add_argument("--voters", type=int, default=200, help="voters taking turns, each answering its rounds")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sweep", type=int, nargs="*", default=[], metavar="QUALITY", help="JPEG qualities to try")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def setup_django(url: str, media_root: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        MEDIA_ROOT=media_root,
        DJANGO_SETTINGS_MODULE="corrosiondetector.settings.base",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
        DEBUG="0",
        ALLOWED_HOSTS="testserver",
        # Plain http in-process: no https redirect or Secure-only cookies.
        SECURE_COOKIES="0",
        QUIZ_RATE_PER_VOTER="0",
        QUIZ_RATE_PER_IP="0",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def import_dataset(dataset: Path) -> dict:
    from django.core.management import call_command

    from quiz.models import Image

    started = time.perf_counter()
    quiet = {"no_progress": True, "stdout": open(os.devnull, "w")}
    if (dataset / "train").is_dir():
        call_command("import_images", str(dataset / "train"), split="train", **quiet)
        if (dataset / "validation").is_dir():
            call_command("import_images", str(dataset / "validation"), split="validation", expert=True, **quiet)
    else:
        call_command("import_images", str(dataset), split="train", **quiet)
    seconds = time.perf_counter() - started
    return {
        "images": Image.objects.count(),
        "with_thumbnail": Image.objects.exclude(thumbnail="").count(),
        "import_seconds": round(seconds, 1),
    }


class StoredSizes:
    """The size of the file behind a media URL, through the storage API (cached: rounds repeat photos)."""

    def __init__(self):
        from django.conf import settings
        from django.core.files.storage import default_storage

        self.storage = default_storage
        self.prefix = urlsplit(settings.MEDIA_URL).path
        self.cache: dict[str, int] = {}

    def __call__(self, url: str) -> int:
        path = urlsplit(url).path
        if not path.startswith(self.prefix):
            raise ValueError(f"{url} is not a media URL")
        name = path[len(self.prefix) :]
        if name not in self.cache:
            self.cache[name] = self.storage.size(name)
        return self.cache[name]


def serve_rounds(rounds: int, voters: int) -> dict[str, list[int]]:
    from django.test import Client

    size_of = StoredSizes()
    clients = [Client() for _ in range(voters)]
    totals: dict[str, list[int]] = {"api_original": [], "api_thumbnail": [], "page": []}
    for i in range(rounds):
        client = clients[i % voters]
        response = client.get("/api/quiz/round/")
        assert response.status_code == 200, response.content
        body = response.json()
        totals["api_original"].append(sum(size_of(image["url"]) for image in body["images"]))
        totals["api_thumbnail"].append(sum(size_of(image["thumbnail_url"]) for image in body["images"]))
        answer = client.post("/api/quiz/round/", {"round": body["round"], "corrosion": []}, "application/json")
        assert answer.status_code == 201, answer.content

        page = client.get("/")
        assert page.status_code == 200
        tags = re.findall(r"<img\b[^>]*>", page.content.decode())
        assert tags and all('loading="lazy"' in tag and "width=" in tag and "height=" in tag for tag in tags), tags
        totals["page"].append(sum(size_of(re.search(r'src="([^"]+)"', tag).group(1)) for tag in tags))
    return totals


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(values: list[int]) -> dict:
    kb = 1024
    return {
        "mean_kb": round(statistics.fmean(values) / kb, 1),
        "p95_kb": round(percentile(values, 0.95) / kb, 1),
        "max_kb": round(max(values) / kb, 1),
    }


def quality_sweep(dataset: Path, qualities: list[int]) -> dict:
    """Thumbnail bytes per photo at each JPEG quality, over every photo of the set."""
    from quiz.imaging import make_thumbnail

    photos = [path.read_bytes() for path in sorted(dataset.rglob("*")) if path.suffix.lower() in {".jpg", ".jpeg"}]
    sweep = {"photos": len(photos), "original": summarize([len(data) for data in photos])}
    for quality in qualities:
        sweep[f"quality_{quality}"] = summarize([len(make_thumbnail(data, quality=quality).data) for data in photos])
    return sweep


def main() -> None:
    args = parse_args()
    if not args.dataset.is_dir():
        raise SystemExit(f"{args.dataset} is not a directory (give --dataset DIR)")
    recreate_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="bench-round-bytes-") as media_root:
        setup_django(args.database_url, media_root)
        from django.conf import settings
        from django.core.management import call_command

        from quiz.imaging import THUMBNAIL_MAX_SIDE, THUMBNAIL_QUALITY

        call_command("migrate", verbosity=0)
        imported = import_dataset(args.dataset)
        totals = serve_rounds(args.rounds, args.voters)
    figures = {
        "dataset": str(args.dataset),
        **imported,
        "rounds": args.rounds,
        "round_size": settings.QUIZ_ROUND_SIZE,
        "thumbnail": {"max_side": THUMBNAIL_MAX_SIDE, "quality": THUMBNAIL_QUALITY},
        "original": summarize(totals["api_original"]),
        "thumbnail_api": summarize(totals["api_thumbnail"]),
        "thumbnail_page": summarize(totals["page"]),
        "mean_ratio_thumbnail_to_original": round(
            statistics.fmean(totals["api_thumbnail"]) / statistics.fmean(totals["api_original"]), 3
        ),
        "rounds_over_target": sum(total > TARGET_KB * 1024 for total in totals["page"]),
    }
    if args.sweep:
        figures["per_photo_by_quality"] = quality_sweep(args.dataset, args.sweep)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
