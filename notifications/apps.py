"""The notifications app; registers for the order outcome events it follows."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage.events.routing import Topic, register
        from notifications import tasks
        from notifications.services import OUTCOME_FIELDS
        from orders.models import OUTCOME_EVENT_TYPES

        # Every order outcome a customer hears about: recorded and sent from its event.
        for event_type in sorted(OUTCOME_EVENT_TYPES):
            register(
                Topic.ORDERS,
                event_type,
                tasks.record_order_outcome,
                OUTCOME_FIELDS,
                batch=(tasks.record_order_outcomes, "outcomes"),
            )
