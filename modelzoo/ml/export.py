"""ONNX export of a zoo network for the torch-free serving side.

Whole-photo models (``Views.mode == "whole"``): the graph takes ``image`` (float32 N x V x 3 x S x S: the V views
of each of N photos, already normalised by ``preprocessing``) and returns ``logits`` (N x 2, the views pooled and
divided by the run's temperature, so their softmax is the calibrated probability: see calibration.py),
``view_logits`` (N x V x 2, each view's own, unscaled) and ``cam`` (N x V x h x w, each view's corrosion
activation map, untouched by the temperature). The views and the architecture are written into the model's
metadata (``views``, ``architecture``), which is how serving knows how to cut a photo into views.

Centre-crop models (trained before whole-photo inference) keep their graph: ``image`` N x 3 x S x S ->
``logits``, ``features``, ``cam`` (N x h x w), and no ``views`` metadata.
"""

from __future__ import annotations

import copy
import os
import warnings

import numpy as np
import torch
from torch import nn

from modelzoo.ml import preprocessing
from modelzoo.ml.network import CamClassifier, pool_view_logits

OPSET = 17
INPUT_NAME = "image"
CENTRE_OUTPUT_NAMES = ("logits", "features", "cam")
OUTPUT_NAMES = ("logits", "view_logits", "cam")


class _CentreWrapper(nn.Module):
    def __init__(self, model: CamClassifier, temperature: float):
        super().__init__()
        self.model = model
        self.temperature = temperature

    def forward(self, image: torch.Tensor):
        logits, features = self.model(image, return_features=True)
        # The one place the temperature meets the logits: serving's softmax of these is calibrated.
        return logits / self.temperature, features, self.model.class_activation_map(features)


class _ViewsWrapper(nn.Module):
    def __init__(self, model: CamClassifier, temperature: float, pooling: str):
        super().__init__()
        self.model = model
        self.temperature = temperature
        self.pooling = pooling

    def forward(self, image: torch.Tensor):
        count, views = image.shape[0], image.shape[1]
        view_logits, features = self.model(image.flatten(0, 1), return_features=True)
        view_logits = view_logits.reshape(count, views, -1)
        cam = self.model.class_activation_map(features)
        cam = cam.reshape(count, views, cam.shape[-2], cam.shape[-1])
        return pool_view_logits(view_logits, self.pooling) / self.temperature, view_logits, cam


def _wrapper(model: CamClassifier, temperature: float, views: preprocessing.Views) -> nn.Module:
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, not {temperature!r}")
    # A copy, so exporting never moves the caller's model off its device or out of train mode.
    model = copy.deepcopy(model).cpu().eval()
    if views.mode == preprocessing.CENTRE:
        return _CentreWrapper(model, float(temperature)).eval()
    return _ViewsWrapper(model, float(temperature), views.pooling).eval()


def example_input(views: preprocessing.Views, count: int = 1, seed: int | None = None) -> np.ndarray:
    """An input of the graph's shape: zeros, or standard normal values for a seed."""
    shape = (count, 3, views.input_size, views.input_size)
    if views.mode != preprocessing.CENTRE:
        shape = (count, views.count, 3, views.input_size, views.input_size)
    if seed is None:
        return np.zeros(shape, dtype=np.float32)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def export_onnx(
    model: CamClassifier,
    path: str | os.PathLike,
    input_size: int = preprocessing.INPUT_SIZE,
    opset: int = OPSET,
    *,
    temperature: float = 1.0,
    views: preprocessing.Views | None = None,
    architecture: str | None = None,
) -> str:
    """Write the model, its logits divided by ``temperature``, to ``path`` with dynamic batch (and view) axes.

    Without ``views`` the graph is the centre-crop one of ``input_size`` (the form older versions have).
    """
    views = views or preprocessing.Views(input_size=input_size, mode=preprocessing.CENTRE)
    wrapper = _wrapper(model, temperature, views)
    centre = views.mode == preprocessing.CENTRE
    names = CENTRE_OUTPUT_NAMES if centre else OUTPUT_NAMES
    dynamic = {name: {0: "batch"} for name in (INPUT_NAME, *names)}
    if not centre:
        for name in (INPUT_NAME, "view_logits", "cam"):
            dynamic[name][1] = "views"
    # The legacy TorchScript exporter (dynamo=False): it works offline with no
    # extra package (the dynamo exporter, torch's default since 2.9, needs
    # onnxscript) and is deterministic for this plain feed-forward graph. It is
    # deprecated, hence the silenced warning; revisit when torch drops it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (torch.from_numpy(example_input(views, count=2)),),
            os.fspath(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=list(names),
            dynamic_axes=dynamic,
            do_constant_folding=True,
        )
    if not centre:
        _write_metadata(path, {"views": views.to_json(), "architecture": architecture or type(model).__name__})
    return os.fspath(path)


def _write_metadata(path: str | os.PathLike, values: dict[str, str]) -> None:
    import onnx

    graph = onnx.load(os.fspath(path))
    for key, value in values.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, os.fspath(path))


def check_onnx_parity(
    model: CamClassifier,
    onnx_path: str | os.PathLike,
    inputs: np.ndarray,
    *,
    temperature: float = 1.0,
    views: preprocessing.Views | None = None,
) -> float:
    """Largest absolute difference between PyTorch (logits divided by ``temperature``) and onnxruntime."""
    import onnxruntime as ort

    views = views or preprocessing.Views(input_size=inputs.shape[-1], mode=preprocessing.CENTRE)
    names = CENTRE_OUTPUT_NAMES if views.mode == preprocessing.CENTRE else OUTPUT_NAMES
    session = ort.InferenceSession(os.fspath(onnx_path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(list(names), {INPUT_NAME: np.ascontiguousarray(inputs, dtype=np.float32)})
    with torch.inference_mode():
        torch_outputs = _wrapper(model, temperature, views)(torch.from_numpy(np.ascontiguousarray(inputs, np.float32)))
    return max(float(np.abs(ours.numpy() - theirs).max()) for ours, theirs in zip(torch_outputs, onnx_outputs))
