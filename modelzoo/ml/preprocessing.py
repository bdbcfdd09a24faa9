"""The one definition of how a photo becomes model input.

Training, ONNX export and serving all go through these functions so the three
cannot drift apart. A model looks at a photo through its ``Views``:

- ``whole`` (the default since whole-photo inference): the whole photo, in its own aspect ratio, letterboxed
  onto a square canvas of the input size (``letterbox``), plus, with ``tiles=n``, n x n overlapping tiles of the
  photo at a higher working resolution (``tile_boxes``). ``to_model_views`` gives (V, 3, S, S) per photo; the
  exported graph classifies every view and pools their logits (max or mean over the views), so a rust spot seen
  by one tile counts for the photo. Training decodes each photo once to its letterboxed whole view and zooms into
  it at random (``data.augment_views``), so it sees tile-sized regions at tile scale too.
- ``centre`` (models trained before whole-photo inference, kept so they keep serving):

      load_rgb(src) -> to_base_array(img) -> centre_crop(base) -> normalise(crop)

  ``to_base_array`` gives a uint8 square slightly larger than the model input; the model saw only its centre.

``photo_heat_map`` puts the views' activation maps back on the photo, so a heatmap covers exactly what the
model looked at.

Torch-free on purpose: serving imports this module and must not load torch.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

# 128 px for the letterboxed whole photo (bench/README.md, "Whole-photo inference and the model zoo"); centre-crop
# models were trained at 96 px, where the crop kept about 57 % of a 4:3 photo.
INPUT_SIZE = 128
# ImageNet statistics: the photos are ordinary RGB photographs, and fixed
# constants keep exported models independent of whichever set trained them.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RESAMPLE = Image.Resampling.BILINEAR

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image


def base_size_for(input_size: int = INPUT_SIZE) -> int:
    """Side of the cached square: about input/0.875, like torchvision's eval presets.

    The margin is kept even so the centre crop sits exactly in the middle.
    """
    return input_size + 2 * round(input_size / 14)


def load_rgb(src: ImageSource) -> Image.Image:
    """Decode a path, file object, bytes or PIL image into an upright RGB image."""
    if isinstance(src, Image.Image):
        return ImageOps.exif_transpose(src).convert("RGB")
    if isinstance(src, (bytes, bytearray, memoryview)):
        src = io.BytesIO(src)
    with Image.open(src) as img:
        # Phone photos store rotation in EXIF; without this a portrait shot
        # reaches the model lying on its side.
        return ImageOps.exif_transpose(img).convert("RGB")


def to_base_array(img: Image.Image, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Shorter side resized to the base size, centre square kept: uint8 (3, S, S)."""
    side = base_size_for(input_size)
    width, height = img.size
    scale = side / min(width, height)
    new_size = (max(side, round(width * scale)), max(side, round(height * scale)))
    img = img.resize(new_size, RESAMPLE)
    left, top = (new_size[0] - side) // 2, (new_size[1] - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))


def model_view_box(image_size: tuple[int, int], input_size: int = INPUT_SIZE) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the region of an upright photo that the model sees.

    The centre square of the shorter side, shrunk by the centre crop; used to
    place the activation map back on the photo.
    """
    width, height = image_size
    side = min(width, height) * input_size / base_size_for(input_size)
    left, top = (width - side) / 2, (height - side) / 2
    return round(left), round(top), round(left + side), round(top + side)


def centre_crop(arr: np.ndarray, size: int) -> np.ndarray:
    """Centre ``size`` x ``size`` window of the last two axes."""
    height, width = arr.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return arr[..., top : top + size, left : left + size]


def normalisation_affine() -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, shift) so that normalised = uint8 * scale - shift.

    Training applies the same two numbers on the tensor side, which keeps its
    validation inputs identical to serving's to float rounding.
    """
    mean = np.asarray(MEAN, dtype=np.float32)
    std = np.asarray(STD, dtype=np.float32)
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    shift = (mean / std).astype(np.float32)
    return scale.reshape(3, 1, 1), shift.reshape(3, 1, 1)


def normalise(arr: np.ndarray) -> np.ndarray:
    """uint8 (..., 3, H, W) -> float32 normalised with MEAN/STD."""
    scale, shift = normalisation_affine()
    return arr.astype(np.float32) * scale - shift


