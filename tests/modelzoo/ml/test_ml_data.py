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


def test_it_caches_serving_views_for_evaluation():
    # Evaluation inputs must equal what serving feeds the ONNX model, views and all.
    views = preprocessing.Views(input_size=32, tiles=2)
    images, labels = data.build_view_cache(VAL[:3], views)

    served = preprocessing.to_model_views([preprocessing.load_rgb(src) for src, _ in VAL[:3]], views)

    assert images.shape == (3, 5, 3, 32, 32) and labels.tolist() == [label for _, label in VAL[:3]]
    assert torch.allclose(
        data.Normaliser(torch.device("cpu"))(images.flatten(0, 1)), torch.from_numpy(served).flatten(0, 1), atol=1e-6
    )


def test_it_zooms_shifts_and_flips_whole_views_filling_with_the_mean_colour():
    images = torch.full((4, 3, 32, 32), 200, dtype=torch.uint8)

    out = data.augment_whole(images, torch.Generator().manual_seed(0), min_scale=0.5)
    zoomed_out = data.augment_whole(images, torch.Generator().manual_seed(0), min_scale=1.0)

    assert out.shape == (4, 3, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 255
    # Scale 1 and a zero shift cover the canvas exactly: nothing but jittered copies of the one colour.
    assert zoomed_out.std(dim=(1, 2, 3)).max() < 1.0
