"""Test data: small generated images, never the real (unlicensed) photo set."""

from __future__ import annotations

import io
import itertools
import uuid
from pathlib import Path

import factory
from django.conf import settings

from quiz.demo_images import make_demo_image
from quiz.models import Image, Label, Split, Vote, Voter
from quiz.services.images import image_import

_seeds = itertools.count(1)


def jpeg_bytes(label: str = Label.CORROSION, seed: int | None = None, size=(64, 48), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    make_demo_image(label, seed=next(_seeds) if seed is None else seed, size=size).save(buffer, format=fmt)
    return buffer.getvalue()


def make_image(
    *,
    split: str = Split.TRAIN,
    label: str | None = Label.CORROSION,
    expert: bool | None = None,
    **fields,
) -> Image:
    """An image in the pool, stored through the real import service."""
    expert = split == Split.VALIDATION if expert is None else expert
    image = image_import(data=jpeg_bytes(label or Label.CORROSION), split=split, label=label, expert=expert).image
    if fields:
        # A test's excluded=True stands for a reviewer's exclusion, the reason refresh_excluded() keeps.
        fields.setdefault("excluded_by_staff", bool(fields.get("excluded")))
        for name, value in fields.items():
            setattr(image, name, value)
        image.refresh_crowd_label(min_votes=settings.QUIZ_MIN_VOTES)
        image.save()
    return image


class VoterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voter

    key = factory.LazyFunction(uuid.uuid4)


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    voter = factory.SubFactory(VoterFactory)
    corrosion = True


def image_folder(root: Path, counts: dict[str, int], start: int = 0) -> Path:
    for label, count in counts.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / label / f"{label}-{start + i}.jpg").write_bytes(jpeg_bytes(label, seed=start + i))
    return root


def make_model_version(
    *, version: int, val_accuracy: float, status: str = "candidate", onnx: bytes | None = None, **fields
):
    """A registered version; with stand-in files unless real ONNX bytes are given (for registry rules)."""
    from django.utils import timezone

    from modelzoo.models import TrainingRun
    from modelzoo.services import model_version_register

    run = TrainingRun.objects.create(triggered_by="test", state=TrainingRun.State.RUNNING)
    result = {
        "config": {"epochs": 1},
        "n_train": 10,
        "n_val": 4,
        "history": [{"epoch": 1, "val_acc": val_accuracy}],
        "best_epoch": 1,
        "epochs": 1,
        "val_accuracy": val_accuracy,
        "precision": {},
        "recall": {},
        "confusion": [[2, 0], [0, 2]],
        "wall_seconds": 1.0,
        "device": "cpu",
    }
    created = model_version_register(
        run=run,
        result=result,
        onnx=onnx or f"onnx-{version}".encode(),
        checkpoint=b"pt",
        n_votes=0,
        snapshot_at=fields.pop("data_snapshot_at", timezone.now()),
    )
    assert created.version == version
    if fields or status != "candidate":
        for name, value in {"status": status, **fields}.items():
            setattr(created, name, value)
        created.save()
    return created


def mpo_bytes(label: str = Label.CORROSION, seed: int | None = None, size=(64, 48)) -> bytes:
    """A phone-style JPEG with a secondary image (MPF), as cameras store an HDR gain map: Pillow reads it as MPO."""
    primary = make_demo_image(label, seed=next(_seeds) if seed is None else seed, size=size)
    gain_map = primary.convert("L").resize((size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    primary.save(buffer, format="MPO", save_all=True, append_images=[gain_map])
    return buffer.getvalue()


def unique_address() -> str:
    """A documentation-range IPv6 address no other test uses: its rate-limit buckets start empty."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
