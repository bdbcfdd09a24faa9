import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from modelzoo.ml import export, preprocessing, serving, trainer
from quiz.demo_images import make_demo_image

SIZE = 32


def _jpeg(label: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    make_demo_image(label, seed=seed, size=(64, 48)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def trained_onnx(tmp_path_factory):
    """A tiny model trained on the synthetic photos, exported like the real one."""
    train = [(_jpeg("corrosion" if i % 2 else "no_corrosion", i), i % 2) for i in range(40)]
    val = [(_jpeg("corrosion" if i % 2 else "no_corrosion", 500 + i), i % 2) for i in range(12)]
    config = trainer.TrainConfig(
        epochs=6, batch_size=8, width=4, input_size=SIZE, lr=3e-3, warmup_epochs=0.5, progress=False, seed=3
    )
    result = trainer.train(train, val, config)
    path = tmp_path_factory.mktemp("serving") / "model.onnx"
    export.export_onnx(trainer.model_from_result(result), path, input_size=SIZE)
    return path


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(serving, "_cached", None)


def test_it_classifies_generated_photos(trained_onnx):
    classifier = serving.OnnxClassifier(trained_onnx)
    labels = ["corrosion", "no_corrosion"] * 5
    images = [_jpeg(label, 900 + i) for i, label in enumerate(labels)]

    predictions = classifier.classify(images)

    assert [p.label for p in predictions].count("corrosion") >= 1
    assert sum(p.label == label for p, label in zip(predictions, labels)) >= 8
    for p in predictions:
        assert 0.0 <= p.probability <= 1.0
        assert p.label == ("corrosion" if p.probability >= 0.5 else "no_corrosion")
        assert p.cam.shape == (1, 1)  # 32 px input, five 2x2 pools


def test_it_accepts_pil_images_paths_and_empty_batches(trained_onnx, tmp_path):
    classifier = serving.OnnxClassifier(trained_onnx)
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg("corrosion", 1))

    from_path, from_image = classifier.classify([path, Image.open(path)])

    assert from_path.probability == pytest.approx(from_image.probability, abs=1e-6)
    assert classifier.classify([]) == []


def test_it_returns_the_cam_at_feature_resolution(tmp_path):
    model = trainer.build_model(trainer.TrainConfig(width=4)).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=96)

    (prediction,) = serving.OnnxClassifier(path).classify([_jpeg("corrosion", 2)])

    assert prediction.cam.shape == (3, 3)
    assert prediction.cam.dtype == np.float32
    assert prediction.cam.min() == 0.0 and prediction.cam.max() == pytest.approx(1.0)


def test_it_agrees_with_pytorch_probabilities(tmp_path):
    torch.manual_seed(1)
    model = trainer.build_model(trainer.TrainConfig(width=4)).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=SIZE)
    image = _jpeg("corrosion", 3)

    (prediction,) = serving.OnnxClassifier(path).classify([image])

    batch = torch.from_numpy(preprocessing.to_model_batch([preprocessing.load_rgb(image)], SIZE))
    with torch.inference_mode():
        expected = torch.softmax(model(batch), dim=1)[0, 1].item()
    assert prediction.probability == pytest.approx(expected, abs=1e-5)


def test_it_serves_the_calibrated_probability_training_computes(tmp_path):
    model = trainer.build_model(trainer.TrainConfig(width=4, seed=2)).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=SIZE, temperature=0.4)
    images = [_jpeg("corrosion", 3), _jpeg("no_corrosion", 4)]

    served = [p.probability for p in serving.OnnxClassifier(path).classify(images)]

    config = trainer.TrainConfig(width=4, input_size=SIZE, progress=False)
    calibrated = trainer.predict_probabilities(model, [(image, 0) for image in images], config, temperature=0.4)
    raw = trainer.predict_probabilities(model, [(image, 0) for image in images], config)
    assert served == pytest.approx(calibrated.tolist(), abs=1e-5)
    assert served != pytest.approx(raw.tolist(), abs=1e-3)


def test_it_creates_the_session_once_per_model_version(trained_onnx, tmp_path, monkeypatch):
    built = []
    real = serving.OnnxClassifier

    def counting(path):
        built.append(path)
        return real(path)

    monkeypatch.setattr(serving, "OnnxClassifier", counting)

    first = serving.get_classifier(trained_onnx, "sha-a")
    again = serving.get_classifier(trained_onnx, "sha-a")
    refreshed = serving.get_classifier(trained_onnx, "sha-b")

    assert first is again
    assert refreshed is not first
    assert len(built) == 2


def test_it_renders_the_heatmap_over_the_region_the_model_saw():
    photo = make_demo_image("corrosion", seed=5, size=(240, 120))
    cam = np.array([[0.0, 1.0], [0.0, 0.0]], dtype=np.float32)

    overlay = serving.render_heatmap_overlay(photo, cam, input_size=96)

    assert overlay.size == photo.size and overlay.mode == "RGB"
    changed = np.abs(np.asarray(overlay, dtype=int) - np.asarray(photo, dtype=int)).sum(axis=2)
    left, top, right, bottom = preprocessing.model_view_box(photo.size, 96)
    assert (left, right) == (68, 172) and (top, bottom) == (8, 112)
    # Hot quadrant (top right of the seen square) is tinted; the cold one and the cropped-off sides are not.
    assert changed[top + 5 : top + 30, right - 30 : right - 5].mean() > 30
    assert changed[bottom - 30 : bottom - 5, left + 5 : left + 30].mean() < 3
    assert changed[:, :50].max() == 0 and changed[:, -50:].max() == 0


def test_it_classifies_without_importing_torch(trained_onnx):
    code = textwrap.dedent(
        f"""
        import sys
        from modelzoo.ml import serving
        from quiz.demo_images import make_demo_image
        (p,) = serving.get_classifier({str(trained_onnx)!r}, "sha").classify([make_demo_image("corrosion", seed=1)])
        assert p.label in ("corrosion", "no_corrosion")
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        assert not loaded, loaded
        """
    )

    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo_root(), timeout=60)


def _repo_root() -> str:
    import pathlib

    return str(pathlib.Path(serving.__file__).resolve().parents[2])
