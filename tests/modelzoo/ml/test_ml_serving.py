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
    export.export_onnx(trainer.model_from_result(result), path, input_size=SIZE, views=config.views)
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
        assert p.cam.shape == (48, 64)  # laid over the whole 64 x 48 photo


def test_it_accepts_pil_images_paths_and_empty_batches(trained_onnx, tmp_path):
    classifier = serving.OnnxClassifier(trained_onnx)
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg("corrosion", 1))

    from_path, from_image = classifier.classify([path, Image.open(path)])

    assert from_path.probability == pytest.approx(from_image.probability, abs=1e-6)
    assert classifier.classify([]) == []


def test_it_lays_the_cam_over_the_whole_photo_in_its_aspect_ratio(tmp_path):
    config = trainer.TrainConfig(width=4, input_size=96, tiles=2)
    model = trainer.build_model(config).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=96, views=config.views)
    photo = make_demo_image("corrosion", seed=2, size=(640, 360))

    (prediction,) = serving.OnnxClassifier(path).classify([photo])

    assert prediction.cam.shape == (144, 256)  # 16:9, longer side capped at 256
    assert prediction.cam.dtype == np.float32
    assert prediction.cam.min() == 0.0 and prediction.cam.max() == pytest.approx(1.0)


def test_it_still_serves_centre_crop_models_exported_before_whole_photo_views(tmp_path):
    model = trainer.build_model(trainer.TrainConfig(width=4)).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=96)  # no views: the old graph
    classifier = serving.OnnxClassifier(path)
    photo = make_demo_image("corrosion", seed=2, size=(240, 120))

    (prediction,) = classifier.classify([photo])

    assert classifier.views.mode == preprocessing.CENTRE and classifier.input_size == 96
    batch = torch.from_numpy(preprocessing.to_model_batch([photo], 96))
    with torch.inference_mode():
        expected = torch.softmax(model(batch), dim=1)[0, 1].item()
    assert prediction.probability == pytest.approx(expected, abs=1e-5)
    # The map is laid over the whole photo but is cold where the centre crop never looked.
    assert prediction.cam.shape == (120, 240)
    assert prediction.cam[:, :60].max() == 0.0 and prediction.cam[:, -60:].max() == 0.0


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_it_agrees_with_pytorch_probabilities(tmp_path, pooling):
    config = trainer.TrainConfig(width=4, input_size=SIZE, tiles=2, pooling=pooling, seed=1, progress=False)
    model = trainer.build_model(config).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=SIZE, views=config.views)
    image = _jpeg("corrosion", 3)

    (prediction,) = serving.OnnxClassifier(path).classify([image])

    views = torch.from_numpy(preprocessing.to_model_views([preprocessing.load_rgb(image)], config.views))[0]
    with torch.inference_mode():
        margins = model(views).diff(dim=1)[:, 0]  # corrosion minus no-corrosion logit, per view
    pooled = margins.max() if pooling == "max" else margins.mean()
    assert prediction.probability == pytest.approx(torch.sigmoid(pooled).item(), abs=1e-5)
    expected = trainer.predict_probabilities(model, [(image, 1)], config)
    assert prediction.probability == pytest.approx(expected.item(), abs=1e-5)


def test_it_serves_the_calibrated_probability_training_computes(tmp_path):
    config = trainer.TrainConfig(width=4, input_size=SIZE, progress=False, seed=2)
    model = trainer.build_model(config).eval()
    path = export.export_onnx(model, tmp_path / "m.onnx", input_size=SIZE, temperature=0.4, views=config.views)
    images = [_jpeg("corrosion", 3), _jpeg("no_corrosion", 4)]

    served = [p.probability for p in serving.OnnxClassifier(path).classify(images)]

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


def test_it_renders_the_heatmap_over_the_whole_photo():
    photo = make_demo_image("corrosion", seed=5, size=(240, 120))
    cam = np.zeros((60, 120), dtype=np.float32)
    cam[:30, 60:] = 1.0  # the photo's top right quarter

    overlay = serving.render_heatmap_overlay(photo, cam)

    assert overlay.size == photo.size and overlay.mode == "RGB"
    changed = np.abs(np.asarray(overlay, dtype=int) - np.asarray(photo, dtype=int)).sum(axis=2)
    # The hot quarter is tinted right out to the photo's corner; the cold bottom left stays as photographed.
    assert changed[5:50, 130:235].mean() > 30
    assert changed[70:115, 5:110].max() < 3


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
