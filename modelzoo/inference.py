"""The serving side's view of a model version: its ONNX file as a cached onnxruntime session.

Torch-free, like modelzoo.ml.serving: the web app, the classify command and the
inference worker all go through here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from modelzoo.ml.serving import OnnxClassifier, get_classifier
from modelzoo.models import ModelVersion

_DOWNLOADS = Path(tempfile.gettempdir()) / "corrosiondetector-models"


def classifier_for(version: ModelVersion) -> OnnxClassifier:
    return get_classifier(_local_onnx_path(version), version.onnx_sha256)


def _local_onnx_path(version: ModelVersion) -> str:
    try:
        return version.onnx.path
    except NotImplementedError:
        # Remote storage (S3 and the like): keep one local copy per content hash.
        target = _DOWNLOADS / f"{version.onnx_sha256}.onnx"
        if not target.exists():
            _DOWNLOADS.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            with version.onnx.open("rb") as source, open(partial, "wb") as sink:
                sink.write(source.read())
            partial.replace(target)
        return str(target)
