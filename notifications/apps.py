from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage.events.routing import Topic, register
        from notifications import tasks
        from orders.models import NOTIFY_STATUSES

        for outcome in sorted(NOTIFY_STATUSES):
            register(
                Topic.NOTIFICATIONS,
                f"order.{outcome}",
                tasks.send_notification,
                ("notification_id",),
                batch=(tasks.send_notifications, "notification_ids"),
            )
