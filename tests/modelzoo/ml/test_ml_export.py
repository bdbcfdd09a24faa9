import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from modelzoo.ml import export, preprocessing
from modelzoo.ml.network import CorrosionNet
from quiz.demo_images import make_demo_image

SIZE = 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = CorrosionNet(width=4)
    # A few training-mode passes give batch norm non-trivial running statistics.
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, SIZE, SIZE) * 2 + 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    return export.export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx", input_size=SIZE)


def _inputs(count: int) -> np.ndarray:
    images = [make_demo_image("corrosion" if i % 2 else "no_corrosion", seed=i) for i in range(count)]
    return preprocessing.to_model_batch(images, SIZE)


def test_it_matches_pytorch_within_1e_4(model, onnx_path):
    assert export.check_onnx_parity(model, onnx_path, _inputs(4)) < 1e-4


def test_it_writes_the_fixed_opset_and_io_names(onnx_path):
    graph = onnx.load(onnx_path)
    onnx.checker.check_model(graph)

    assert {o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")} == {export.OPSET}
    assert [i.name for i in graph.graph.input] == ["image"]
    assert [o.name for o in graph.graph.output] == ["logits", "features", "cam"]


def test_it_accepts_any_batch_size(onnx_path, model):
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])

    for batch in (1, 3, 5):
        logits, features, cam = session.run(None, {"image": _inputs(batch)})
        assert logits.shape == (batch, 2)
        assert features.shape == (batch, model.feature_channels, SIZE // 32, SIZE // 32)
        assert cam.shape == (batch, SIZE // 32, SIZE // 32)


def test_it_computes_the_cam_from_the_head_weights(onnx_path, model):
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])

    logits, features, cam = session.run(None, {"image": _inputs(2)})

    weight = model.head.weight.detach().numpy()
    expected = np.einsum("nchw,c->nhw", features, weight[1] - weight[0])
    bias = model.head.bias.detach().numpy()
    assert np.allclose(cam, expected, atol=1e-4)
    assert np.allclose(cam.mean(axis=(1, 2)) + bias[1] - bias[0], logits[:, 1] - logits[:, 0], atol=1e-4)


def test_it_leaves_the_callers_model_untouched(model, tmp_path):
    model.train()
    try:
        export.export_onnx(model, tmp_path / "again.onnx", input_size=SIZE)
        assert model.training
    finally:
        model.eval()


def test_it_detects_a_model_that_differs(model, onnx_path):
    other = CorrosionNet(width=4).eval()

    assert export.check_onnx_parity(other, onnx_path, _inputs(2)) > 1e-3


def test_it_divides_the_logits_by_the_temperature_and_leaves_the_cam_alone(model, onnx_path, tmp_path):
    calibrated_path = export.export_onnx(model, tmp_path / "calibrated.onnx", input_size=SIZE, temperature=2.5)
    inputs = _inputs(3)

    assert export.check_onnx_parity(model, calibrated_path, inputs, temperature=2.5) < 1e-4
    assert export.check_onnx_parity(model, calibrated_path, inputs) > 1e-3  # the uncalibrated logits differ
    plain = ort.InferenceSession(str(onnx_path)).run(None, {"image": inputs})
    calibrated = ort.InferenceSession(str(calibrated_path)).run(None, {"image": inputs})
    np.testing.assert_allclose(calibrated[0], plain[0] / 2.5, atol=1e-5)
    np.testing.assert_allclose(calibrated[2], plain[2], atol=1e-5)


def test_it_refuses_a_temperature_that_is_not_positive(model, tmp_path):
    with pytest.raises(ValueError):
        export.export_onnx(model, tmp_path / "m.onnx", input_size=SIZE, temperature=0.0)


def _trained_bn_statistics(model, size):
    with torch.no_grad():
        model.train()
        for _ in range(2):
            model(torch.randn(4, 3, size, size) * 2 + 0.5)
    return model.eval()


@pytest.mark.parametrize("architecture", ["paper", "resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_it_exports_every_zoo_architecture_with_views_and_pooling_within_1e_4(architecture, tmp_path):
    from modelzoo.ml.network import build_network

    views = preprocessing.Views(input_size=SIZE, tiles=2, pooling="max")
    model = _trained_bn_statistics(build_network(architecture, width=4, seed=1), SIZE)
    path = export.export_onnx(model, tmp_path / "m.onnx", views=views, architecture=architecture, temperature=1.7)
    photos = [make_demo_image("corrosion", seed=s, size=(120, 90)) for s in (1, 2, 3)]
    inputs = preprocessing.to_model_views(photos, views)

    assert export.check_onnx_parity(model, path, inputs, temperature=1.7, views=views) < 1e-4
    graph = onnx.load(path)
    metadata = {entry.key: entry.value for entry in graph.metadata_props}
    assert preprocessing.Views.from_json(metadata["views"]) == views
    assert metadata["architecture"] == architecture
    logits, view_logits, cam = ort.InferenceSession(str(path)).run(None, {"image": inputs})
    assert logits.shape == (3, 2) and view_logits.shape == (3, 5, 2) and cam.shape[:2] == (3, 5)
    # The pooled photo logits are the max corrosion margin over the views, divided by the temperature.
    margins = view_logits[..., 1] - view_logits[..., 0]
    assert np.allclose(logits[:, 1] - logits[:, 0], margins.max(axis=1) / 1.7, atol=1e-4)
