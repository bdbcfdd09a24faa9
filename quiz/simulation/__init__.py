"""The crowd simulation: simulated volunteers take the quiz of a live site, which retrains as labels come in.

See ``simulate_crowd`` (the management command) and docs/simulation.md.
"""
