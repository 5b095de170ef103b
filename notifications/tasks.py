"""Thin Celery tasks: record order outcomes, deliver notifications; any may run twice."""

import logging
from typing import Any
from uuid import UUID

from celery import Task, shared_task
from django.conf import settings

from brokerage.celery import TRANSIENT_RETRY, CeleryQueue, instrumented, queue_is_empty
from notifications import services

logger = logging.getLogger(__name__)

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
    try:
        services.deliver_notification(notification_id=UUID(notification_id))
    except services.DeliveryDeferred as exc:  # Telegram said when: then, not on backoff
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(
    name="notifications.record_order_outcomes", queue=CeleryQueue.NOTIFICATIONS, **TRANSIENT_RETRY
)
@instrumented
def record_order_outcomes(outcomes: list[dict[str, Any]]) -> None:
    """The bridge's batch of `order.<outcome>` events: record each one's notification
    (once per event) and deliver those pending; one that must wait continues as its own
    task. Run again after a crash, it delivers what the first run left pending."""
    ids = services.record_order_outcomes([services.OrderOutcome.from_event(o) for o in outcomes])
    for notification_id, countdown in services.deliver_notifications(notification_ids=ids).items():
        send_notification.apply_async((str(notification_id),), countdown=countdown)


@shared_task(
    name="notifications.record_order_outcome", queue=CeleryQueue.NOTIFICATIONS, **TRANSIENT_RETRY
)
@instrumented
def record_order_outcome(**outcome: Any) -> None:
    """One `order.<outcome>` event (the route's single form; the bridge batches)."""
    record_order_outcomes([outcome])


@shared_task(
    name="notifications.redeliver_stalled_notifications",
    queue=CeleryQueue.DEFAULT,
    **TRANSIENT_RETRY,
)
@instrumented
def redeliver_stalled_notifications() -> int:
    if not queue_is_empty(CeleryQueue.NOTIFICATIONS):
        return 0  # a backlog: its deliveries are slow, not lost
    return services.redeliver_stalled_notifications()


@shared_task(
    name="notifications.record_missed_outcomes", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY
)
@instrumented
def record_missed_outcomes() -> int:
    """Beat's sweep: outcome events that never reached the notifier go to it again
    (once it has no backlog, which would hold them, slow but not lost)."""
    if not queue_is_empty(CeleryQueue.NOTIFICATIONS):
        return 0
    outcomes = services.missed_outcomes()
    size = settings.KAFKA_BRIDGE_TASK_BATCH_SIZE
    for start in range(0, len(outcomes), size):  # batches, as the bridge would send them
        record_order_outcomes.delay(outcomes[start : start + size])
    if outcomes:
        logger.warning("re-sent %d outcome events no notification recorded", len(outcomes))
    return len(outcomes)
