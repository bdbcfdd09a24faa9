"""The whole hostile corpus (tests/hostile_corpus.py) posted through HTTP, on PostgreSQL.

Every file a strict Pillow decode rejects, or that breaks a limit, gets a 4xx and leaves no row and no file;
the mutations that still decode are either refused with a 4xx or stored as re-encoded pixels only.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from hostile_corpus import family_counts, hostile_corpus
from quiz.models import Image, Vote
from uploads.models import Upload

URL = "/api/uploads/"


@pytest.fixture
def unthrottled(settings):
    # A thousand uploads a minute from one address is exactly what the rate limit is for; not under test here.
    settings.UPLOAD_RATE_PER_VOTER = 0
    settings.UPLOAD_RATE_PER_IP = 0
    return settings


def corpus_for(settings):
    return hostile_corpus(max_pixels=settings.IMAGE_MAX_PIXELS, max_bytes=settings.UPLOAD_MAX_BYTES)


def post(client, item):
    upload = SimpleUploadedFile(item.name, item.data, content_type=item.content_type)
    return client.post(URL, {"image": upload}, format="multipart")


def files_under(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def test_it_builds_a_deterministic_corpus_of_over_a_thousand_refusable_files(settings):
    corpus, survivors = corpus_for(settings)
    assert len(corpus) >= 1000
    assert set(family_counts(corpus)) >= {
        "truncation",
        "bit_flip",
        "zero_or_junk",
        "bomb_or_giant",
        "polyglot",
        "disguised",
        "odd_filename",
    }
    hostile_corpus.cache_clear()
    again, _ = corpus_for(settings)
    assert [item.sha256 for item in again] == [item.sha256 for item in corpus]


def test_it_answers_every_hostile_file_with_a_4xx_and_leaves_nothing_behind(
    postgres, api_client, media_root, unthrottled
):
    corpus, _ = corpus_for(unthrottled)
    statuses: Counter = Counter()
    wrong = []
    started = time.monotonic()
    for item in corpus:
        response = post(api_client, item)
        statuses[response.status_code] += 1
        if not 400 <= response.status_code < 500:
            wrong.append(f"{response.status_code} {item.family}: {item.note} ({item.name[:40]!r})")
        elif not response.json().get("detail"):
            wrong.append(f"{response.status_code} without a reason: {item.family}: {item.note}")
    elapsed = time.monotonic() - started
    print(f"hostile corpus: {len(corpus)} files in {elapsed:.1f} s, statuses {dict(sorted(statuses.items()))}")
    assert wrong == []
    assert not Upload.objects.exists() and not Image.objects.exists() and not Vote.objects.exists()
    assert files_under(media_root) == []


def test_it_stores_only_re_encoded_pixels_of_mutations_that_still_decode(postgres, api_client, media_root, unthrottled):
    _, survivors = corpus_for(unthrottled)
    assert survivors, "the generator should produce some still-decodable mutations"
    statuses: Counter = Counter()
    for item in survivors:
        response = post(api_client, item)
        statuses[response.status_code] += 1
        assert response.status_code == 202 or 400 <= response.status_code < 500, (item.note, response.status_code)
    print(f"still-decodable mutations: {len(survivors)} files, statuses {dict(sorted(statuses.items()))}")
    stored = [upload.image.file.read() for upload in Upload.objects.select_related("image")]
    assert len(stored) == Upload.objects.count() > 0
    thumbnails = [image.thumbnail.read() for image in Image.objects.all()]
    for data in stored + thumbnails:
        # Re-encoded: a plain JPEG that ends where its pixels end, with nothing appended or embedded.
        assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
        assert b"PK\x03\x04" not in data and b"<script" not in data and b"Exif\x00\x00" not in data
        assert b"ICC_PROFILE" not in data
        with PILImage.open(io.BytesIO(data)) as img:
            img.load()
    # Accepted images are deduplicated by content, so there may be fewer images than uploads; never more files
    # than each image's photo and thumbnail (two images with the same pixels share one thumbnail).
    names = {name for image in Image.objects.all() for name in (image.file.name, image.thumbnail.name)}
    assert sorted(str(p.relative_to(media_root)) for p in files_under(media_root)) == sorted(names)
