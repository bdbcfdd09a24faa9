"""Training loop for the zoo's networks, shaped like torchvision's references/classification.

``train()`` is the entry point the Django side calls; it wires up ``data.build_training_cache()`` ->
per epoch ``train_one_epoch()`` + ``evaluate()``. Images in and augmentation are in ``data.py``,
teacher–student self-training in ``self_training.py``.

Speed on a 2-core CPU is the main constraint: every image is decoded once, before the first epoch.

Randomness comes from generators made for the run, seeded by ``TrainConfig.seed``, never from the
process-wide ones (``random``, numpy's, torch's): with Celery tasks run eagerly, training runs inside
the web process, where those generators also pick quiz rounds and tally shards.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from modelzoo.ml import calibration, preprocessing
from modelzoo.ml.data import (
    CLASS_NAMES,
    CORROSION_LABEL,
    Item,
    Normaliser,
    augment_batch,
    augment_whole,
    available_cores,
    build_training_cache,
    build_view_cache,
    centre_crop,
)
from modelzoo.ml.network import PAPER, CamClassifier, CorrosionNet, build_network, pool_view_logits


@dataclass
class TrainConfig:
    # Adam as in the paper, but at 2e-3 rather than its 1e-4: on the real set and two CPU cores the paper's rate
    # reached 0.858 in 18 epochs, 2e-3 reached 0.890 (bench/README.md); TRAINING_CONFIG='{"lr": 0.0001}' restores it.
    epochs: int = 12
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    scheduler: str = "cosine"  # "cosine" (per step, after warm-up) | "plateau" | "constant"
    warmup_epochs: float = 1.0
    architecture: str = PAPER  # network.ARCHITECTURES: the paper's net or a torchvision one (weights=None)
    width: int = 16  # the paper's net only
    input_size: int = preprocessing.INPUT_SIZE
    # How the model looks at a photo (preprocessing.Views): "whole" (letterboxed whole photo, plus `tiles` x `tiles`
    # overlapping tiles pooled by `pooling`) or "centre" (the centre square, as models before whole-photo inference).
    view: str = preprocessing.WHOLE
    tiles: int = 0
    pooling: str = "max"
    zoom: float = 0.6  # whole view: training zooms in at random down to this share of the side
    optimizer: str = "adam"  # "adam" (the paper's) | "adamw" (decoupled weight decay)
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    num_threads: int = 0  # 0 = every core the process may use
    augment: bool = True
    class_weighting: bool = True
    label_smoothing: float = 0.1
    ema_decay: float = 0.0  # 0 = off; else validate and keep an exponential moving average of the weights
    drop_noisy: float = 0.0  # fraction of corrosion-labelled images ignored as probably mislabelled (see select_kept)
    drop_after: float = 0.3  # ... from this fraction of the epochs on, once the model has fitted the clean labels
    amp: bool = True  # bfloat16 autocast, CUDA only; CPU always trains in float32
    channels_last: bool = True
    decode_workers: int = 0  # 0 = one thread per core; Pillow releases the GIL while decoding
    eval_batch_size: int = 128
    progress: bool = True
    # Share of each class of the training images held out to choose the best epoch and fit the temperature
    # (see selection_split); 0 = no slice: the last epoch is kept, uncalibrated (temperature 1).
    selection_fraction: float = 0.15

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def views(self) -> preprocessing.Views:
        return preprocessing.Views(input_size=self.input_size, mode=self.view, tiles=self.tiles, pooling=self.pooling)


@dataclass
class TrainResult:
    history: list[dict[str, float]]
    best_epoch: int
    epochs: int
    val_accuracy: float
    val_loss: float
    precision: dict[str, float]
    recall: dict[str, float]
    confusion: list[list[int]]  # rows: true class, columns: predicted, order CLASS_NAMES
    balanced_accuracy: float  # mean per-class recall on the validation set
    ece: float  # expected calibration error on the validation set, raw softmax (calibration.ece)
    ece_calibrated: float  # ... after dividing the logits by `temperature`
    temperature: float  # fitted on the selection slice; 1.0 when there is none
    selection_accuracy: float | None  # the chosen epoch's accuracy on the selection slice; None without one
    n_selection: int  # training images held out as the selection slice
    device: str
    wall_seconds: float
    cache_seconds: float
    n_train: int  # training images given, the n_selection held out of them included
    n_val: int
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the weights, JSON-serialisable (for storing on a training run)."""
        data = asdict(self)
        del data["state_dict"]
        return data


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}")
    return torch.device(name)


