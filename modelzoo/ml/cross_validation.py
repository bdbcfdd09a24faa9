"""Out-of-fold predictions: every training image scored by a model that never trained on it.

What confident learning (``noisy_labels``) needs: a model scoring its own training images has memorised their
labels, right or wrong. Stratified k-fold over the items; each fold model trains on the other k-1 folds and
predicts the held-out one. The held-out fold is passed as ``train``'s validation argument, which only reports:
the trainer chooses its epoch and temperature on a slice carved out of the k-1 training folds, so nothing
about the held-out fold leaks into the prediction of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from modelzoo.ml.data import Item
from modelzoo.ml.noisy_labels import stratified_folds
from modelzoo.ml.trainer import TrainConfig, model_from_result, predict_probabilities, train

logger = logging.getLogger(__name__)


def out_of_fold_probabilities(
    items: Sequence[Item],
    config: TrainConfig,
    *,
    folds: int = 3,
    seed: int = 0,
    on_fold: Callable[[dict], None] | None = None,
) -> np.ndarray:
    """(N,) calibrated P(corrosion) of each item, from the fold model that did not train on it.

    ``config`` is the fold models' configuration: a cheaper one than the production run's (fewer epochs)
    is usually enough to tell a label the data contradicts. ``on_fold`` gets each fold's summary.
    """
    labels = [int(label) for _, label in items]
    probabilities = np.full(len(items), np.nan)
    for fold, held_out in enumerate(stratified_folds(labels, folds, seed)):
        started = time.perf_counter()
        held = set(held_out.tolist())
        train_items = [item for index, item in enumerate(items) if index not in held]
        held_items = [items[index] for index in held_out]
        result = train(train_items, held_items, config)
        model = model_from_result(result)
        predicted = predict_probabilities(model, held_items, config, temperature=result.temperature)
        probabilities[held_out] = predicted.double().numpy()
        summary = {
            "fold": fold + 1,
            "folds": folds,
            "n_train": len(train_items),
            "n_held_out": len(held_items),
            "held_out_accuracy": result.val_accuracy,
            "temperature": result.temperature,
            "seconds": time.perf_counter() - started,
        }
        logger.info("out-of-fold %(fold)s/%(folds)s: held-out accuracy %(held_out_accuracy).3f", summary)
        if on_fold is not None:
            on_fold(summary)
    return probabilities
