"""ONNX export of CorrosionNet for the torch-free serving side.

The graph takes ``image`` (float32 N x 3 x H x W, already normalised by
``preprocessing``) and returns ``logits`` (N x 2, already divided by the run's
temperature, so their softmax is the calibrated probability: see calibration.py),
``features`` (N x C x h x w, the last feature maps) and ``cam`` (N x h x w, the
corrosion activation map computed in-graph, untouched by the temperature), so
serving needs nothing but onnxruntime and numpy.
"""

from __future__ import annotations

import copy
import os
import warnings

import numpy as np
import torch
from torch import nn

from modelzoo.ml import preprocessing
from modelzoo.ml.network import CorrosionNet

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAMES = ("logits", "features", "cam")


class _ExportWrapper(nn.Module):
    def __init__(self, model: CorrosionNet, temperature: float = 1.0):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature!r}")
        self.model = model
        self.temperature = float(temperature)

    def forward(self, image: torch.Tensor):
        logits, features = self.model(image, return_features=True)
        # The one place the temperature meets the logits: serving's softmax of these is calibrated.
        return logits / self.temperature, features, self.model.class_activation_map(features)


def export_onnx(
    model: CorrosionNet,
    path: str | os.PathLike,
    input_size: int = preprocessing.INPUT_SIZE,
    opset: int = OPSET,
    *,
    temperature: float = 1.0,
) -> str:
    """Write the model, its logits divided by ``temperature``, to ``path`` with a dynamic batch axis."""
    # A copy, so exporting never moves the caller's model off its device or out of train mode.
    wrapper = _ExportWrapper(copy.deepcopy(model), temperature).cpu().eval()
    example = torch.zeros(1, 3, input_size, input_size)
    dynamic = {name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    # The legacy TorchScript exporter (dynamo=False): it works offline with no
    # extra package (the dynamo exporter, torch's default since 2.9, needs
    # onnxscript) and is deterministic for this plain feed-forward graph. It is
    # deprecated, hence the silenced warning; revisit when torch drops it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (example,),
            os.fspath(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            do_constant_folding=True,
        )
    return os.fspath(path)


def check_onnx_parity(
    model: CorrosionNet, onnx_path: str | os.PathLike, inputs: np.ndarray, *, temperature: float = 1.0
) -> float:
    """Largest absolute difference between PyTorch (logits divided by ``temperature``) and onnxruntime."""
    import onnxruntime as ort

    session = ort.InferenceSession(os.fspath(onnx_path), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.ascontiguousarray(inputs, dtype=np.float32)})
    wrapper = _ExportWrapper(copy.deepcopy(model), temperature).cpu().eval()
    with torch.inference_mode():
        torch_outputs = wrapper(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))
    return max(float(np.abs(ours.numpy() - theirs).max()) for ours, theirs in zip(torch_outputs, onnx_outputs))
