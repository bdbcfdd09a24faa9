"""Training images/s: the project's cached-tensor loop vs a naive decode-every-step DataLoader loop.

    .venv/bin/python bench/training_throughput.py [--data ../shared/data/corrosion] [--images 384] [--steps 10]

Both loops train the same network (default TrainConfig: width, input size,
batch size, Adam, class-weighted cross-entropy) in the same process with the
same thread count; only the input pipeline differs:

- project: ``data.build_cache`` decodes each JPEG once (timed separately),
  then ``trainer.train_one_epoch`` slices/augments uint8 tensors in batch;
- naive:   a ``torch.utils.data.Dataset`` that opens, decodes, resizes,
  random-crops, flips and normalises every image with PIL/numpy on every step.

It also times each input pipeline alone (no model step), which shows what the
cache saves independently of how heavy the network is. Falls back to
generated photos when the real set is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from modelzoo.ml import data, preprocessing, trainer  # noqa: E402


class NaiveDataset(Dataset):
    """What a first version usually looks like: full decode and preprocessing in __getitem__."""

    def __init__(self, items, input_size: int, seed: int = 0):
        self.items = items
        self.input_size = input_size
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        base = preprocessing.load_base_array(path, self.input_size)
        top, left = self.rng.integers(0, base.shape[-1] - self.input_size + 1, size=2)
        crop = base[:, top : top + self.input_size, left : left + self.input_size]
        if self.rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        return torch.from_numpy(preprocessing.normalise(crop)), label


def load_items(data_dir: str, count: int) -> tuple[list, str]:
    split = os.path.join(data_dir, "train")
    if os.path.isdir(split):
        items = data.image_folder_items(split)
        # Interleave classes so any prefix is balanced.
        items = items[:: max(1, len(items) // count)][:count]
        return items, f"real photos from {split}"
    from quiz.demo_images import make_demo_image

    folder = tempfile.mkdtemp()
    items = []
    for index in range(count):
        label = index % 2
        path = os.path.join(folder, f"{index}.jpg")
        make_demo_image(data.CLASS_NAMES[label], seed=index, size=(480, 320)).save(path, quality=90)
        items.append((path, label))
    return items, "generated 480x320 JPEGs (real set not found)"


def fresh_model(config, device):
    torch.manual_seed(config.seed)
    model = trainer.build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return model, optimizer


def time_project_loop(items, config, device, epochs: int) -> dict:
    started = time.perf_counter()
    images, labels = data.build_cache(items, config.input_size, config.decode_workers)
    cache_seconds = time.perf_counter() - started
    model, optimizer = fresh_model(config, device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    state = trainer.RunState(
        model=model,
        optimizer=optimizer,
        scheduler=None,
        class_weight=trainer.class_weights(labels).to(device),
        images=images,
        labels=labels,
        generator=torch.Generator().manual_seed(config.seed),
        normalise=data.Normaliser(device),
    )
    trainer.train_one_epoch(state, config, device)  # warm-up: oneDNN picks kernels on the first passes
    started = time.perf_counter()
    for _ in range(epochs):
        trainer.train_one_epoch(state, config, device)
    seconds = time.perf_counter() - started
    return {"images": epochs * len(labels), "seconds": seconds, "cache_seconds": cache_seconds}


def time_naive_loop(items, config, device, epochs: int, workers: int) -> dict:
    model, optimizer = fresh_model(config, device)
    labels = torch.tensor([label for _, label in items])
    criterion = nn.CrossEntropyLoss(weight=trainer.class_weights(labels), label_smoothing=config.label_smoothing)
    loader = DataLoader(
        NaiveDataset(items, config.input_size),
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=False,
    )

    def one_epoch():
        model.train()
        for batch, target in loader:
            loss = criterion(model(batch.to(device)), target.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    one_epoch()  # warm-up, as for the project loop
    started = time.perf_counter()
    for _ in range(epochs):
        one_epoch()
    return {"images": epochs * len(items), "seconds": time.perf_counter() - started}


def time_pipelines_only(items, config) -> tuple[float, float]:
    """Images/s of each input pipeline alone, producing normalised float batches."""
    images, labels = data.build_cache(items, config.input_size, config.decode_workers)
    generator = torch.Generator().manual_seed(0)
    normalise = data.Normaliser(torch.device("cpu"))
    started = time.perf_counter()
    for start in range(0, len(labels), config.batch_size):
        normalise(data.augment_batch(images[start : start + config.batch_size], config.input_size, generator))
    cached = len(labels) / (time.perf_counter() - started)
    dataset = NaiveDataset(items, config.input_size)
    started = time.perf_counter()
    for _batch in DataLoader(dataset, batch_size=config.batch_size, num_workers=0):
        pass
    naive = len(items) / (time.perf_counter() - started)
    return cached, naive


def main(args: argparse.Namespace) -> None:
    config = trainer.TrainConfig(progress=False)
    device = trainer.resolve_device(config.device)
    torch.set_num_threads(config.num_threads or data.available_cores())
    items, source = load_items(args.data, args.images)
    print(
        f"{len(items)} {source}; model width {config.width}, input {config.input_size}px, batch {config.batch_size}, "
        f"device {device}, {torch.get_num_threads()} threads, {args.epochs} timed epoch(s) after 1 warm-up"
    )

    project = time_project_loop(items, config, device, args.epochs)
    # Same loop in the default memory format, to separate the two speed-ups.
    contiguous = time_project_loop(items, dataclasses.replace(config, channels_last=False), device, args.epochs)
    naive = {w: time_naive_loop(items, config, device, args.epochs, w) for w in args.workers}
    cached_only, naive_only = time_pipelines_only(items, config)

    project_rate = project["images"] / project["seconds"]
    # A training run builds the cache once for all its epochs.
    per_epoch = project["seconds"] / args.epochs
    amortised = len(items) * config.epochs / (per_epoch * config.epochs + project["cache_seconds"])
    contiguous_rate = contiguous["images"] / contiguous["seconds"]
    naive_rates = {workers: row["images"] / row["seconds"] for workers, row in naive.items()}
    baseline = naive_rates[args.workers[0]]
    print()
    print(f"{'loop':<44}{'images/s':>10}{f'vs naive w={args.workers[0]}':>14}")
    print(f"{'project: cached uint8 tensors':<44}{project_rate:>10.1f}{project_rate / baseline:>13.2f}x")
    label = f"  same, cache build spread over {config.epochs} epochs"
    print(f"{label:<44}{amortised:>10.1f}{amortised / baseline:>13.2f}x")
    print(f"{'  same, without channels_last':<44}{contiguous_rate:>10.1f}{contiguous_rate / baseline:>13.2f}x")
    for workers, rate in naive_rates.items():
        print(f"{f'naive Dataset/DataLoader, num_workers={workers}':<44}{rate:>10.1f}{rate / baseline:>13.2f}x")
    print()
    print(f"{'input pipeline only (no model step)':<44}{'images/s':>10}")
    print(f"{'project: batch augment of cached tensors':<44}{cached_only:>10.0f}")
    print(f"{'naive: PIL decode + numpy per image':<44}{naive_only:>10.0f}")
    print(f"{'ratio':<44}{cached_only / naive_only:>9.1f}x")
    print(
        f"\ndecode cache: {project['cache_seconds']:.2f} s for {len(items)} images "
        f"({1000 * project['cache_seconds'] / len(items):.2f} ms/image, built once per training run)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "corrosion"))
    parser.add_argument("--images", type=int, default=640, help="images per epoch (a subset keeps the run short)")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per loop")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers for the naive loop")
    main(parser.parse_args())
