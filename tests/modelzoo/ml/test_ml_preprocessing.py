import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from modelzoo.ml import preprocessing
from quiz.demo_images import make_demo_image


def _jpeg_bytes(img: Image.Image, **save_args) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", **save_args)
    return buffer.getvalue()


def test_it_loads_paths_files_bytes_and_images_alike(tmp_path):
    data = _jpeg_bytes(make_demo_image("corrosion", seed=1))
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)

    loaded = [
        preprocessing.load_rgb(str(path)),
        preprocessing.load_rgb(path),
        preprocessing.load_rgb(io.BytesIO(data)),
        preprocessing.load_rgb(data),
        preprocessing.load_rgb(Image.open(io.BytesIO(data))),
    ]

    for img in loaded:
        assert img.mode == "RGB"
        assert img.size == (160, 120)
        assert np.array_equal(np.asarray(img), np.asarray(loaded[0]))


def test_it_converts_greyscale_and_alpha_to_rgb():
    grey = Image.new("L", (50, 40), 128)
    rgba = Image.new("RGBA", (50, 40), (10, 20, 30, 100))

    assert preprocessing.load_rgb(grey).mode == "RGB"
    assert preprocessing.load_rgb(rgba).mode == "RGB"


def test_it_applies_exif_orientation():
    img = Image.new("RGB", (60, 30), (200, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    data = _jpeg_bytes(img, exif=exif.tobytes())

    assert preprocessing.load_rgb(data).size == (30, 60)


def test_it_produces_normalised_float_arrays_of_the_input_size():
    img = make_demo_image("no_corrosion", seed=2, size=(300, 200))

    arr = preprocessing.to_model_array(img)

    assert arr.dtype == np.float32
    assert arr.shape == (3, preprocessing.INPUT_SIZE, preprocessing.INPUT_SIZE)
    assert -3.0 < arr.min() and arr.max() < 3.0


def test_it_normalises_with_the_published_mean_and_std():
    white = Image.new("RGB", (64, 64), (255, 255, 255))

    arr = preprocessing.to_model_array(white, input_size=32)

    expected = (1.0 - np.array(preprocessing.MEAN)) / np.array(preprocessing.STD)
    assert np.allclose(arr[:, 0, 0], expected, atol=1e-6)


def test_it_keeps_the_centre_of_non_square_images():
    img = Image.new("RGB", (300, 100), (0, 0, 255))
    img.paste((255, 0, 0), (100, 0, 200, 100))  # red centre third, blue sides

    base = preprocessing.to_base_array(img, input_size=64)

    side = preprocessing.base_size_for(64)
    assert base.shape == (3, side, side) and base.dtype == np.uint8
    assert base[0].mean() > 250 and base[2].mean() < 5


def test_it_builds_the_serving_transform_from_the_cached_base_square():
    img = make_demo_image("corrosion", seed=3)

    base = preprocessing.to_base_array(img, 64)
    via_cache = preprocessing.normalise(preprocessing.centre_crop(base, 64))

    assert np.array_equal(via_cache, preprocessing.to_model_array(img, 64))


def test_it_is_deterministic():
    data = _jpeg_bytes(make_demo_image("corrosion", seed=4))

    first = preprocessing.to_model_array(preprocessing.load_rgb(data))
    second = preprocessing.to_model_array(preprocessing.load_rgb(data))

    assert np.array_equal(first, second)


def test_it_stacks_batches():
    images = [make_demo_image("corrosion", seed=s) for s in range(3)]

    batch = preprocessing.to_model_batch(images, input_size=48)

    assert batch.shape == (3, 3, 48, 48)
    assert np.array_equal(batch[1], preprocessing.to_model_array(images[1], 48))
    assert preprocessing.to_model_batch([], input_size=48).shape == (0, 3, 48, 48)


def test_it_rejects_files_that_are_not_images():
    with pytest.raises(UnidentifiedImageError):
        preprocessing.load_rgb(b"not an image")


def test_it_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, modelzoo.ml.preprocessing; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_it_locates_the_region_the_model_sees():
    left, top, right, bottom = preprocessing.model_view_box((300, 200), input_size=96)

    side = 200 * 96 / preprocessing.base_size_for(96)
    assert right - left == bottom - top and abs((right - left) - side) <= 1
    assert (left + right) / 2 == 150 and (top + bottom) / 2 == 100
