import numpy as np
import pytest

from modelzoo.forecast import forecast, votes_for


def history_from(a: float, b: float, votes: list[int], noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(v, 1 - a * v ** (-b) * float(np.exp(rng.normal(0, noise)))) for v in votes]


def test_it_recovers_a_known_power_law():
    result = forecast(history_from(3.0, 0.5, [100, 300, 1000, 2500, 6000]))
    assert result.ok
    assert result.a == pytest.approx(3.0, rel=1e-6) and result.b == pytest.approx(0.5, rel=1e-6)
    low, mid, high = result.votes_needed[0.99]
    assert mid == pytest.approx((3.0 / 0.01) ** 2, rel=1e-6)  # 90,000 votes
    assert low == pytest.approx(mid, rel=1e-3) and high == pytest.approx(mid, rel=1e-3)  # no noise, no band


def test_it_widens_the_band_with_noisy_versions():
    result = forecast(history_from(3.0, 0.5, [100, 200, 400, 800, 1600, 3200], noise=0.2, seed=4))
    low, mid, high = result.votes_needed[0.999]
    assert low < mid < high
    assert result.b == pytest.approx(0.5, abs=0.2)


def test_it_says_when_there_are_too_few_versions():
    result = forecast([(100, 0.7), (100, 0.72), (0, 0.66)])
    assert not result.ok and "Too few model versions" in result.reason


def test_it_refuses_a_curve_that_does_not_fall():
    result = forecast([(100, 0.9), (200, 0.85), (400, 0.8)])
    assert not result.ok and "not falling" in result.reason


def test_it_inverts_the_curve():
    assert votes_for(0.95, 1.0, 1.0) == pytest.approx(20.0)