def build_model(config: TrainConfig, *, generator: torch.Generator | None = None) -> CamClassifier:
    """The network with initial weights drawn from `generator` (by default one seeded with `config.seed`).

    torchvision architectures draw from a generator seeded with ``config.seed`` (``network.build_network``).
    """
    if config.architecture != PAPER:
        return build_network(config.architecture, seed=config.seed)
    with torch.device("meta"):
        model = CorrosionNet(width=config.width)  # shapes only: nothing is drawn from torch's global generator
    model.to_empty(device="cpu")
    _initialise(model, generator or torch.Generator().manual_seed(config.seed))
    return model


def _initialise(model: CorrosionNet, generator: torch.Generator) -> None:
    """The draws, in their order, that building the network after ``torch.manual_seed(seed)`` made.

    Each layer's default initialisation first, then CorrosionNet's own: the first set is overwritten, but
    drawing it keeps the weights a seed gives, and so every published figure, what they were.
    """
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    model.reset_parameters(generator=generator)


def class_weights(labels: torch.Tensor) -> torch.Tensor:
    """Inverse-frequency weights so the 3:4 imbalance does not bias the loss."""
    counts = torch.bincount(labels, minlength=len(CLASS_NAMES)).float()
    weights = labels.numel() / (len(CLASS_NAMES) * counts.clamp(min=1))
    return weights


class WarmupCosine:
    """LR factor per optimiser step: linear warm-up, then cosine decay to zero.

    A class rather than a lambda so the scheduler's state_dict stays picklable.
    """

    def __init__(self, warmup_steps: int, total_steps: int):
        self.warmup_steps = warmup_steps
        self.total_steps = max(total_steps, 1)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    if config.scheduler == "cosine":
        warmup = round(config.warmup_epochs * steps_per_epoch)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup, config.epochs * steps_per_epoch))
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.3, patience=1)
    if config.scheduler == "constant":
        return None
    raise ValueError(f"unknown scheduler {config.scheduler!r}")


class WeightAverage:
    """Exponential moving average of the weights and batch-norm statistics.

    Validation with noisy labels and a high learning rate swings from epoch to
    epoch; the average is a smoother model to validate and keep.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        # Ramp the decay up so the random initial weights are forgotten quickly.
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ours, theirs in zip(self.module.state_dict().values(), model.state_dict().values(), strict=True):
            if ours.dtype.is_floating_point:
                ours.lerp_(theirs, 1 - decay)
            else:
                ours.copy_(theirs)


@dataclass
class RunState:
    """What one training run updates step by step, so the per-epoch functions stay short."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    class_weight: torch.Tensor  # (2,) on the device; ones when class weighting is off
    images: torch.Tensor  # uint8 cache (N, 3, S, S)
    labels: torch.Tensor  # (N,)
    generator: torch.Generator
    normalise: Normaliser
    weights: torch.Tensor | None = None  # (N,) per-image loss weight (e.g. suspect labels down-weighted); None = 1
    average: WeightAverage | None = None
    sample_loss: torch.Tensor | None = None  # (N,) running plain cross-entropy per training image
    keep: torch.Tensor | None = None  # (N,) bool, False for images ignored as probably mislabelled

    def __post_init__(self):
        if self.sample_loss is None:
            self.sample_loss = torch.full((len(self.labels),), float("nan"))
        if self.keep is None:
            self.keep = torch.ones(len(self.labels), dtype=torch.bool)


def train_one_epoch(state: RunState, config: TrainConfig, device: torch.device, progress=None) -> dict[str, float]:
    state.model.train()
    order = torch.randperm(len(state.labels), generator=state.generator)
    total_loss, correct, seen = 0.0, 0, 0
    for start in range(0, len(order), config.batch_size):
        index = order[start : start + config.batch_size]
        if len(index) < 2 and seen:
            continue  # a lone leftover image would make batch norm statistics meaningless
        batch, target = _training_batch(state, index, config, device)
        with _autocast(device, config):
            logits = state.model(batch)
            loss = _masked_loss(state, index, logits, target, config)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        if state.average is not None:
            state.average.update(state.model)
        if isinstance(state.scheduler, torch.optim.lr_scheduler.LambdaLR):
            state.scheduler.step()
        _record_sample_loss(state, index, logits, target)
        total_loss += loss.item() * len(index)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(index)
        if progress is not None:
            progress.update(1)
    return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1)}


