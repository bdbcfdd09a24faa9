"""Out-of-fold predictions: each image scored once, by a model that never trained on it."""

import numpy as np
import pytest
import torch
from training_samples import TRAIN, small_config

from modelzoo.ml import cross_validation


def test_it_predicts_every_item_once_from_a_model_that_did_not_train_on_it(monkeypatch):
    items = [(f"photo-{index}", index % 3 == 0) for index in range(31)]
    trained_on, predicted = [], []

    def fake_train(train_items, val_items, config):
        trained_on.append({source for source, _ in train_items})
        return type("Result", (), {"val_accuracy": 1.0, "temperature": 1.5, "held": val_items})()

    def fake_predict(model, held_items, config, *, temperature):
        assert temperature == 1.5  # the fold model's own calibration
        predicted.append([source for source, _ in held_items])
        return torch.tensor([int(source.split("-")[1]) / 100 for source, _ in held_items])

    monkeypatch.setattr(cross_validation, "train", fake_train)
    monkeypatch.setattr(cross_validation, "model_from_result", lambda result: None)
    monkeypatch.setattr(cross_validation, "predict_probabilities", fake_predict)
    folds = []
    probabilities = cross_validation.out_of_fold_probabilities(items, small_config(), folds=3, on_fold=folds.append)

    assert sorted(source for fold in predicted for source in fold) == sorted(source for source, _ in items)
    for training, held in zip(trained_on, predicted, strict=True):
        assert not training & set(held)
        assert len(training) + len(held) == len(items)
    # Each probability lands on its own item.
    assert probabilities.tolist() == pytest.approx([index / 100 for index in range(31)])
    assert [fold["fold"] for fold in folds] == [1, 2, 3]
    assert sum(fold["n_held_out"] for fold in folds) == 31


def test_it_scores_held_out_generated_photos_better_than_chance():
    items = TRAIN  # 40 generated photos, alternately no corrosion and corrosion
    probabilities = cross_validation.out_of_fold_probabilities(items, small_config(epochs=3), folds=2)
    labels = np.array([label for _, label in items])
    assert probabilities.shape == (40,) and np.isfinite(probabilities).all()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert ((probabilities >= 0.5) == labels).mean() > 0.75
