"""Aggregation methods on simulated crowds whose truth is known."""

import numpy as np
import pytest

from quiz.aggregation import crowd_decision, crowd_decisions, dawid_skene, image_posterior, majority_vote, posteriors


def simulate(
    *,
    n_images=1000,
    n_voters=50,
    votes_per_image=5,
    adversarial=0.0,
    random_voters=0.0,
    n_gold=0,
    seed=0,
):
    """A crowd: good voters right 85% of the time, adversaries always wrong, random voters a coin."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n_images) < 0.45).astype(float)
    kind = np.array(["good"] * n_voters, dtype=object)
    order = rng.permutation(n_voters)
    n_adv, n_rand = round(adversarial * n_voters), round(random_voters * n_voters)
    kind[order[:n_adv]] = "adversarial"
    kind[order[n_adv : n_adv + n_rand]] = "random"
    image_idx, voter_idx = [], []
    for image in range(n_images):
        voters = rng.choice(n_voters, size=votes_per_image, replace=False)
        image_idx += [image] * votes_per_image
        voter_idx += list(voters)
    image_idx, voter_idx = np.array(image_idx), np.array(voter_idx)
    t = truth[image_idx]
    honest = np.where(rng.random(t.size) < 0.85, t, 1 - t)
    coin = (rng.random(t.size) < 0.5).astype(float)
    votes = np.select([kind[voter_idx] == "adversarial", kind[voter_idx] == "random"], [1 - t, coin], honest)
    gold = np.full(n_images, np.nan)
    gold[:n_gold] = truth[:n_gold]  # the first images play the validation set
    return dict(image_idx=image_idx, voter_idx=voter_idx, votes=votes, truth=truth, gold=gold, kind=kind)


def accuracy(posterior, truth, where=None):
    where = np.ones(truth.size, dtype=bool) if where is None else where
    return float(np.mean((posterior[where] > 0.5) == (truth[where] == 1)))


def fit(crowd, *, with_gold=True):
    return dawid_skene(
        crowd["image_idx"],
        crowd["voter_idx"],
        crowd["votes"],
        n_images=crowd["truth"].size,
        n_voters=crowd["kind"].size,
        gold=crowd["gold"] if with_gold else None,
    )


def majority(crowd):
    return majority_vote(crowd["image_idx"], crowd["votes"], crowd["truth"].size)


@pytest.mark.parametrize(("kind", "margin"), [("adversarial", 0.2), ("random_voters", 0.03)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_beats_majority_when_30_percent_of_voters_are_bad(kind, margin, seed):
    crowd = simulate(**{kind: 0.3}, n_gold=100, seed=seed)
    test = np.arange(crowd["truth"].size) >= 100  # judged on non-gold images only
    weighted = accuracy(fit(crowd).posterior, crowd["truth"], test)
    plain = accuracy(majority(crowd), crowd["truth"], test)
    assert weighted >= plain + margin, (weighted, plain)
    assert weighted >= 0.9


def test_it_beats_majority_on_adversaries_even_without_gold():
    crowd = simulate(adversarial=0.3)
    assert (
        accuracy(fit(crowd, with_gold=False).posterior, crowd["truth"])
        >= accuracy(majority(crowd), crowd["truth"]) + 0.2
    )


def test_it_matches_majority_when_every_voter_is_good():
    crowd = simulate()
    weighted = accuracy(fit(crowd).posterior, crowd["truth"])
    plain = accuracy(majority(crowd), crowd["truth"])
    assert abs(weighted - plain) <= 0.02
    agreement = np.mean((fit(crowd).posterior > 0.5) == (majority(crowd) > 0.5))
    assert agreement >= 0.97


def test_it_learns_who_the_adversaries_are():
    crowd = simulate(adversarial=0.3, n_gold=100)
    result = fit(crowd)
    adversaries = crowd["kind"] == "adversarial"
    assert result.sensitivity[adversaries].max() < 0.3 and result.specificity[adversaries].max() < 0.3
    assert result.sensitivity[~adversaries].min() > 0.7 and result.specificity[~adversaries].min() > 0.7
    assert 0.35 < result.class_prior < 0.55


def test_gold_anchors_labels_where_adversaries_outvote_the_honest():
    crowd = simulate(adversarial=0.6, n_gold=200)
    test = np.arange(crowd["truth"].size) >= 200
    adversarial_votes = np.bincount(
        crowd["image_idx"], weights=(crowd["kind"][crowd["voter_idx"]] == "adversarial"), minlength=crowd["truth"].size
    )
    outvoted = test & (adversarial_votes > 2.5)
    assert outvoted.sum() > 100
    assert accuracy(majority(crowd), crowd["truth"], outvoted) < 0.2
    # Without gold the crowd is perfectly consistent with the flipped truth; gold tells which is which.
    assert accuracy(fit(crowd, with_gold=False).posterior, crowd["truth"], test) < 0.5
    assert accuracy(fit(crowd).posterior, crowd["truth"], outvoted) > 0.85
    assert accuracy(fit(crowd).posterior, crowd["truth"], test) > 0.85


def test_it_clamps_gold_images_to_their_known_label():
    crowd = simulate(adversarial=0.3, n_gold=100)
    posterior = fit(crowd).posterior
    assert np.array_equal(posterior[:100], crowd["truth"][:100])


def test_it_shrinks_voters_with_few_votes_towards_the_typical_voter():
    # Voter 0 answers once, wrongly; everyone else is reliable.
    crowd = simulate(n_images=300)
    voter_idx = np.append(crowd["voter_idx"], 50)
    image_idx = np.append(crowd["image_idx"], 0)
    votes = np.append(crowd["votes"], 1 - crowd["truth"][0])
    result = dawid_skene(image_idx, voter_idx, votes, n_images=300, n_voters=51)
    newcomer = min(result.sensitivity[50], result.specificity[50])
    assert 0.5 < newcomer < result.sensitivity[:50].mean()


def test_it_is_deterministic():
    crowd = simulate(adversarial=0.3, random_voters=0.1, n_gold=50)
    first, second = fit(crowd), fit(crowd)
    assert np.array_equal(first.posterior, second.posterior)
    assert np.array_equal(first.sensitivity, second.sensitivity)
    assert first.iterations == second.iterations


def test_it_converges_on_ten_thousand_votes():
    # How long this takes is measured by bench/aggregation_speed.py, not asserted on a shared CI machine.
    crowd = simulate(n_images=2000, n_voters=200, adversarial=0.3, n_gold=200)
    assert crowd["votes"].size == 10_000
    result = fit(crowd)
    test = np.arange(crowd["truth"].size) >= 200
    assert result.iterations < 100  # settled, not stopped by the cap
    assert accuracy(result.posterior, crowd["truth"], test) >= 0.95


def test_it_leaves_images_without_votes_undecided():
    result = dawid_skene([0, 0], [0, 1], [1, 1], n_images=3, n_voters=2)
    assert result.posterior[0] > 0.5
    assert np.isnan(result.posterior[1:]).all()
    assert np.isnan(majority_vote([0, 0], [1, 1], 3)[1:]).all()


def test_it_refuses_malformed_votes():
    with pytest.raises(ValueError):
        dawid_skene([0], [0], [2], n_images=1, n_voters=1)
    with pytest.raises(ValueError):
        dawid_skene([0, 1], [0], [1, 1], n_images=2, n_voters=1)
    with pytest.raises(ValueError):
        dawid_skene([5], [0], [1], n_images=2, n_voters=1)


def test_majority_calls_ties_undecided():
    assert list(majority_vote([0, 0, 1, 1, 1], [1, 0, 1, 1, 0], 2)) == [0.5, 1.0]


def test_one_images_posterior_weighs_each_voter_by_their_reliability():
    # Two reliable "no" votes outweigh three votes from voters who are barely better than a coin.
    p = image_posterior([1, 1, 1, 0, 0], [0.55] * 3 + [0.95] * 2, [0.55] * 3 + [0.95] * 2)
    assert p < 0.05
    # An adversary's "yes" is evidence for "no".
    assert image_posterior([1], [0.1], [0.1]) < 0.5
    assert image_posterior([], [], []) == pytest.approx(0.5)
    assert image_posterior([1, 1, 1], [0.8] * 3, [0.8] * 3) == pytest.approx(64 / 65)


def test_posteriors_use_the_class_prior():
    p = posteriors([], [], [], 2, [], [], 0.3)
    assert p == pytest.approx([0.3, 0.3])


@pytest.mark.parametrize(
    ("posterior", "n_votes", "expected"),
    [
        (0.99, 2, (None, None)),  # too few votes, however sure
        (0.99, 3, (True, 0.99)),  # confident at 3
        (0.02, 3, (False, 0.98)),
        (0.9, 3, (None, None)),  # not confident enough yet
        (0.9, 5, (True, 0.9)),  # at the threshold: the likelier side
        (0.5, 5, (None, None)),  # a tie stays undecided
        (float("nan"), 5, (None, None)),
        (None, 5, (None, None)),
    ],
)
def test_crowd_decision_follows_the_rule(posterior, n_votes, expected):
    label, sure = crowd_decision(posterior, n_votes, min_votes=5, min_votes_confident=3, confidence=0.95)
    assert label == expected[0]
    assert sure == (pytest.approx(expected[1]) if expected[1] is not None else None)


def test_the_array_rule_agrees_with_the_single_image_rule():
    rng = np.random.default_rng(3)
    posterior = np.concatenate([rng.random(500), [0.5, 0.95, 0.05, np.nan]])
    n_votes = rng.integers(0, 8, size=posterior.size)
    rule = dict(min_votes=5, min_votes_confident=3, confidence=0.95)
    labels, sure = crowd_decisions(posterior, n_votes, **rule)
    for p, n, label, s in zip(posterior, n_votes, labels, sure):
        expected_label, expected_sure = crowd_decision(p, int(n), **rule)
        assert label == (-1 if expected_label is None else int(expected_label))
        assert (np.isnan(s) and expected_sure is None) or s == pytest.approx(expected_sure)


def test_one_images_posterior_matches_the_array_version():
    crowd = simulate(n_images=50, adversarial=0.3)
    result = fit(crowd, with_gold=False)
    every = posteriors(
        crowd["image_idx"],
        crowd["voter_idx"],
        crowd["votes"],
        50,
        result.sensitivity,
        result.specificity,
        result.class_prior,
    )
    for image in range(50):
        mine = crowd["image_idx"] == image
        voters = crowd["voter_idx"][mine]
        one = image_posterior(
            crowd["votes"][mine], result.sensitivity[voters], result.specificity[voters], result.class_prior
        )
        assert one == pytest.approx(every[image], abs=1e-12)
