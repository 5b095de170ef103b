from uuid import UUID

from celery import shared_task

from brokerage.tasks import TRANSIENT_RETRY, CeleryQueue, instrumented


@shared_task(
    name="notifications.send_notification", queue=CeleryQueue.NOTIFICATIONS, **TRANSIENT_RETRY
)
@instrumented
def send_notification(notification_id: str) -> None:
    from notifications import services

    services.deliver_notification(notification_id=UUID(notification_id))
