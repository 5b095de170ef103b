"""The notifications app; registers for the order outcome events it follows."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage.events.routing import Topic, register
        from notifications import tasks
        from notifications.services import OUTCOME_FIELDS
        from orders.models import NOTIFY_STATUSES

        # Every order outcome a customer hears about: recorded and sent from its event.
        for outcome in sorted(NOTIFY_STATUSES):
            register(
                Topic.ORDERS,
                f"order.{outcome}",
                tasks.record_order_outcome,
                OUTCOME_FIELDS,
                batch=(tasks.record_order_outcomes, "outcomes"),
            )
