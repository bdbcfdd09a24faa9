"""Teacher–student self-training: a teacher trained on people's labels labels the photos it is sure of."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from modelzoo.ml.data import CLASS_NAMES, Item
from modelzoo.ml.trainer import TrainConfig, TrainResult, model_from_result, predict_probabilities, train


def balanced_pseudo_labels(
    probabilities: torch.Tensor, confidence: float, people_labels: Sequence[int]
) -> dict[int, int]:
    """{index: label} of the predictions at least `confidence` sure, in the class proportions of people's labels.

    Most confident first within each class, as many as keep the proportions. A young model that calls
    everything "no corrosion" gives nothing, instead of thousands of one-class labels that would drown the
    people's (class-balanced self-training, Zou et al. 2018).
    """
    predicted = (probabilities > 0.5).long()
    sureness = torch.maximum(probabilities, 1 - probabilities)
    counts = torch.bincount(torch.as_tensor(list(people_labels), dtype=torch.long), minlength=len(CLASS_NAMES))
    shares = counts.double() / max(int(counts.sum()), 1)
    sure = sureness >= confidence
    available = torch.stack([(sure & (predicted == label)).sum() for label in range(len(CLASS_NAMES))]).double()
    present = shares > 0
    if not bool(present.any()):
        return {}
    scale = float((available[present] / shares[present]).min())
    pseudo: dict[int, int] = {}
    for label in range(len(CLASS_NAMES)):
        take = math.floor(scale * float(shares[label]) + 1e-9)
        candidates = torch.nonzero(sure & (predicted == label)).flatten()
        most_sure_first = candidates[torch.argsort(sureness[candidates], descending=True, stable=True)]
        pseudo.update({int(index): label for index in most_sure_first[:take].tolist()})
    return dict(sorted(pseudo.items()))


@dataclass
class SelfTrainResult:
    student: TrainResult
    teacher_val_accuracy: float
    pseudo_labels: dict[int, int]  # position in the unlabelled items -> label the teacher gave it


def self_train(
    train_items: Sequence[Item],
    val_items: Sequence[Item],
    unlabelled_items: Sequence[Item],
    *,
    confidence: float,
    config: TrainConfig | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> SelfTrainResult:
    """Teacher–student self-training: a teacher trained on people's labels alone labels the unlabelled
    items it is at least `confidence` sure of (class-balanced), and a student is trained from scratch on both.

    The teacher has never been fitted to any guess of its own, so its confidence still means something; a
    model scoring photos it was trained on with its own labels would be sure of exactly its mistakes.
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    teacher = train(train_items, val_items, replace(config, progress=False))
    # The calibrated probability: `confidence` then means what it says (0.95 sure is right about 95% of the time).
    probabilities = predict_probabilities(
        model_from_result(teacher), unlabelled_items, config, temperature=teacher.temperature
    )
    pseudo = balanced_pseudo_labels(probabilities, confidence, [label for _, label in train_items])
    student_items = list(train_items) + [(unlabelled_items[i][0], label) for i, label in pseudo.items()]
    student = train(student_items, val_items, config, on_epoch=on_epoch)
    student.wall_seconds = time.perf_counter() - started  # what the version cost: teacher and scoring included
    return SelfTrainResult(student=student, teacher_val_accuracy=teacher.val_accuracy, pseudo_labels=pseudo)
