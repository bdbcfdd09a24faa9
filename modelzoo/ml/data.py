"""Images in for training: the ImageFolder walker, the decode-once cache and batch augmentation.

JPEG decoding and PIL resizing happen exactly once per image (``build_cache``); every training step
then only slices a uint8 tensor, so augmentation costs microseconds instead of milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from modelzoo.ml import preprocessing
from quiz.imaging import image_folder_files

CLASS_NAMES = ("no_corrosion", "corrosion")  # index = label int
CORROSION_LABEL = 1

Item = tuple[Any, int]  # (path, bytes or file object, label) with label 1 = corrosion, 0 = no corrosion


def image_folder_items(split_dir: str | os.PathLike) -> list[Item]:
    """(path, label) for an ImageFolder split: ``<split_dir>/{no_corrosion,corrosion}/...``, label = class index."""
    return [(str(path), CLASS_NAMES.index(name)) for path, name in image_folder_files(split_dir, CLASS_NAMES)]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def build_cache(items: Sequence[Item], input_size: int, workers: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every image once to its uint8 base square (centre-crop models): (N, 3, S, S) and labels (N,)."""
    side = preprocessing.base_size_for(input_size)
    return _decode_all(items, partial(preprocessing.load_base_array, input_size=input_size), (3, side, side), workers)


def build_training_cache(
    items: Sequence[Item], views: preprocessing.Views, workers: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """What training steps crop from: the letterboxed whole view (N, 3, S, S), or the centre mode's base square."""
    if views.mode == preprocessing.CENTRE:
        return build_cache(items, views.input_size, workers)
    size = views.input_size
    return _decode_all(items, partial(preprocessing.load_whole_view, input_size=size), (3, size, size), workers)


def build_view_cache(
    items: Sequence[Item], views: preprocessing.Views, workers: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image's serving views, uint8 (N, V, 3, S, S): what evaluation, calibration and prediction read."""
    shape = (views.count, 3, views.input_size, views.input_size)
    return _decode_all(items, partial(preprocessing.load_view_arrays, views=views), shape, workers)


def _decode_all(items: Sequence[Item], load, shape: tuple[int, ...], workers: int) -> tuple[torch.Tensor, torch.Tensor]:
    sources = [src for src, _ in items]
    labels = torch.tensor([int(label) for _, label in items], dtype=torch.int64)
    if not sources:
        return torch.zeros((0, *shape), dtype=torch.uint8), labels
    # Threads rather than processes: Pillow releases the GIL while decoding and
    # resizing, and a Celery prefork worker may not fork children of its own.
    with ThreadPoolExecutor(max_workers=workers or available_cores()) as pool:
        arrays = list(pool.map(load, sources))
    return torch.from_numpy(np.stack(arrays)), labels


class Normaliser:
    """uint8 -> normalised float on the device, with preprocessing's exact constants."""

    def __init__(self, device: torch.device):
        scale, shift = preprocessing.normalisation_affine()
        self.scale = torch.from_numpy(scale).to(device)
        self.shift = torch.from_numpy(shift).to(device)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images.float() * self.scale - self.shift


def centre_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    height, width = images.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return images[..., top : top + size, left : left + size]


def augment_batch(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop, horizontal flip and light brightness/contrast jitter, all in batch.

    Takes uint8 (B, 3, S, S) on the device and returns float (B, 3, size, size) in 0..255.
    Random numbers come from a CPU generator so CPU and CUDA runs draw the same ones.
    """
    batch, _, side, _ = images.shape
    offsets = torch.randint(0, side - size + 1, (batch, 2), generator=generator).tolist()
    crops = torch.stack([img[:, top : top + size, left : left + size] for img, (top, left) in zip(images, offsets)])
    crops = crops.float()
    flip = (torch.rand(batch, generator=generator) < 0.5).to(images.device)
    crops = torch.where(flip[:, None, None, None], crops.flip(-1), crops)
    # Colour is the main cue for rust, so jitter only brightness and contrast, mildly.
    brightness = (0.8 + 0.4 * torch.rand(batch, 1, 1, 1, generator=generator)).to(images.device)
    contrast = (0.8 + 0.4 * torch.rand(batch, 1, 1, 1, generator=generator)).to(images.device)
    mean = crops.mean(dim=(1, 2, 3), keepdim=True)
    crops = ((crops - mean) * contrast + mean) * brightness
    return crops.clamp_(0, 255)


def augment_whole(images: torch.Tensor, generator: torch.Generator, min_scale: float = 0.6) -> torch.Tensor:
    """Random zoom (to ``min_scale`` of the side), shift and horizontal flip of letterboxed whole views, in batch.

    Takes uint8 (B, 3, S, S) and returns float (B, 3, S, S) in 0..255. Zooming in to about 0.6 shows the network
    regions at the scale serving's tiles give them; the margins the zoom pulls in are the letterbox's mean colour.
    Then the same brightness/contrast jitter as ``augment_batch``.
    """
    batch, _, side, _ = images.shape
    scale = min_scale + (1 - min_scale) * torch.rand(batch, generator=generator)
    shift_x = (1 - scale) * (2 * torch.rand(batch, generator=generator) - 1)
    shift_y = (1 - scale) * (2 * torch.rand(batch, generator=generator) - 1)
    flip = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, 0, 2], theta[:, 1, 2] = shift_x, shift_y
    grid = F.affine_grid(theta.to(images.device), [batch, 3, side, side], align_corners=False)
    fill = torch.tensor(preprocessing.FILL, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    # Sampling (image - fill) with zero padding fills whatever the zoom pulls in from outside with the fill colour.
    views = F.grid_sample(images.float() - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return _jitter(views + fill, generator)


def _jitter(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    count = batch.shape[0]
    # Colour is the main cue for rust, so jitter only brightness and contrast, mildly.
    brightness = (0.8 + 0.4 * torch.rand(count, 1, 1, 1, generator=generator)).to(batch.device)
    contrast = (0.8 + 0.4 * torch.rand(count, 1, 1, 1, generator=generator)).to(batch.device)
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    return (((batch - mean) * contrast + mean) * brightness).clamp_(0, 255)
