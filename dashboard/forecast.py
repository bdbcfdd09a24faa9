"""The learning-curve forecast lives in modelzoo.forecast: the public model card shows it too, and nothing
may import the dashboard. Kept here so the dashboard's code reads as before."""

from modelzoo.forecast import MIN_POINTS, TARGETS, Forecast, fit_power_law, forecast, votes_for

__all__ = ["MIN_POINTS", "TARGETS", "Forecast", "fit_power_law", "forecast", "votes_for"]
