"""Honest selection (a slice held out of the training images) and temperature scaling."""

import math

import pytest
import torch
from training_samples import TRAIN, VAL, small_config

from modelzoo.ml import calibration, trainer


def test_it_chooses_the_epoch_without_looking_at_the_validation_labels():
    flipped = [(source, 1 - label) for source, label in VAL]

    honest = trainer.train(TRAIN, VAL, small_config(epochs=4))
    corrupted = trainer.train(TRAIN, flipped, small_config(epochs=4))

    assert corrupted.best_epoch == honest.best_epoch
    assert all(torch.equal(honest.state_dict[k], corrupted.state_dict[k]) for k in honest.state_dict)
    assert corrupted.temperature == honest.temperature
    # The validation set still scores the chosen weights: every answer is now wrong where it was right.
    assert corrupted.val_accuracy == pytest.approx(1 - honest.val_accuracy)


def test_it_records_selection_calibration_and_balanced_metrics():
    result = trainer.train(TRAIN, VAL, small_config(epochs=3))

    assert result.n_selection == 6 and result.n_train == len(TRAIN)  # 15 % of 20 per class, held out of 40
    assert result.selection_accuracy == result.history[result.best_epoch - 1]["select_acc"]
    assert result.temperature > 0
    recalls = [result.recall["no_corrosion"], result.recall["corrosion"]]
    assert result.balanced_accuracy == pytest.approx(sum(recalls) / 2)
    assert 0 <= result.ece <= 1 and 0 <= result.ece_calibrated <= 1
    assert {"ece", "ece_calibrated", "temperature", "selection_accuracy"} <= set(result.summary())


def test_it_keeps_the_last_epoch_uncalibrated_without_a_selection_slice():
    result = trainer.train(TRAIN, VAL, small_config(epochs=3, selection_fraction=0.0))

    assert result.best_epoch == 3 and result.n_selection == 0
    assert result.temperature == 1.0 and result.selection_accuracy is None
    assert result.ece_calibrated == result.ece


def test_it_holds_out_a_stratified_seeded_slice():
    labels = torch.tensor([0] * 20 + [1] * 10)

    kept, held_out = calibration.selection_split(labels, 0.15, seed=1)

    assert torch.bincount(labels[held_out]).tolist() == [3, 2]
    assert sorted(kept.tolist() + held_out.tolist()) == list(range(30))
    assert torch.equal(held_out, calibration.selection_split(labels, 0.15, seed=1)[1])
    assert not torch.equal(held_out, calibration.selection_split(labels, 0.15, seed=2)[1])


def test_it_holds_out_one_image_per_class_from_tiny_sets_but_never_the_last():
    _, held_out = calibration.selection_split(torch.tensor([0, 0, 1, 0]), 0.15, seed=0)
    assert len(held_out) == 1 and held_out.item() in (0, 1, 3)  # the lone corrosion image stays in training
    assert len(calibration.selection_split(torch.tensor([0, 1]), 0.15, seed=0)[1]) == 0


def test_it_recovers_a_known_temperature_from_synthetic_logits():
    generator = torch.Generator().manual_seed(0)
    margin = 4 * torch.randn(20_000, generator=generator)
    logits = torch.stack([torch.zeros_like(margin), margin], dim=1)
    # Labels drawn from the probabilities a temperature of 2.5 gives: an overconfident model's logits.
    labels = (torch.rand(20_000, generator=generator) < torch.sigmoid(margin / 2.5)).long()

    assert calibration.fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.05)
    assert calibration.fit_temperature(logits / 2.5, labels) == pytest.approx(1.0, rel=0.05)
    assert calibration.fit_temperature(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)) == 1.0


def test_it_computes_the_expected_calibration_error_of_a_hand_made_example():
    probabilities = torch.tensor([[0.05, 0.95], [0.95, 0.05], [0.3, 0.7], [0.7, 0.3]])
    labels = torch.tensor([1, 1, 1, 0])
    # Bin (14/15, 1]: confidence 0.95, half right -> 0.45 gap; bin (10/15, 11/15]: 0.7, all right -> 0.3 gap.
    expected = 0.5 * 0.45 + 0.5 * 0.3

    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(expected)
    assert calibration.expected_calibration_error(torch.tensor([[0.3, 0.7]] * 10), torch.tensor([1] * 7 + [0] * 3)) == (
        pytest.approx(0.0, abs=1e-6)
    )


def test_it_lowers_the_calibration_error_of_overconfident_logits():
    generator = torch.Generator().manual_seed(1)
    margin = 6 * torch.randn(5_000, generator=generator)
    logits = torch.stack([torch.zeros_like(margin), margin], dim=1)
    labels = (torch.rand(5_000, generator=generator) < torch.sigmoid(margin / 3)).long()
    temperature = calibration.fit_temperature(logits, labels)

    raw = calibration.expected_calibration_error(logits.softmax(1), labels)
    calibrated = calibration.expected_calibration_error((logits / temperature).softmax(1), labels)

    assert calibrated < 0.02 < raw
    assert math.isclose(temperature, 3, rel_tol=0.1)


def test_it_averages_recall_over_the_classes_for_balanced_accuracy():
    assert calibration.balanced_accuracy([[90, 10], [5, 5]]) == pytest.approx((0.9 + 0.5) / 2)
    assert calibration.balanced_accuracy([[3, 1], [0, 0]]) == pytest.approx(0.75)


def test_it_fits_no_temperature_on_a_slice_too_small_to_trust(monkeypatch):
    small = trainer.train(TRAIN, VAL, small_config(epochs=2))
    assert small.n_selection < calibration.MIN_CALIBRATION_IMAGES and small.temperature == 1.0
    assert small.ece_calibrated == small.ece

    monkeypatch.setattr(calibration, "MIN_CALIBRATION_IMAGES", small.n_selection)
    fitted = trainer.train(TRAIN, VAL, small_config(epochs=2))
    assert fitted.temperature != 1.0
