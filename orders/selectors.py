from uuid import UUID

from django.db.models import Prefetch, QuerySet

from brokerage.errors import OrderNotFound
from orders.models import Fill, Order
from users.models import User


def list_orders(*, actor: User) -> QuerySet[Order]:
    """Staff see every order; a customer's others' orders simply don't exist (404)."""
    qs = Order.objects.select_related("stock").order_by("-created_at", "-id")
    return qs if actor.is_staff else qs.filter(user=actor)


def get_order(*, actor: User, order_id: UUID) -> Order:
    fills = Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id"))
    try:
        return list_orders(actor=actor).prefetch_related(fills).get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound("Order not found.", order_id=str(order_id)) from exc
