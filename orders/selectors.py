from uuid import UUID

from django.db.models import Prefetch, QuerySet

from brokerage.errors import OrderNotFound
from orders.models import Fill, Order
from users.models import User


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


def get_order(*, actor: User, order_id: UUID) -> Order:
    fills = Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id"))
    try:
        return list_orders(actor=actor).prefetch_related(fills).get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound("Order not found.", order_id=str(order_id)) from exc
