"""Honest model selection and calibrated probabilities: the selection slice, temperature scaling and ECE.

The expert validation set reports a model and gates its promotion; it never chooses anything. The best
epoch and the temperature are chosen on a slice held out of the training images (``selection_split``).

Temperature scaling (Guo et al. 2017) divides the logits by one scalar T > 0 before the softmax: the
predicted class never changes, only how sure the probability says it is. ``export`` puts the division in the
ONNX graph, so the probability serving shows is this calibrated one.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

ECE_BINS = 15
# Golden-section search bounds on log T: T in [0.05, 20] covers any net trained with a sane loss.
_LOG_T_RANGE = (math.log(0.05), math.log(20.0))
# Fewer held-out photos than this and the temperature stays 1 (trainer._score_chosen).
MIN_CALIBRATION_IMAGES = 50
_SEARCH_STEPS = 80


def selection_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, selection indices): a stratified, seeded share of each class held out.

    Each class holds out ``round(fraction * count)`` images, at least one, as long as one is left to train
    on; a class with a single image keeps it for training. So a tiny set still gets a (tiny) slice, and only
    ``fraction == 0`` or a set of one image per class gets none (the caller then keeps the last epoch).
    """
    generator = torch.Generator().manual_seed(seed)
    held_out = []
    for label in torch.unique(labels).tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        count = min(max(1, round(fraction * len(members))), len(members) - 1) if fraction > 0 else 0
        held_out.append(members[:count])
    selection = torch.cat(held_out).sort().values if held_out else torch.zeros(0, dtype=torch.int64)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[selection] = False
    return torch.nonzero(keep).flatten(), selection


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 that minimises the negative log-likelihood of ``softmax(logits / T)``.

    NLL is convex in 1/T, hence unimodal in log T: a golden-section search finds the minimum without a
    learning rate or a random start, so the same logits always give the same T. No logits: 1.0.
    """
    if len(labels) == 0:
        return 1.0
    logits, labels = logits.detach().double().cpu(), labels.cpu()

    def nll(log_t: float) -> float:
        return F.cross_entropy(logits / math.exp(log_t), labels).item()

    low, high = _LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(_SEARCH_STEPS):
        left, right = high - ratio * (high - low), low + ratio * (high - low)
        if nll(left) <= nll(right):
            high = right
        else:
            low = left
    return math.exp((low + high) / 2)


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width confidence bins: sum over bins of (share of images) * |accuracy - confidence|.

    ``probabilities`` is (N, classes); confidence is the top probability, bin i holds (i/bins, (i+1)/bins].
    """
    if len(labels) == 0:
        return 0.0
    confidence, predicted = probabilities.float().max(dim=1)
    correct = (predicted == labels.to(predicted.device)).float()
    index = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            gap = (correct[members].mean() - confidence[members].mean()).abs().item()
            total += members.float().mean().item() * gap
    return total


def balanced_accuracy(confusion: list[list[int]]) -> float:
    """Mean recall over the classes present (rows of the confusion matrix: true class)."""
    recalls = [row[index] / sum(row) for index, row in enumerate(confusion) if sum(row)]
    return sum(recalls) / len(recalls) if recalls else 0.0
