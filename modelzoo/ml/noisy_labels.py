"""Confident learning: find the training labels that are probably wrong (Northcutt, Jiang & Chuang, JAIR 2021).

Torch-free (numpy only): the service and its tests import it without loading torch. The probabilities must be
*out-of-fold* (``cross_validation.out_of_fold_probabilities``): a model that trained on an image has
memorised its label and would vouch for it.

The method, for K classes, labels ``s`` (N,) and predicted probabilities ``P`` (N, K):

1. Per-class thresholds ``t_j`` = mean of ``P[:, j]`` over the images *labelled* j (the model's average
   self-confidence in that class). Per-class, so a class the model is generally less sure of is not
   flagged wholesale.
2. The confident joint ``C[i, j]``: images labelled i whose ``P[:, j] >= t_j`` (the argmax among the
   classes passing their threshold when several do). Off-diagonal cells count confidently mislabelled images.
3. Calibrated to the label counts (each row rescaled to the number of images with that label) and
   normalised, it estimates the joint distribution of given and true labels; ``N * Q[i, j]`` (i != j) is
   the expected number of images labelled i that are really j.
4. Prune by noise rate: in each off-diagonal cell, flag that many images labelled i, those with the
   largest margin ``P[:, j] - P[:, i]``.

The flagged images are ranked by self-confidence ``P[x, s_x]`` (lowest first): for two classes the
normalised margin ranks identically. cleanlab implements the same; this is ~60 lines of numpy rather than a
new dependency (with its own pandas/scikit-learn requirements) on the training side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("prune_by_noise_rate", "confident_joint", "both")


@dataclass(frozen=True)
class LabelIssues:
    indices: np.ndarray  # positions of the probably-wrong labels, least self-confident first
    self_confidence: np.ndarray  # (N,) P(given label) per image: low = suspect
    thresholds: np.ndarray  # (K,) per-class mean self-confidence
    confident_joint: np.ndarray  # (K, K) counts, rows given label, columns confident true label
    noise_matrix: np.ndarray  # (K, K) estimated P(true = j | given = i); off-diagonal = noise rates

    def suspect_score(self) -> np.ndarray:
        """(N,) 1 - self-confidence: how likely the model thinks each label is wrong."""
        return 1.0 - self.self_confidence


def as_two_columns(probabilities) -> np.ndarray:
    """(N, K) class probabilities; a 1-D input is P(class 1) of a binary problem."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        probabilities = np.stack([1.0 - probabilities, probabilities], axis=1)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (N,) or (N, K), got shape {probabilities.shape}")
    return probabilities


def find_label_issues(labels, probabilities, *, method: str = "prune_by_noise_rate") -> LabelIssues:
    """The likely-wrong labels among ``labels`` (N,) given out-of-fold ``probabilities`` ((N,) or (N, K)).

    ``method``: ``prune_by_noise_rate`` (the paper's recommended default), ``confident_joint`` (every
    off-diagonal member of the confident joint) or ``both`` (flagged by both: fewer, surer).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    probs = as_two_columns(probabilities)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} probability rows")
    n, k = probs.shape
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        zeros = np.zeros((k, k))
        return LabelIssues(empty, np.zeros(0), np.zeros(k), zeros, np.eye(k))
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}")
    rows = np.arange(n)
    self_confidence = probs[rows, labels]
    counts = np.bincount(labels, minlength=k)
    # A class nobody is labelled with gets an unreachable threshold: nothing is confidently of it.
    thresholds = np.array([probs[labels == j, j].mean() if counts[j] else np.inf for j in range(k)])

    passes = probs >= thresholds - 1e-12  # tolerance: an image exactly at the mean counts
    confident = np.where(passes, probs, -np.inf).argmax(axis=1)
    counted = passes.any(axis=1)
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (labels[counted], confident[counted]), 1)

    noise = _noise_matrix(joint, counts)
    off_diagonal = counted & (confident != labels)
    if method == "confident_joint":
        flagged = off_diagonal
    else:
        flagged = _prune_by_noise_rate(labels, probs, noise * counts[:, None])
        if method == "both":
            flagged &= off_diagonal
    indices = np.flatnonzero(flagged)
    indices = indices[np.argsort(self_confidence[indices], kind="stable")]
    return LabelIssues(indices, self_confidence, thresholds, joint, noise)


def _noise_matrix(joint: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """P(true j | given i): each row of the confident joint over its total; a row with none counted is clean."""
    k = len(counts)
    totals = joint.sum(axis=1, keepdims=True)
    return np.where(totals > 0, joint / np.maximum(totals, 1), np.eye(k))


def _prune_by_noise_rate(labels: np.ndarray, probs: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Flag round(expected[i, j]) images labelled i with the largest margin P[:, j] - P[:, i], for each i != j."""
    flagged = np.zeros(len(labels), dtype=bool)
    k = probs.shape[1]
    for given in range(k):
        members = np.flatnonzero(labels == given)
        for true in range(k):
            count = int(round(expected[given, true]))
            if true == given or count == 0:
                continue
            margin = probs[members, true] - probs[members, given]
            flagged[members[np.argsort(-margin, kind="stable")[:count]]] = True
    return flagged


def stratified_folds(labels, folds: int, seed: int = 0) -> list[np.ndarray]:
    """``folds`` disjoint index arrays covering every position once, each class spread evenly over them.

    Each class is shuffled (seeded) and dealt round-robin, starting where the previous class stopped so
    the fold sizes differ by at most one overall.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if folds < 2:
        raise ValueError("out-of-fold predictions need at least 2 folds")
    if folds > len(labels):
        raise ValueError(f"{folds} folds need at least {folds} images, got {len(labels)}")
    rng = np.random.default_rng(seed)
    assigned = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        assigned[members] = (np.arange(len(members)) + offset) % folds
        offset = (offset + len(members)) % folds
    return [np.flatnonzero(assigned == fold) for fold in range(folds)]
