"""Confident learning and the stratified folds, on synthetic probabilities with known flipped labels."""

import numpy as np
import pytest

from modelzoo.ml.noisy_labels import as_two_columns, find_label_issues, stratified_folds


def noisy_set(n=3000, flip_corrosion=0.17, flip_clean=0.03, seed=0):
    """True classes, given labels with known flips, and an imperfect model's P(corrosion) of the true class."""
    rng = np.random.default_rng(seed)
    true = (rng.random(n) < 0.45).astype(int)
    probability = np.clip(rng.normal(0.25 + 0.5 * true, 0.17), 0.01, 0.99)
    given = true.copy()
    # As in the real set: "corrosion" labels are the noisy ones (red paint, copper...).
    given[(true == 0) & (rng.random(n) < flip_corrosion)] = 1
    given[(true == 1) & (rng.random(n) < flip_clean)] = 0
    return true, given, probability


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "confident_joint", "both"])
def test_it_finds_flipped_labels_far_better_than_chance(method):
    true, given, probability = noisy_set()
    wrong = given != true
    found = np.zeros(len(given), dtype=bool)
    found[find_label_issues(given, probability, method=method).indices] = True
    precision = (found & wrong).sum() / found.sum()
    recall = (found & wrong).sum() / wrong.sum()
    # Chance: flagging as many at random gives precision = the noise rate (about 0.1) and recall = the
    # share flagged (under 0.1).
    assert precision > 0.75, precision
    assert recall > 0.5, recall


def test_it_estimates_the_noise_rate_of_each_given_label():
    true, given, probability = noisy_set()
    issues = find_label_issues(given, probability)
    actual_corrosion = ((given == 1) & (true == 0)).sum() / (given == 1).sum()
    actual_clean = ((given == 0) & (true == 1)).sum() / (given == 0).sum()
    assert issues.noise_matrix[1, 0] == pytest.approx(actual_corrosion, abs=0.06)
    assert issues.noise_matrix[0, 1] == pytest.approx(actual_clean, abs=0.05)
    assert issues.noise_matrix[1, 0] > issues.noise_matrix[0, 1]


def test_it_thresholds_each_class_at_its_mean_self_confidence():
    labels = np.array([0, 0, 1, 1, 1])
    probability = np.array([0.1, 0.2, 0.9, 0.8, 0.1])  # P(corrosion)
    issues = find_label_issues(labels, probability)
    assert issues.thresholds == pytest.approx([0.85, 0.6])
    # Image 1 (P(no) 0.8 < 0.85, P(yes) 0.2 < 0.6) is confidently neither; image 4, labelled corrosion,
    # is confidently no corrosion (0.9 >= 0.85): one of three corrosion labels is wrong.
    assert issues.confident_joint.tolist() == [[1, 0], [1, 2]]
    assert issues.noise_matrix[1] == pytest.approx([1 / 3, 2 / 3])
    assert issues.indices.tolist() == [4]


def test_it_ranks_the_least_self_confident_first_and_scores_every_image():
    labels = np.array([1] * 8 + [0] * 8)
    probability = np.array([0.9] * 5 + [0.08, 0.05, 0.1] + [0.1] * 8)
    issues = find_label_issues(labels, probability, method="confident_joint")
    assert issues.indices.tolist() == [6, 5, 7]
    assert issues.suspect_score()[6] == pytest.approx(0.95)
    assert issues.suspect_score()[0] == pytest.approx(0.1)


def test_it_flags_nothing_when_the_model_agrees_with_every_label():
    labels = np.array([0, 1] * 50)
    probability = np.where(labels == 1, 0.8, 0.2) + np.linspace(-0.1, 0.1, 100)
    assert find_label_issues(labels, probability).indices.tolist() == []


def test_it_takes_two_column_probabilities_as_well():
    true, given, probability = noisy_set(n=500)
    one = find_label_issues(given, probability).indices
    two = find_label_issues(given, np.stack([1 - probability, probability], axis=1)).indices
    assert one.tolist() == two.tolist()
    assert as_two_columns([0.25]).tolist() == [[0.75, 0.25]]


def test_it_refuses_mismatched_or_out_of_range_input():
    with pytest.raises(ValueError, match="labels but"):
        find_label_issues([0, 1], [0.5])
    with pytest.raises(ValueError, match="labels must lie"):
        find_label_issues([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="method"):
        find_label_issues([0, 1], [0.5, 0.5], method="nope")
    assert find_label_issues([], np.zeros(0)).indices.tolist() == []


def test_its_folds_cover_every_image_once_and_keep_the_class_balance():
    labels = np.array([1] * 37 + [0] * 63)
    folds = stratified_folds(labels, 3, seed=4)
    together = np.concatenate(folds)
    assert sorted(together.tolist()) == list(range(100))
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 1
    for fold in folds:
        assert abs(labels[fold].sum() - 37 / 3) <= 1  # each fold's corrosion share is the set's


def test_its_folds_are_seeded():
    labels = np.array([0, 1] * 20)
    assert [f.tolist() for f in stratified_folds(labels, 4, seed=1)] == [
        f.tolist() for f in stratified_folds(labels, 4, seed=1)
    ]
    assert [f.tolist() for f in stratified_folds(labels, 4, seed=1)] != [
        f.tolist() for f in stratified_folds(labels, 4, seed=2)
    ]


def test_its_folds_need_two_folds_and_enough_images():
    with pytest.raises(ValueError, match="at least 2 folds"):
        stratified_folds([0, 1, 0], 1)
    with pytest.raises(ValueError, match="need at least"):
        stratified_folds([0, 1], 3)
