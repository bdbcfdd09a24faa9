import torch
from training_samples import VAL

from modelzoo.ml import data, preprocessing


def test_it_validates_on_the_serving_transform():
    # Validation inputs must equal what serving feeds the ONNX model.
    images, _ = data.build_cache(VAL[:2], 32)
    batch = data.Normaliser(torch.device("cpu"))(data.centre_crop(images, 32))

    served = preprocessing.to_model_batch([preprocessing.load_rgb(src) for src, _ in VAL[:2]], 32)

    assert torch.allclose(batch, torch.from_numpy(served), atol=1e-6)


def test_it_augments_in_batch_within_the_cached_square():
    images = torch.randint(0, 256, (5, 3, 36, 36), dtype=torch.uint8)

    out = data.augment_batch(images, 32, torch.Generator().manual_seed(0))

    assert out.shape == (5, 3, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 255
