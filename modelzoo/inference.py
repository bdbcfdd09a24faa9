"""The serving side's view of a model version: its ONNX file as a cached onnxruntime session.

Torch-free, like modelzoo.ml.serving: the web app, the classify command and the
inference worker all go through here.
"""

from __future__ import annotations

import hashlib
import os
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
        pass
    # Remote storage (S3 and the like): keep one local copy per content hash.
    target = _DOWNLOADS / f"{version.onnx_sha256}.onnx"
    if not target.exists():
        _DOWNLOADS.mkdir(parents=True, exist_ok=True)
        _download(version, target)
    return str(target)


def _download(version: ModelVersion, target: Path) -> None:
    # A partial file of this process's own: worker processes on one host may fetch the same model at once.
    descriptor, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as sink, version.onnx.open("rb") as source:
            for chunk in source.chunks():
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != version.onnx_sha256:
            # A truncated or replaced object must not be cached under the hash it does not have.
            raise OSError(f"model v{version.version}: {version.onnx.name} does not match its SHA-256")
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