def to_model_array(img: Image.Image, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Serving/validation transform: float32 (3, H, W) ready for the network."""
    return normalise(centre_crop(to_base_array(img, input_size), input_size))


def to_model_batch(images: Iterable[Image.Image], input_size: int = INPUT_SIZE) -> np.ndarray:
    """Stack of ``to_model_array``: float32 (N, 3, H, W)."""
    arrays = [to_model_array(img, input_size) for img in images]
    if not arrays:
        return np.zeros((0, 3, input_size, input_size), dtype=np.float32)
    return np.stack(arrays)


def load_base_array(src: ImageSource, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Decode + base square in one call; what the training cache stores per image."""
    return to_base_array(load_rgb(src), input_size)


# ---------------------------------------------------------------------------------------------------------------
# Whole-photo views
# ---------------------------------------------------------------------------------------------------------------

WHOLE = "whole"
CENTRE = "centre"
POOLINGS = ("max", "mean")
# The letterbox margins are filled with the mean colour: zero after normalisation, so they add no evidence.
FILL = tuple(round(m * 255) for m in MEAN)

Box = tuple[float, float, float, float]  # (left, top, right, bottom)


@dataclass(frozen=True)
class Views:
    """How a model looks at a photo: recorded in the exported graph's metadata and on the model version."""

    input_size: int = INPUT_SIZE
    mode: str = WHOLE  # WHOLE | CENTRE
    tiles: int = 0  # n: n x n overlapping tiles besides the whole view (WHOLE only)
    pooling: str = "max"  # how the views' logits become the photo's: "max" or "mean" of the corrosion margin

    def __post_init__(self):
        if self.mode not in (WHOLE, CENTRE):
            raise ValueError(f"unknown view mode {self.mode!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}")
        if self.tiles < 0 or (self.tiles and self.mode != WHOLE):
            raise ValueError("tiles need the whole view, and cannot be negative")
        if self.input_size < 8:
            raise ValueError(f"input_size {self.input_size} is too small")

    @property
    def count(self) -> int:
        return 1 + self.tiles**2

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Views:
        values = json.loads(text)
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


def letterbox(img: Image.Image, size: int) -> np.ndarray:
    """The whole photo scaled so its longer side is ``size``, centred on a mean-coloured square: uint8 (3, S, S)."""
    return _canvas(img, size, size)


def _canvas(img: Image.Image, canvas: int, longer_side: int) -> np.ndarray:
    width, height = img.size
    scale = longer_side / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    square = Image.new("RGB", (canvas, canvas), FILL)
    square.paste(img.resize(new_size, RESAMPLE), ((canvas - new_size[0]) // 2, (canvas - new_size[1]) // 2))
    return np.ascontiguousarray(np.asarray(square, dtype=np.uint8).transpose(2, 0, 1))


def photo_box_on_canvas(image_size: tuple[int, int], canvas: int) -> tuple[int, int, int, int]:
    """Where ``_canvas`` puts the photo on a ``canvas`` x ``canvas`` square: (left, top, right, bottom) pixels."""
    width, height = image_size
    scale = canvas / max(width, height)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = (canvas - new_width) // 2, (canvas - new_height) // 2
    return left, top, left + new_width, top + new_height


def working_size(views: Views) -> int:
    """Side of the canvas the tiles are cut from: n tiles of the input size overlapping by half."""
    return views.input_size * (views.tiles + 1) // 2


def tile_origins(views: Views) -> list[tuple[int, int]]:
    """(left, top) of each tile on the working canvas, row by row."""
    if not views.tiles:
        return []
    last = working_size(views) - views.input_size
    steps = [round(last * index / (views.tiles - 1)) if views.tiles > 1 else 0 for index in range(views.tiles)]
    return [(left, top) for top in steps for left in steps]


def to_view_arrays(img: Image.Image, views: Views) -> np.ndarray:
    """uint8 (V, 3, S, S): the whole view first, then the tiles; CENTRE gives the centre crop as its one view."""
    if views.mode == CENTRE:
        return centre_crop(to_base_array(img, views.input_size), views.input_size)[None]
    arrays = [letterbox(img, views.input_size)]
    if views.tiles:
        side = working_size(views)
        work = _canvas(img, side, side)
        size = views.input_size
        arrays += [work[:, top : top + size, left : left + size] for left, top in tile_origins(views)]
    return np.ascontiguousarray(np.stack(arrays))


def to_model_views(images: Sequence[Image.Image], views: Views) -> np.ndarray:
    """Serving's input: float32 (N, V, 3, S, S), normalised."""
    if not images:
        return np.zeros((0, views.count, 3, views.input_size, views.input_size), dtype=np.float32)
    return normalise(np.stack([to_view_arrays(img, views) for img in images]))


def view_boxes(image_size: tuple[int, int], views: Views) -> list[Box]:
    """Each view's square in the photo's own pixel coordinates (it may reach past the photo into the margins)."""
    width, height = image_size
    if views.mode == CENTRE:
        return [tuple(float(v) for v in model_view_box(image_size, views.input_size))]
    boxes = [_canvas_box_on_photo(image_size, views.input_size, (0, 0, views.input_size, views.input_size))]
    side = working_size(views)
    for left, top in tile_origins(views):
        boxes.append(
            _canvas_box_on_photo(image_size, side, (left, top, left + views.input_size, top + views.input_size))
        )
    return boxes


def _canvas_box_on_photo(image_size: tuple[int, int], canvas: int, box: tuple[int, int, int, int]) -> Box:
    width, height = image_size
    scale = canvas / max(width, height)
    left, top, _, _ = photo_box_on_canvas(image_size, canvas)
    return ((box[0] - left) / scale, (box[1] - top) / scale, (box[2] - left) / scale, (box[3] - top) / scale)


def photo_heat_map(cams: np.ndarray, image_size: tuple[int, int], views: Views, longest: int = 256) -> np.ndarray:
    """The views' activation maps (V, h, w) placed on the photo: float32 (H', W') in the photo's aspect ratio.

    Each view's map is stretched over the square it covers; where views overlap the strongest evidence wins.
    Uncovered parts (the margins of a centre crop) read as the weakest evidence seen. ``longest`` caps the
    map's longer side: it is upsampled to the photo when drawn.
    """
    width, height = image_size
    scale = min(1.0, longest / max(width, height))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    heat = np.full((out_h, out_w), -np.inf, dtype=np.float32)
    for cam, box in zip(cams, view_boxes(image_size, views)):
        _paste_max(heat, np.asarray(cam, dtype=np.float32), [v * scale for v in box])
    floor = float(np.min(cams)) if np.size(cams) else 0.0
    heat[~np.isfinite(heat)] = floor
    return heat


def _paste_max(heat: np.ndarray, cam: np.ndarray, box: Sequence[float]) -> None:
    left, top, right, bottom = box
    box_w, box_h = max(1, round(right - left)), max(1, round(bottom - top))
    resized = np.asarray(Image.fromarray(cam, mode="F").resize((box_w, box_h), Image.Resampling.BILINEAR))
    x0, y0 = round(left), round(top)
    # Clip the view's square to the photo; the parts over the margins are dropped.
    src_x0, src_y0 = max(0, -x0), max(0, -y0)
    dst_x0, dst_y0 = max(0, x0), max(0, y0)
    dst_x1, dst_y1 = min(heat.shape[1], x0 + box_w), min(heat.shape[0], y0 + box_h)
    if dst_x1 <= dst_x0 or dst_y1 <= dst_y0:
        return
    patch = resized[src_y0 : src_y0 + dst_y1 - dst_y0, src_x0 : src_x0 + dst_x1 - dst_x0]
    np.maximum(heat[dst_y0:dst_y1, dst_x0:dst_x1], patch, out=heat[dst_y0:dst_y1, dst_x0:dst_x1])


def load_view_arrays(src: ImageSource, views: Views) -> np.ndarray:
    """Decode + views in one call: what the evaluation cache stores per image, uint8 (V, 3, S, S)."""
    return to_view_arrays(load_rgb(src), views)


def load_whole_view(src: ImageSource, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Decode + letterboxed whole view: what the training cache stores per image, uint8 (3, S, S)."""
    return letterbox(load_rgb(src), input_size)
