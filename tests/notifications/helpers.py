"""Plain helpers of the notification tests."""

from celery.exceptions import Retry
from prometheus_client import REGISTRY

from notifications.models import Notification
from notifications.tasks import send_notification


def make_notification(user, text: str = "<b>Order filled</b>") -> Notification:  # type: ignore[no-untyped-def]
    return Notification.objects.create(user=user, event_type="order.filled", text=text)


def run_like_a_worker(notification: Notification) -> list[float]:
    """Run send_notification until it stops asking for a retry, as a worker would.

    Eager Celery propagates a task's Retry to the caller instead of scheduling it, so
    each Retry is re-run here by hand; returns the countdowns a worker would have waited.
    """
    countdowns: list[float] = []
    signature = send_notification.s(str(notification.pk))
    while True:
        try:
            signature.apply()
        except Retry as retry:
            countdowns.append(float(retry.when))  # type: ignore[arg-type]
            signature = retry.sig
        else:
            return countdowns


def counted(status: str) -> float:
    return REGISTRY.get_sample_value("brokerage_notifications_total", {"status": status}) or 0.0
