from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ModelzooConfig(AppConfig):
    name = "modelzoo"
    verbose_name = "Model zoo"

    def ready(self) -> None:
        from modelzoo.setup import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self)
