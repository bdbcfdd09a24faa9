"""Learning-curve forecast: how many votes for a target accuracy. numpy, and Django only to say why there is
no forecast in the reader's language (the dashboard and the public model card both show it).

The model history is fitted with a power law of the error against cumulative votes,
err(v) = a * v^(-b), by least squares in log space; the uncertainty band comes from
refitting on bootstrap resamples of the versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _

TARGETS = (0.95, 0.99, 0.999)
MIN_POINTS = 3


@dataclass(frozen=True)
class Forecast:
    ok: bool
    reason: str = ""
    a: float = 0.0
    b: float = 0.0
    votes_needed: dict[float, tuple[float, float, float]] = field(default_factory=dict)  # target -> (low, mid, high)


def fit_power_law(votes: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.log(votes), np.log(errors), 1)
    return float(np.exp(intercept)), float(-slope)


def votes_for(accuracy: float, a: float, b: float) -> float:
    return float((a / (1.0 - accuracy)) ** (1.0 / b))


def forecast(history: list[tuple[float, float]], *, resamples: int = 300, seed: int = 0) -> Forecast:
    """history: (cumulative votes at training time, validation accuracy) per model version."""
    points = [(v, acc) for v, acc in history if v > 0 and 0 < acc < 1]
    if len({v for v, _acc in points}) < MIN_POINTS:
        return Forecast(
            ok=False,
            reason=_("Too few model versions to fit a curve (need %(need)d with different vote counts, have %(have)d).")
            % {"need": MIN_POINTS, "have": len({v for v, _acc in points})},
        )
    votes = np.array([v for v, _acc in points], dtype=float)
    errors = 1.0 - np.array([acc for _v, acc in points], dtype=float)
    a, b = fit_power_law(votes, errors)
    if b <= 0:
        return Forecast(
            ok=False, reason=_("The error is not falling as votes grow, so there is no curve to extrapolate.")
        )
    rng = np.random.default_rng(seed)
    fits = []
    for _resample in range(resamples):
        pick = rng.integers(0, len(votes), len(votes))
        if len(set(votes[pick])) < 2:
            continue
        ra, rb = fit_power_law(votes[pick], errors[pick])
        if rb > 0:
            fits.append((ra, rb))
    needed = {}
    for target in TARGETS:
        mid = votes_for(target, a, b)
        samples = np.array([votes_for(target, ra, rb) for ra, rb in fits]) if fits else np.array([mid])
        low, high = np.percentile(samples, [10, 90])
        needed[target] = (float(low), mid, float(high))
    return Forecast(ok=True, a=a, b=b, votes_needed=needed)
