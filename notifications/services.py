"""Notification records: created with the order change they report, delivered by a task."""

import html
from decimal import Decimal
from uuid import UUID

from django.conf import settings

from brokerage.errors import ErrorCode
from brokerage.events import emit
from notifications.models import Notification
from orders.models import Order, OrderStatus

REASONS = {
    ErrorCode.INSUFFICIENT_CASH: "the price moved beyond the reserved cash",
    ErrorCode.INSUFFICIENT_LIQUIDITY: "not enough shares were available",
    ErrorCode.ORDER_NOT_MARKETABLE: "the limit price was not reachable at once",
}
HEADLINES = {
    OrderStatus.FILLED: "Order filled",
    OrderStatus.PARTIALLY_FILLED: "Order partially filled",
    OrderStatus.CANCELLED: "Order cancelled",
    OrderStatus.EXPIRED: "Order expired",
    OrderStatus.REJECTED: "Order rejected",
}


def _number(value: Decimal) -> str:
    """2.500000 -> 2.5; never scientific notation."""
    text = f"{value.normalize():f}"
    return text


def render_order_message(*, order: Order, symbol: str, currency: str) -> str:
    """The Telegram text (HTML parse mode) for an order's current status."""
    lines = [f"<b>{HEADLINES[OrderStatus(order.status)]}</b>"]
    what = f"{order.side.capitalize()} {_number(order.quantity)} {symbol}"
    if order.limit_price is not None:
        what += f" limit {_number(order.limit_price)} {currency}"
    else:
        what += " at market"
    lines.append(html.escape(what))
    if order.filled_quantity:
        average = _number(order.average_fill_price or Decimal(0))
        lines.append(
            f"Filled {_number(order.filled_quantity)} of {_number(order.quantity)}"
            f" at {average} {currency}"
        )
    if order.error_code:
        reason = REASONS.get(ErrorCode(order.error_code), ErrorCode(order.error_code).name)
        lines.append(html.escape(f"Reason: {reason} (code {order.error_code})"))
    lines.append(f"Status: {order.status}")
    lines.append(f"Order <code>{order.pk}</code>")
    return "\n".join(lines)


def record_order_outcome(*, order: Order, symbol: str, currency: str) -> Notification:
    """Record the notification owed for `order`'s new status and emit its event.

    Runs inside the caller's transaction, so the record exists iff the change does.
    """
    notification = Notification.objects.create(
        user_id=order.user_id,
        order=order,
        event_type=f"order.{order.status}",
        text=render_order_message(order=order, symbol=symbol, currency=currency),
    )
    emit(
        topic=settings.KAFKA_TOPIC_NOTIFICATIONS,
        event_type=notification.event_type,
        key=symbol,
        payload={
            "notification_id": str(notification.pk),
            "order_id": str(order.pk),
            "user_id": str(order.user_id),
            "status": order.status,
        },
    )
    return notification


def deliver_notification(*, notification_id: UUID) -> None:
    """Placeholder until Telegram delivery lands: the record stays pending."""
