from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelzoo.ml.serving import CORROSION, NO_CORROSION, Prediction


class RustStub:
    """A classifier that is right about demo pictures: the share of rust-coloured pixels.

    The untrained test model's verdicts are noise; these unit tests check the timeline built around the
    verdicts, so they take the classifier's seam (videos.analysis.frame_classifier) with this stand-in.
    """

    input_size = 32

    def __init__(self):
        self.calls: list[int] = []

    def classify(self, images):
        self.calls.append(len(images))
        return [self._one(image) for image in images]

    def _one(self, image) -> Prediction:
        pixels = np.asarray(Image.open(image).convert("RGB")).astype(int)
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        probability = float(min(1.0, 2 * (((red - blue) > 40) & (red > green)).mean()))
        label = CORROSION if probability >= 0.5 else NO_CORROSION
        return Prediction(label=label, probability=probability, cam=np.full((4, 4), probability, dtype=np.float32))


@pytest.fixture
def rust_classifier(monkeypatch):
    stub = RustStub()
    monkeypatch.setattr("videos.analysis.frame_classifier", lambda version: stub)
    return stub


@pytest.fixture
def clip(tmp_path):
    from video_clips import make_clip

    def make(seconds: int = 8, corroded: set[int] = frozenset({2, 3, 4}), **options) -> Path:
        return make_clip(
            tmp_path / f"clip-{seconds}-{len(list(tmp_path.iterdir()))}.mp4",
            seconds=seconds,
            corroded=set(corroded),
            **options,
        )

    return make
