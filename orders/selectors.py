"""Reads of orders: lists as rows, one order with its fills, an account's latest."""

from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from brokerage.api.errors import OrderNotFound
from orders.models import Fill, Order
from users.models import User

LATEST_ORDERS = 10  # in an account's detail

# An order as a row: what `QuerySet.values(*ORDER_VALUES)` returns. Lists render rows,
# not model instances: building 50 instances was most of an order page's cost.
ORDER_VALUES = (
    "id",
    "client_order_id",
    "user_id",
    "stock__symbol",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "limit_price",
    "filled_quantity",
    "average_fill_price",
    "status",
    "error_code",
    "created_at",
    "accepted_at",
    "filled_at",
    "cancelled_at",
    "expired_at",
    "updated_at",
)


def list_orders(
    *,
    actor: User,
    status: str | None = None,
    side: str | None = None,
    symbol: str | None = None,
    user_id: UUID | None = None,
) -> QuerySet[Order]:
    """Newest first. Staff see every order; a customer's others' orders simply don't
    exist (404, or an empty list when filtered by another user_id)."""
    qs = Order.objects.select_related("stock").order_by("-created_at", "-id")
    if not actor.is_staff:
        qs = qs.filter(user=actor)
    if user_id:
        qs = qs.filter(user_id=user_id)
    if status:
        qs = qs.filter(status=status)
    if side:
        qs = qs.filter(side=side)
    return qs.filter(stock__symbol=symbol) if symbol else qs


def latest_orders(*, user_id: UUID, limit: int = LATEST_ORDERS) -> list[dict[str, Any]]:
    """An account's newest orders as rows (ORDER_VALUES): an index-ordered LIMIT
    (order_user_newest), where a prefetch of a slice would number every order of the
    account with a window function."""
    newest = Order.objects.filter(user_id=user_id).order_by("-created_at", "-id")
    return list(newest.values(*ORDER_VALUES)[:limit])


def get_order(*, actor: User, order_id: UUID) -> Order:
    fills = Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id"))
    try:
        return list_orders(actor=actor).prefetch_related(fills).get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound("Order not found.", order_id=str(order_id)) from exc