def _training_batch(state: RunState, index: torch.Tensor, config: TrainConfig, device: torch.device):
    batch = state.images[index].to(device, non_blocking=True)
    target = state.labels[index].to(device, non_blocking=True)
    if config.view == preprocessing.WHOLE:
        batch = augment_whole(batch, state.generator, config.zoom) if config.augment else batch.float()
    elif config.augment:
        batch = augment_batch(batch, config.input_size, state.generator)
    else:
        batch = centre_crop(batch, config.input_size).float()
    batch = state.normalise(batch)
    if config.channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch, target


def _masked_loss(state: RunState, index, logits, target, config: TrainConfig) -> torch.Tensor:
    """Class-weighted, label-smoothed cross-entropy over the images not set aside as mislabelled."""
    per_image = F.cross_entropy(
        logits.float(), target, weight=state.class_weight, label_smoothing=config.label_smoothing, reduction="none"
    )
    keep = state.keep[index].to(per_image.device, non_blocking=True).float()
    if state.weights is not None:
        keep = keep * state.weights[index].to(per_image.device, non_blocking=True)
    # Same normalisation as CrossEntropyLoss(weight=...)'s mean, restricted to kept images.
    return (per_image * keep).sum() / (state.class_weight[target] * keep).sum().clamp(min=1e-6)


@torch.no_grad()
def _record_sample_loss(state: RunState, index, logits, target) -> None:
    loss = F.cross_entropy(logits.detach().float(), target, reduction="none").cpu()
    previous = state.sample_loss[index]
    # Averaged over epochs: one augmented view's loss is too noisy to judge a label by.
    state.sample_loss[index] = torch.where(torch.isnan(previous), loss, 0.5 * previous + 0.5 * loss)


def select_kept(sample_loss: torch.Tensor, labels: torch.Tensor, fraction: float) -> torch.Tensor:
    """Ignore the ``fraction`` of corrosion-labelled images the model finds least believable.

    Small-loss selection: networks fit clean labels before noisy ones, so the
    highest running losses after a few epochs are mostly wrong labels. Only the
    corrosion class is filtered: its crowd labels are the noisy ones (red
    paint, copper, hot steel), while the hardest no-corrosion images are the
    valuable look-alikes the model must learn. Off by default: on the real
    set it did not raise validation accuracy (bench/README.md, "Default training on the real set").
    """
    keep = torch.ones_like(labels, dtype=torch.bool)
    candidates = labels == CORROSION_LABEL
    count = int(fraction * candidates.sum().item())
    if count:
        scores = torch.nan_to_num(sample_loss, nan=0.0).masked_fill(~candidates, -1.0)
        keep[scores.topk(count).indices] = False
    return keep


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: TrainConfig,
    device: torch.device,
    normalise: Normaliser,
) -> dict[str, Any]:
    """Validation transform (centre crop) only; plain cross-entropy so losses compare across configs."""
    return logit_metrics(all_logits(model, images, config=config, device=device, normalise=normalise), labels)


def logit_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    total_loss = F.cross_entropy(logits, labels, reduction="sum").item() if len(labels) else 0.0
    return {"val_loss": total_loss / max(len(labels), 1), **classification_metrics(labels, logits.argmax(1))}


@torch.inference_mode()
def all_logits(model: nn.Module, images: torch.Tensor, *, config: TrainConfig, device: torch.device, normalise):
    """(N, 2) float32 logits on the CPU for cached views (N, V, 3, S, S), pooled as the exported graph pools them."""
    batches = [
        logits.float().cpu()
        for _, logits in _logits_in_batches(model, images, config=config, device=device, normalise=normalise)
    ]
    return torch.cat(batches) if batches else torch.zeros(0, len(CLASS_NAMES))


