"""Small synthetic image sets and a fast configuration for the training tests (tests/modelzoo/ml)."""

from __future__ import annotations

import io

from modelzoo.ml.trainer import TrainConfig
from quiz.demo_images import make_demo_image


def synthetic_items(count: int, first_seed: int, size=(64, 48)) -> list[tuple[bytes, int]]:
    """(JPEG bytes, label) pairs, alternately no corrosion and corrosion, that a small net learns in seconds."""
    items = []
    for index in range(count):
        label = index % 2
        img = make_demo_image("corrosion" if label else "no_corrosion", seed=first_seed + index, size=size)
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        items.append((buffer.getvalue(), label))
    return items


TRAIN = synthetic_items(40, first_seed=0)
VAL = synthetic_items(20, first_seed=1000)


def small_config(**overrides) -> TrainConfig:
    values = dict(epochs=2, batch_size=8, width=4, input_size=32, lr=3e-3, warmup_epochs=0.5, progress=False, seed=3)
    values.update(overrides)
    return TrainConfig(**values)
