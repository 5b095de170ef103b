"""The project app: it owns the outbox table's migrations and the seed_demo command."""

from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage import redaction
        from brokerage.api import authentication  # noqa: F401 (connects token revocation)

        redaction.install()  # every Django process: web, workers, bridge, commands
