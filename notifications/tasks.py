from uuid import UUID

from celery import Task, shared_task

from brokerage.celery import TRANSIENT_RETRY, CeleryQueue, instrumented

# The service bounds its own retries (TELEGRAM_MAX_ATTEMPTS requests, a claim's lease),
# so Celery must not give up first and strand a notification in `pending`.
DELIVERY_RETRY = {**TRANSIENT_RETRY, "max_retries": None}


@shared_task(
    bind=True,
    name="notifications.send_notification",
    queue=CeleryQueue.NOTIFICATIONS,
    **DELIVERY_RETRY,
)
@instrumented
def send_notification(self: Task, notification_id: str) -> None:
    from notifications import services  # tasks <-> services import cycle

    try:
        services.deliver_notification(notification_id=UUID(notification_id))
    except services.DeliveryDeferred as exc:  # Telegram said when: then, not on backoff
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(name="notifications.send_notifications", queue=CeleryQueue.NOTIFICATIONS)
@instrumented
def send_notifications(notification_ids: list[str]) -> None:
    """The bridge's batch: deliver each; one that must wait continues as its own task."""
    from notifications import services

    ids = [UUID(notification_id) for notification_id in notification_ids]
    for notification_id, countdown in services.deliver_notifications(notification_ids=ids).items():
        send_notification.apply_async((str(notification_id),), countdown=countdown)
