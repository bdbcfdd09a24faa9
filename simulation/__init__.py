"""The crowd simulation: simulated volunteers take the quiz of a live site, which retrains as labels come in.

Outside the product: it drives a site through `manage.py` and gunicorn subprocesses and reads their
SQLite tables, and it plots with matplotlib, which only requirements-simulation.txt installs. See
``simulate_crowd`` (the management command) and docs/simulation.md.
"""