def _logits_in_batches(model, images: torch.Tensor, *, config: TrainConfig, device: torch.device, normalise):
    """(start index, pooled logits) per batch of cached views (N, V, 3, S, S): serving's transform and pooling."""
    model.eval()
    per_batch = max(1, config.eval_batch_size // max(1, images.shape[1] if images.ndim == 5 else 1))
    for start in range(0, len(images), per_batch):
        views = images[start : start + per_batch].to(device)
        count, view_count = views.shape[:2]
        batch = normalise(views.flatten(0, 1))
        if config.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with _autocast(device, config):
            view_logits = model(batch).float().reshape(count, view_count, -1)
        yield start, pool_view_logits(view_logits, config.pooling)


def classification_metrics(labels: torch.Tensor, predicted: torch.Tensor) -> dict[str, Any]:
    confusion = torch.zeros(len(CLASS_NAMES), len(CLASS_NAMES), dtype=torch.int64)
    for true_class, predicted_class in zip(labels.tolist(), predicted.tolist()):
        confusion[true_class, predicted_class] += 1
    precision, recall = {}, {}
    for index, name in enumerate(CLASS_NAMES):
        true_positive = confusion[index, index].item()
        precision[name] = true_positive / max(confusion[:, index].sum().item(), 1)
        recall[name] = true_positive / max(confusion[index, :].sum().item(), 1)
    accuracy = confusion.diagonal().sum().item() / max(len(labels), 1)
    return {"val_acc": accuracy, "precision": precision, "recall": recall, "confusion": confusion.tolist()}


def _loss_weights(labels: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    return class_weights(labels) if config.class_weighting else torch.ones(len(CLASS_NAMES))


def _autocast(device: torch.device, config: TrainConfig):
    # bfloat16 needs no loss scaling. CPU stays float32 so its results do not
    # depend on whether the processor has bfloat16 units.
    enabled = config.amp and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def _cpu_copy(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().to("cpu", copy=True).contiguous() for key, value in state_dict.items()}


def train(
    train_items: Sequence[Item],
    val_items: Sequence[Item],
    config: TrainConfig | None = None,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    sample_weights: Sequence[float] | None = None,
) -> TrainResult:
    """Train from scratch and return the weights of the best epoch with their validation metrics.

    The best epoch and the temperature are chosen on ``config.selection_fraction`` of the training
    images, held out (``calibration.selection_split``); the validation set is only reported.

    ``on_epoch`` receives each epoch's metrics (JSON-serialisable dict) as soon as
    that epoch is validated; ``checkpoint_path``, if given, is overwritten with
    the latest epoch's full training state. ``sample_weights`` (one per training item) multiply
    each image's loss, e.g. to down-weight labels suspected to be wrong.
    """
    config = config or TrainConfig()
    if not train_items or not val_items:
        raise ValueError("training needs at least one training and one validation image")
    if sample_weights is not None and len(sample_weights) != len(train_items):
        raise ValueError(f"{len(sample_weights)} sample weights for {len(train_items)} training images")
    started = time.perf_counter()
    device = resolve_device(config.device)
    with _torch_threads(config):
        cached = _cache_splits(train_items, val_items, config, device, sample_weights)
        run = RunSetup(config, device, started, time.perf_counter() - started, on_epoch, checkpoint_path)
        return _train(cached, run)


@contextmanager
def _torch_threads(config: TrainConfig):
    """Torch's thread count as the configuration asks, restored afterwards (the caller's process goes on)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads or available_cores())
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)


@dataclass(frozen=True)
class CachedSplits:
    """The decoded training, selection and validation images (uint8 base squares) with their labels."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    select_images: torch.Tensor
    select_labels: torch.Tensor
    train_weights: torch.Tensor | None = None


@dataclass(frozen=True)
class RunSetup:
    """What one call of ``train()`` works with besides the images: settings, device, clock and callbacks."""

    config: TrainConfig
    device: torch.device
    started: float  # time.perf_counter() when train() was called
    cache_seconds: float
    on_epoch: Callable[[dict[str, Any]], None] | None = None
    checkpoint_path: str | os.PathLike | None = None


def _cache_splits(train_items, val_items, config: TrainConfig, device: torch.device, weights=None) -> CachedSplits:
    """Training images as training steps crop them; selection and validation images as serving's views."""
    labels = torch.tensor([int(label) for _, label in train_items], dtype=torch.int64)
    kept, held_out = calibration.selection_split(labels, config.selection_fraction, config.seed)
    views, workers = config.views, config.decode_workers
    train_images, train_labels = build_training_cache([train_items[i] for i in kept.tolist()], views, workers)
    select_images, select_labels = build_view_cache([train_items[i] for i in held_out.tolist()], views, workers)
    val_images, val_labels = build_view_cache(val_items, views, workers)
    if device.type == "cuda":
        # The whole cache fits on any GPU; it saves a host-to-device copy per step.
        train_images, val_images, select_images = (t.to(device) for t in (train_images, val_images, select_images))
    train_weights = None
    if weights is not None:
        train_weights = torch.tensor([float(weights[i]) for i in kept.tolist()], dtype=torch.float32)
    return CachedSplits(train_images, train_labels, val_images, val_labels, select_images, select_labels, train_weights)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def _run_state(cached: CachedSplits, config: TrainConfig, device: torch.device) -> RunState:
    # Two generators from one seed, as the weights and the shuffling always were: the seed gives the run it gave.
    model = build_model(config, generator=torch.Generator().manual_seed(config.seed)).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    steps_per_epoch = math.ceil(len(cached.train_labels) / config.batch_size)
    return RunState(
        model=model,
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config, steps_per_epoch),
        class_weight=_loss_weights(cached.train_labels, config).to(device),
        images=cached.train_images,
        labels=cached.train_labels,
        generator=torch.Generator().manual_seed(config.seed),
        normalise=Normaliser(device),
        average=WeightAverage(model, config.ema_decay) if config.ema_decay else None,
        weights=cached.train_weights,
    )


def _train(cached: CachedSplits, run: RunSetup) -> TrainResult:
    config, device = run.config, run.device
    if device.type == "cuda":
        # Fastest kernels over bit-exact reruns on GPU; CPU runs stay reproducible.
        torch.backends.cudnn.benchmark = True
    state = _run_state(cached, config, device)
    validated = state.average.module if state.average is not None else state.model
    drop_from = max(2, math.ceil(config.drop_after * config.epochs) + 1)
    steps_per_epoch = math.ceil(len(cached.train_labels) / config.batch_size)

    history: list[dict[str, float]] = []
    best: dict[str, Any] | None = None
    best_state: dict[str, torch.Tensor] = {}
    with tqdm(total=config.epochs * steps_per_epoch, disable=not config.progress, desc="train", unit="step") as bar:
        for epoch in range(1, config.epochs + 1):
            epoch_started = time.perf_counter()
            if config.drop_noisy and epoch >= drop_from:
                state.keep = select_kept(state.sample_loss, cached.train_labels, config.drop_noisy)
            metrics = train_one_epoch(state, config, device, bar)
            lr = state.optimizer.param_groups[0]["lr"]  # where the schedule stands at the end of the epoch
            select = _selection_metrics(validated, cached, config, device, state.normalise)
            # Reported per epoch for the curves; nothing below reads it to choose.
            val = evaluate(
                validated, cached.val_images, cached.val_labels, config=config, device=device, normalise=state.normalise
            )
            if isinstance(state.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                # Without a slice the selection loss is a constant; the training loss is the next-best signal.
                state.scheduler.step(select["loss"] if len(cached.select_labels) else metrics["train_loss"])
            if best is None or (select["acc"], -select["loss"]) >= (best["acc"], -best["loss"]):
                # >=: with no selection slice every epoch ties, and the last one is kept.
                best = {"epoch": epoch, **select}
                best_state = _cpu_copy(validated.state_dict())
            row = {
                "epoch": epoch,
                "epochs": config.epochs,
                **metrics,
                "select_loss": select["loss"],
                "select_acc": select["acc"],
                "val_loss": val["val_loss"],
                "val_acc": val["val_acc"],
                "lr": lr,
                "seconds": time.perf_counter() - epoch_started,
                "best_epoch": best["epoch"],
                "ignored": int((~state.keep).sum().item()),
            }
            history.append(row)
            bar.set_postfix(epoch=epoch, loss=f"{row['train_loss']:.3f}", val_acc=f"{row['val_acc']:.3f}")
            _epoch_done(run, state, row)
    return _result(run, cached, history, best, best_state)


def _selection_metrics(model, cached: CachedSplits, config: TrainConfig, device, normalise):
    """The epoch's score on the selection slice; without a slice, a constant (so the last epoch wins)."""
    if not len(cached.select_labels):
        return {"acc": 0.0, "loss": 0.0}
    scored = evaluate(
        model, cached.select_images, cached.select_labels, config=config, device=device, normalise=normalise
    )
    return {"acc": scored["val_acc"], "loss": scored["val_loss"]}


def _epoch_done(run: RunSetup, state: RunState, row: dict[str, Any]) -> None:
    if run.checkpoint_path is not None:
        save_checkpoint(
            run.checkpoint_path,
            state.model,
            optimizer=state.optimizer,
            scheduler=state.scheduler,
            epoch=row["epoch"],
            config=run.config,
        )
    if run.on_epoch is not None:
        run.on_epoch(dict(row))


def _result(run: RunSetup, cached: CachedSplits, history, best: dict[str, Any], best_state) -> TrainResult:
    chosen = _chosen_model(run, best_state)
    scored = _score_chosen(chosen, cached, run)
    val = logit_metrics(scored["val_logits"], cached.val_labels)
    temperature = scored["temperature"]
    return TrainResult(
        history=history,
        best_epoch=best["epoch"],
        epochs=run.config.epochs,
        val_accuracy=val["val_acc"],
        val_loss=val["val_loss"],
        precision=val["precision"],
        recall=val["recall"],
        confusion=val["confusion"],
        balanced_accuracy=calibration.balanced_accuracy(val["confusion"]),
        ece=calibration.expected_calibration_error(scored["val_logits"].softmax(1), cached.val_labels),
        ece_calibrated=calibration.expected_calibration_error(
            (scored["val_logits"] / temperature).softmax(1), cached.val_labels
        ),
        temperature=temperature,
        selection_accuracy=best["acc"] if len(cached.select_labels) else None,
        n_selection=len(cached.select_labels),
        device=str(run.device),
        wall_seconds=time.perf_counter() - run.started,
        cache_seconds=run.cache_seconds,
        n_train=len(cached.train_labels) + len(cached.select_labels),
        n_val=len(cached.val_labels),
        config=asdict(run.config),
        state_dict=best_state,
    )


def _chosen_model(run: RunSetup, best_state) -> nn.Module:
    model = build_model(run.config).to(run.device)
    if run.config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.load_state_dict(best_state)
    return model.eval()


def _score_chosen(model: nn.Module, cached: CachedSplits, run: RunSetup) -> dict[str, Any]:
    """The chosen weights' validation logits and the temperature fitted on the selection slice's."""
    normalise = Normaliser(run.device)
    select_logits = all_logits(model, cached.select_images, config=run.config, device=run.device, normalise=normalise)
    val_logits = all_logits(model, cached.val_images, config=run.config, device=run.device, normalise=normalise)
    if len(cached.select_labels) < calibration.MIN_CALIBRATION_IMAGES:
        # Too few to fit: a slice the model happens to get all right drives T to its bound, and every
        # verdict of the new version would read as certain.
        return {"val_logits": val_logits, "temperature": 1.0}
    return {"val_logits": val_logits, "temperature": calibration.fit_temperature(select_logits, cached.select_labels)}


def save_checkpoint(
    path,
    model: nn.Module,
    *,
    optimizer=None,
    scheduler=None,
    epoch: int = 0,
    config: TrainConfig | None = None,
    temperature: float = 1.0,
) -> None:
    torch.save(
        {
            "model": _cpu_copy(model.state_dict()),
            "temperature": temperature,  # divides the logits before the softmax (calibration.py)
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epoch": epoch,
            "config": asdict(config or TrainConfig()),
        },
        path,
    )


def load_checkpoint(
    path, *, optimizer=None, scheduler=None, map_location="cpu"
) -> tuple[CamClassifier, dict[str, Any]]:
    """Rebuild the model from the checkpoint's own config; optionally restore optimizer/scheduler state."""
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    # Checkpoints written before whole-photo inference record no view: they were centre crops.
    model = build_model(TrainConfig.from_dict({"view": preprocessing.CENTRE, **checkpoint["config"]}))
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None and checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    return model, checkpoint


def model_from_result(result: TrainResult) -> CamClassifier:
    """The best epoch's model, on CPU in eval mode (ready for export)."""
    model = build_model(TrainConfig.from_dict(result.config))
    model.load_state_dict(copy.deepcopy(result.state_dict))
    return model.eval()


def predict_probabilities(
    model: nn.Module, items: Sequence[Item], config: TrainConfig, *, temperature: float = 1.0
) -> torch.Tensor:
    """P(corrosion) per item through the validation transform, the view serving has of a photo.

    With the run's ``temperature`` it is the calibrated probability the exported model gives.
    """
    if not items:
        return torch.zeros(0)
    device = resolve_device(config.device)
    with _torch_threads(config), torch.inference_mode():
        images, _ = build_view_cache(items, config.views, config.decode_workers)
        batches = _logits_in_batches(
            model.to(device), images, config=config, device=device, normalise=Normaliser(device)
        )
        return torch.cat(
            [torch.softmax(logits.float() / temperature, dim=1)[:, CORROSION_LABEL].cpu() for _, logits in batches]
        )
