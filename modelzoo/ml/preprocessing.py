"""The one definition of how a photo becomes model input.

Training, ONNX export and serving all go through these functions so the three
cannot drift apart. The pipeline is:

    load_rgb(src) -> to_base_array(img) -> centre_crop(base) -> normalise(crop)

``to_base_array`` gives a uint8 square slightly larger than the model input.
Training decodes every image to that square once and random-crops it on the
tensor side; validation and serving take the centre crop, so serving is
exactly the validation transform.

Torch-free on purpose: serving imports this module and must not load torch.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

# 96 px: in the ten-minute CPU budget, many epochs at 96 px matched or beat fewer
# at 128 px and more at 64 px (measurements in bench/README.md, "Default training on the real set").
INPUT_SIZE = 96
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
