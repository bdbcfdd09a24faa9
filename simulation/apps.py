from django.apps import AppConfig


class SimulationConfig(AppConfig):
    # An app only so that `manage.py simulate_crowd` finds its command: no models, no URLs.
    name = "simulation"
    verbose_name = "Crowd simulation"
