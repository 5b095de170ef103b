"""The project app: it owns the outbox table's migrations and the seed_demo command."""

from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage import logs

        # Every Django process (web, workers, bridge, commands): no secret in any record,
        # the request, user, order and trace on every one.
        logs.install()
