"""The order list's query filters, parsed by hand: a FilterSet builds and deep-copies a
form per request, which cost more than the query it filters."""

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter

from brokerage.api.errors import InvalidInput
from brokerage.api.request import parse_uuid
from orders.models import OrderSide, OrderStatus

ORDER_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=OrderStatus.values, description="Only this status."),
    OpenApiParameter("side", str, enum=OrderSide.values, description="Only this side."),
    OpenApiParameter("symbol", str, description="Only this stock (any case)."),
    OpenApiParameter("user_id", str, description="Only this customer's orders (staff: anyone's)."),
]


def order_filters(params: QueryDict) -> dict[str, Any]:
    """The filters given in `params`, checked; a bad value is 400 (1000)."""
    filters: dict[str, Any] = {}
    for name, choices in (("status", OrderStatus.values), ("side", OrderSide.values)):
        if value := params.get(name):
            if value not in choices:
                raise InvalidInput(
                    f"'{value}' is not a valid {name}; one of {', '.join(choices)}.", field=name
                )
            filters[name] = value
    if symbol := params.get("symbol"):
        filters["symbol"] = symbol.upper()
    if user_id := params.get("user_id"):
        filters["user_id"] = parse_uuid(user_id, "user_id")
    return filters
