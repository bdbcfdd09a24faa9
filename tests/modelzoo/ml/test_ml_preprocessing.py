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


def test_it_letterboxes_the_whole_photo_in_its_own_aspect_ratio():
    img = Image.new("RGB", (300, 100), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 30, 100))  # a red strip at the far left edge

    view = preprocessing.letterbox(img, 96)

    assert view.shape == (3, 96, 96) and view.dtype == np.uint8
    left, top, right, bottom = preprocessing.photo_box_on_canvas(img.size, 96)
    assert (left, top, right, bottom) == (0, 32, 96, 64)
    # The far-left strip a centre crop would drop is in the view; the margins are the mean colour.
    assert view[0, 40:56, 1:8].mean() > 200
    assert (view[:, :30, :] == np.array(preprocessing.FILL, dtype=np.uint8)[:, None, None]).all()


def test_it_cuts_overlapping_tiles_that_cover_the_photo():
    views = preprocessing.Views(input_size=64, tiles=2)
    img = make_demo_image("corrosion", seed=4, size=(400, 300))

    arrays = preprocessing.to_view_arrays(img, views)
    boxes = preprocessing.view_boxes(img.size, views)

    assert arrays.shape == (5, 3, 64, 64) and len(boxes) == 5
    assert preprocessing.working_size(views) == 96
    assert preprocessing.tile_origins(views) == [(0, 0), (32, 0), (0, 32), (32, 32)]
    # The whole view covers the photo's width; each tile covers two thirds of it, overlapping by a third.
    assert boxes[0][0] == pytest.approx(0) and boxes[0][2] == pytest.approx(400)
    assert boxes[1][2] - boxes[1][0] == pytest.approx(400 * 64 / 96)
    assert boxes[2][0] == pytest.approx(400 / 3) and boxes[2][2] == pytest.approx(400)


def test_it_normalises_views_for_serving():
    views = preprocessing.Views(input_size=32, tiles=3)
    imgs = [make_demo_image("no_corrosion", seed=s, size=(80, 60)) for s in (1, 2)]

    batch = preprocessing.to_model_views(imgs, views)

    assert batch.shape == (2, 10, 3, 32, 32) and batch.dtype == np.float32
    assert preprocessing.to_model_views([], views).shape == (0, 10, 3, 32, 32)


def test_it_gives_the_centre_crop_as_the_one_view_of_centre_models():
    views = preprocessing.Views(input_size=32, mode=preprocessing.CENTRE)
    img = make_demo_image("corrosion", seed=3, size=(90, 60))

    arrays = preprocessing.to_view_arrays(img, views)

    assert arrays.shape == (1, 3, 32, 32)
    assert np.allclose(preprocessing.normalise(arrays[0]), preprocessing.to_model_array(img, 32))


def test_it_places_each_views_map_on_the_photo_where_that_view_looked():
    views = preprocessing.Views(input_size=32, tiles=2)
    cams = np.zeros((5, 4, 4), dtype=np.float32)
    cams[4] = 5.0  # only the bottom-right tile saw corrosion

    heat = preprocessing.photo_heat_map(cams, (300, 300), views)

    assert heat.shape == (256, 256)
    assert heat[-40:, -40:].min() == pytest.approx(5.0)
    assert heat[:60, :60].max() == pytest.approx(0.0)


def test_it_round_trips_views_through_the_graph_metadata():
    views = preprocessing.Views(input_size=128, tiles=2, pooling="mean")

    assert preprocessing.Views.from_json(views.to_json()) == views


@pytest.mark.parametrize(
    "bad", [dict(mode="zoom"), dict(pooling="median"), dict(tiles=-1), dict(mode="centre", tiles=2), dict(input_size=4)]
)
def test_it_refuses_views_that_make_no_sense(bad):
    with pytest.raises(ValueError):
        preprocessing.Views(**bad)
