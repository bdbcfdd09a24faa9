"""Turning crowd votes into labels: majority voting and Dawid–Skene EM. Pure numpy, no Django.

Votes come as three parallel arrays: the image index, the voter index and the vote (1 = corrosion).
The task is binary, so each voter's confusion matrix is two numbers:

    sensitivity = P(votes corrosion | the image shows corrosion)
    specificity = P(votes no corrosion | it does not)

Dawid–Skene (1979) estimates both per voter, the class prior and every image's posterior
P(corrosion) by EM. Two additions over the textbook version:

- A Beta prior on each voter's sensitivity and specificity, centred on the pooled ("typical") voter:
  someone with three votes is trusted about as much as everyone else, not judged on three answers.
- Gold: images whose true label is known (expert-labelled validation images served as gold questions)
  are clamped to it. Their votes then anchor each voter's reliability, so a voter who always answers
  the opposite is recognised as such even where such voters outnumber the honest ones on an image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A typical volunteer before any evidence: right four times in five, either way.
DEFAULT_SENSITIVITY = 0.8
DEFAULT_SPECIFICITY = 0.8
# Pseudo-votes of the prior per confusion entry: how many real answers it takes to move a voter's
# estimate halfway from the typical voter to their own record.
PRIOR_STRENGTH = 4.0
# Keeps logs finite and stops a voter with a perfect record from outvoting everyone forever.
_EPS = 1e-3
_TIE = 1e-9


@dataclass(frozen=True)
class Aggregation:
    posterior: np.ndarray  # P(corrosion) per image; gold clamped; NaN for an image without votes or gold
    sensitivity: np.ndarray  # per voter
    specificity: np.ndarray  # per voter
    class_prior: float  # P(corrosion) over the images
    iterations: int


def _as_arrays(image_idx, voter_idx, votes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image_idx = np.asarray(image_idx, dtype=np.int64)
    voter_idx = np.asarray(voter_idx, dtype=np.int64)
    votes = np.asarray(votes, dtype=np.float64)
    if not (image_idx.shape == voter_idx.shape == votes.shape) or image_idx.ndim != 1:
        raise ValueError("image_idx, voter_idx and votes must be 1-d arrays of the same length")
    if votes.size and not np.isin(votes, (0.0, 1.0)).all():
        raise ValueError("votes must be 0 (no corrosion) or 1 (corrosion)")
    return image_idx, voter_idx, votes


def majority_vote(image_idx, votes, n_images: int) -> np.ndarray:
    """Majority per image: 1.0 corrosion, 0.0 not, 0.5 tie, NaN without votes."""
    image_idx, _, votes = _as_arrays(image_idx, np.zeros(len(image_idx), dtype=np.int64), votes)
    yes = np.bincount(image_idx, weights=votes, minlength=n_images)
    total = np.bincount(image_idx, minlength=n_images).astype(np.float64)
    result = np.full(n_images, np.nan)
    result[total > 0] = 0.5
    result[yes > total - yes] = 1.0
    result[(yes < total - yes) & (total > 0)] = 0.0
    return result


def posteriors(image_idx, voter_idx, votes, n_images: int, sensitivity, specificity, class_prior: float) -> np.ndarray:
    """P(corrosion) of each image from its votes and fixed voter confusions (the E-step, unclamped).

    An image without votes gets the class prior.
    """
    image_idx, voter_idx, votes = _as_arrays(image_idx, voter_idx, votes)
    sens = np.clip(np.asarray(sensitivity, dtype=np.float64), _EPS, 1 - _EPS)[voter_idx]
    spec = np.clip(np.asarray(specificity, dtype=np.float64), _EPS, 1 - _EPS)[voter_idx]
    prior = float(np.clip(class_prior, _EPS, 1 - _EPS))
    # Log-likelihood ratio of "corrosion" over "no corrosion" contributed by each vote.
    llr = np.where(votes == 1, np.log(sens) - np.log(1 - spec), np.log(1 - sens) - np.log(spec))
    log_odds = np.log(prior) - np.log(1 - prior) + np.bincount(image_idx, weights=llr, minlength=n_images)
    return _sigmoid(log_odds)


def image_posterior(votes, sensitivity, specificity, class_prior: float = 0.5) -> float:
    """P(corrosion) of one image given its votes and the voters' confusions (same order).

    Plain Python, not numpy: the vote path calls it on a handful of votes per image, where array
    set-up would cost more than the arithmetic. Same formula as `posteriors`.
    """
    prior = min(max(float(class_prior), _EPS), 1 - _EPS)
    log_odds = math.log(prior) - math.log(1 - prior)
    for vote, sens, spec in zip(votes, sensitivity, specificity, strict=True):
        sens, spec = min(max(sens, _EPS), 1 - _EPS), min(max(spec, _EPS), 1 - _EPS)
        log_odds += math.log(sens) - math.log(1 - spec) if vote else math.log(1 - sens) - math.log(spec)
    return 0.5 * (1.0 + math.tanh(0.5 * log_odds))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def dawid_skene(
    image_idx,
    voter_idx,
    votes,
    *,
    n_images: int,
    n_voters: int,
    gold: np.ndarray | None = None,
    prior_strength: float = PRIOR_STRENGTH,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> Aggregation:
    """Dawid–Skene EM for binary labels, semi-supervised with gold, Beta-shrunk voter confusions.

    `gold` has one entry per image: 1 or 0 for a known label, NaN (or negative) otherwise.
    Deterministic: it starts from the majority vote (with gold clamped), never from random numbers.
    """
    image_idx, voter_idx, votes = _as_arrays(image_idx, voter_idx, votes)
    if votes.size and (image_idx.min() < 0 or image_idx.max() >= n_images):
        raise ValueError("image index out of range")
    if votes.size and (voter_idx.min() < 0 or voter_idx.max() >= n_voters):
        raise ValueError("voter index out of range")
    known = np.zeros(n_images, dtype=bool)
    known_value = np.zeros(n_images)
    if gold is not None:
        gold = np.asarray(gold, dtype=np.float64)
        if gold.shape != (n_images,):
            raise ValueError("gold needs one entry per image")
        known = np.isin(gold, (0.0, 1.0))
        known_value = np.where(known, gold, 0.0)

    majority = majority_vote(image_idx, votes, n_images)
    truth = np.where(np.isnan(majority), 0.5, majority)
    truth = np.where(known, known_value, truth)
    has_votes = np.bincount(image_idx, minlength=n_images) > 0

    sensitivity = np.full(n_voters, DEFAULT_SENSITIVITY)
    specificity = np.full(n_voters, DEFAULT_SPECIFICITY)
    class_prior = 0.5
    iterations = 0
    # With gold, the first reliabilities come from gold answers alone: starting from the majority
    # instead would let a crowd of adversaries lock EM into their flipped labelling.
    weight = known[image_idx].astype(np.float64) if known[image_idx].any() else np.ones(votes.size)
    while iterations < max_iterations:
        iterations += 1
        sensitivity, specificity, class_prior = _m_step(
            image_idx, voter_idx, votes, truth, has_votes | known, n_voters, prior_strength, weight
        )
        weight = np.ones(votes.size)
        updated = posteriors(image_idx, voter_idx, votes, n_images, sensitivity, specificity, class_prior)
        updated = np.where(known, known_value, updated)
        change = float(np.max(np.abs(updated - truth))) if n_images else 0.0
        truth = updated
        if change < tolerance:
            break
    posterior = np.where(has_votes | known, truth, np.nan)
    return Aggregation(
        posterior=posterior,
        sensitivity=sensitivity,
        specificity=specificity,
        class_prior=class_prior,
        iterations=iterations,
    )


def _m_step(image_idx, voter_idx, votes, truth, counted, n_voters, prior_strength, weight):
    t = truth[image_idx]  # P(corrosion) of the image each vote is on
    # Expected counts per voter: corrosion images seen and called corrosion; clean ones seen and called clean.
    positives = np.bincount(voter_idx, weights=weight * t, minlength=n_voters)
    true_positives = np.bincount(voter_idx, weights=weight * t * votes, minlength=n_voters)
    negatives = np.bincount(voter_idx, weights=weight * (1 - t), minlength=n_voters)
    true_negatives = np.bincount(voter_idx, weights=weight * (1 - t) * (1 - votes), minlength=n_voters)

    # The typical voter, pooled over everyone; kept on the right side of chance, since a crowd
    # whose average member answers worse than a coin has no label to recover.
    typical_sens = _pooled(true_positives.sum(), positives.sum(), DEFAULT_SENSITIVITY)
    typical_spec = _pooled(true_negatives.sum(), negatives.sum(), DEFAULT_SPECIFICITY)
    sensitivity = (true_positives + prior_strength * typical_sens) / (positives + prior_strength)
    specificity = (true_negatives + prior_strength * typical_spec) / (negatives + prior_strength)

    n = float(counted.sum())
    # One pseudo-image each way keeps the prior off 0 and 1 on tiny crowds.
    class_prior = (float(truth[counted].sum()) + 1.0) / (n + 2.0)
    return sensitivity, specificity, class_prior


def _pooled(hits: float, seen: float, default: float) -> float:
    if seen <= 0:
        return default
    return float(np.clip(hits / seen, 0.55, 0.99))


def crowd_decision(
    posterior: float | None,
    n_votes: int,
    *,
    min_votes: int,
    min_votes_confident: int,
    confidence: float,
) -> tuple[bool | None, float | None]:
    """The labelling rule of weighted aggregation: (corrosion?, posterior of that label), or (None, None).

    Labelled as soon as `min_votes_confident` votes make one side at least `confidence` likely, or in
    any case once `min_votes` votes are in (then the likelier side; an exact tie stays undecided).
    """
    if posterior is None or math.isnan(posterior):
        return None, None
    corrosion = posterior > 0.5
    sure = max(posterior, 1.0 - posterior)
    if n_votes >= min_votes_confident and sure >= confidence:
        return corrosion, sure
    if n_votes >= min_votes and abs(posterior - 0.5) > _TIE:
        return corrosion, sure
    return None, None


def crowd_decisions(
    posterior: np.ndarray,
    n_votes: np.ndarray,
    *,
    min_votes: int,
    min_votes_confident: int,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """`crowd_decision` over arrays: labels (1 corrosion, 0 not, -1 undecided) and confidences (NaN if undecided)."""
    posterior = np.asarray(posterior, dtype=np.float64)
    n_votes = np.asarray(n_votes)
    sure = np.maximum(posterior, 1.0 - posterior)
    with np.errstate(invalid="ignore"):
        decided = ((n_votes >= min_votes_confident) & (sure >= confidence)) | (
            (n_votes >= min_votes) & (np.abs(posterior - 0.5) > _TIE)
        )
    decided &= ~np.isnan(posterior)
    labels = np.where(decided, (posterior > 0.5).astype(np.int8), np.int8(-1))
    return labels, np.where(decided, sure, np.nan)
