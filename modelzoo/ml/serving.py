"""Torch-free inference on the exported ONNX model: onnxruntime, numpy and Pillow only.

Web and worker processes import this module; keeping torch out saves them
about a second of start-up and several hundred MB of memory. Do not import
``modelzoo.ml.network``/``training``/``export`` from here.

The onnxruntime session is created lazily, once per process, and rebuilt only
when the active model file changes (``get_classifier``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageFilter

from modelzoo.ml import preprocessing

THRESHOLD = 0.5
CORROSION = "corrosion"
NO_CORROSION = "no_corrosion"


@dataclass(frozen=True)
class Prediction:
    label: str  # CORROSION or NO_CORROSION
    probability: float  # P(corrosion)
    cam: np.ndarray  # float32 (h, w) in 0..1, where the corrosion evidence sits


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # Web and Celery processes share a few cores; one or two threads per
    # session avoids oversubscription, and a batch-1 request gains little more.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _providers() -> list[str]:
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


class OnnxClassifier:
    def __init__(self, onnx_path: str | os.PathLike, threads: int | None = None):
        threads = threads or min(2, os.cpu_count() or 1)
        self.path = os.fspath(onnx_path)
        self.session = ort.InferenceSession(self.path, _session_options(threads), providers=_providers())
        shape = self.session.get_inputs()[0].shape
        self.input_size = int(shape[-1])  # the graph fixes H and W; only the batch axis is dynamic

    def classify(self, images: Sequence[preprocessing.ImageSource]) -> list[Prediction]:
        """Predictions for paths, bytes, file objects or PIL images, in order."""
        if not images:
            return []
        batch = preprocessing.to_model_batch([preprocessing.load_rgb(img) for img in images], self.input_size)
        logits, cams = self.session.run(["logits", "cam"], {"image": batch})
        probabilities = _softmax(logits)[:, 1]
        return [
            Prediction(
                label=CORROSION if p >= THRESHOLD else NO_CORROSION,
                probability=float(p),
                cam=_unit_range(cam),
            )
            for p, cam in zip(probabilities, cams)
        ]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _unit_range(cam: np.ndarray) -> np.ndarray:
    # Min-max per image: the map shows where the evidence is, not how much,
    # which the probability already says.
    low, high = float(cam.min()), float(cam.max())
    if high - low < 1e-12:
        return np.zeros_like(cam, dtype=np.float32)
    return ((cam - low) / (high - low)).astype(np.float32)


_lock = threading.Lock()
_cached: tuple[tuple[str, str], OnnxClassifier] | None = None


def get_classifier(onnx_path: str | os.PathLike, sha256: str) -> OnnxClassifier:
    """The process-wide classifier, rebuilt only when (path, sha256) changes.

    The caller passes the sha256 it has on record for the active model, so
    promoting a new model refreshes every process on its next request without
    hashing the file each time.
    """
    global _cached
    key = (os.fspath(onnx_path), sha256)
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, OnnxClassifier(onnx_path))
        return _cached[1]


def _heat_colours(values: np.ndarray) -> np.ndarray:
    """0..1 -> RGB uint8 along a blue-cyan-yellow-red ramp (a dependency-free 'jet')."""
    stops = np.array([[0, 0, 128], [0, 128, 255], [0, 255, 255], [255, 255, 0], [255, 64, 0], [200, 0, 0]], float)
    position = np.clip(values, 0, 1) * (len(stops) - 1)
    low = np.floor(position).astype(int).clip(0, len(stops) - 2)
    fraction = (position - low)[..., None]
    return (stops[low] * (1 - fraction) + stops[low + 1] * fraction).astype(np.uint8)


def heat_on_photo(size: tuple[int, int], cam: np.ndarray, input_size: int | None = None) -> np.ndarray:
    """The CAM (0..1) upsampled onto the region of a `size` (width, height) photo the model saw; 0 elsewhere.

    What the overlay colours, and what modelzoo.ml.heatmap_text describes in words.
    """
    width, height = size
    box = preprocessing.model_view_box(size, input_size or preprocessing.INPUT_SIZE)
    box_size = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
    cam_image = Image.fromarray(np.asarray(np.clip(cam, 0, 1) * 255, dtype=np.uint8), mode="L")
    heat = np.zeros((height, width), dtype=np.float32)
    resized = np.asarray(cam_image.resize(box_size, Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
    heat[box[1] : box[1] + box_size[1], box[0] : box[0] + box_size[0]] = resized
    return heat


def render_heatmap_overlay(
    pil_image: Image.Image, cam: np.ndarray, alpha: float = 0.5, input_size: int | None = None
) -> Image.Image:
    """The photo with the CAM upsampled onto the region the model saw, coloured and alpha-blended (RGB).

    ``input_size`` is the model's (``OnnxClassifier.input_size``); it only
    nudges where the centre crop's edges fall.
    """
    photo = preprocessing.load_rgb(pil_image)
    heat = heat_on_photo(photo.size, cam, input_size=input_size)
    box = preprocessing.model_view_box(photo.size, input_size or preprocessing.INPUT_SIZE)
    box_size = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
    colours = Image.fromarray(_heat_colours(heat), mode="RGB")
    # Opacity follows the evidence, so cold regions (and the cropped-off
    # margins the model never saw) stay as photographed.
    mask = Image.fromarray(np.asarray(alpha * 255 * heat, dtype=np.uint8), mode="L")
    mask = mask.filter(ImageFilter.GaussianBlur(radius=max(1.0, box_size[0] / 40)))  # soften the crop's edges
    return Image.composite(colours, photo, mask)
