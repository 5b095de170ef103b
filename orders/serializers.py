"""The order API's shapes: hand-rendered output, the inputs, the account detail."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from brokerage.shared.fields import (
    datetime_text,
    decimal_text,
    price_input,
    quantity_input,
)
from brokerage.shared.money import PRICE_STEP, QUANTITY_STEP
from orders.models import Fill, Order, OrderSide, OrderType, TimeInForce
from orders.selectors import ORDER_VALUES
from stocks.serializers import SymbolField
from users.models import User
from users.serializers import UserDetailSerializer

CLIENT_ORDER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


class FillOutputSerializer(serializers.ModelSerializer[Fill]):
    class Meta:
        model = Fill
        fields = ("quantity", "price", "amount", "executed_at")
        read_only_fields = fields


def order_row(order: Order) -> dict[str, Any]:
    """An Order instance as the row `values(*ORDER_VALUES)` would give."""
    row = {name: getattr(order, name) for name in ORDER_VALUES if name != "stock__symbol"}
    row["stock__symbol"] = order.stock.symbol
    return row


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    """An order, from an Order or its row. Declared as a ModelSerializer for the schema;
    rendered by hand, because DRF deep-copies and binds every field for every order it
    renders and an order page is the hottest read. A test pins both to the same output."""

    symbol = serializers.CharField(source="stock.symbol")
    user_id = serializers.UUIDField()

    class Meta:
        model = Order
        fields: tuple[str, ...] = tuple(
            "symbol" if name == "stock__symbol" else name for name in ORDER_VALUES
        )
        read_only_fields = fields

    def to_representation(self, order: Order | dict[str, Any]) -> dict[str, Any]:
        row = order if isinstance(order, dict) else order_row(order)
        zone = timezone.get_current_timezone()
        return {
            "id": str(row["id"]),
            "client_order_id": row["client_order_id"],
            "user_id": str(row["user_id"]),
            "symbol": row["stock__symbol"],
            "side": row["side"],
            "type": row["type"],
            "time_in_force": row["time_in_force"],
            "quantity": decimal_text(row["quantity"], QUANTITY_STEP),
            "limit_price": decimal_text(row["limit_price"], PRICE_STEP),
            "filled_quantity": decimal_text(row["filled_quantity"], QUANTITY_STEP),
            "average_fill_price": decimal_text(row["average_fill_price"], PRICE_STEP),
            "status": row["status"],
            "error_code": row["error_code"],
            "created_at": datetime_text(row["created_at"], zone),
            "accepted_at": datetime_text(row["accepted_at"], zone),
            "filled_at": datetime_text(row["filled_at"], zone),
            "cancelled_at": datetime_text(row["cancelled_at"], zone),
            "expired_at": datetime_text(row["expired_at"], zone),
            "updated_at": datetime_text(row["updated_at"], zone),
        }


class OrderDetailSerializer(OrderOutputSerializer):
    fills = FillOutputSerializer(many=True)

    def to_representation(self, order: Order | dict[str, Any]) -> dict[str, Any]:
        assert isinstance(order, Order)  # a detail is rendered from the model, with fills
        fills = FillOutputSerializer(order.fills.all(), many=True).data
        return {**super().to_representation(order), "fills": fills}

    class Meta(OrderOutputSerializer.Meta):
        fields = (*OrderOutputSerializer.Meta.fields, "fills")
        read_only_fields = fields


class AccountDetailSerializer(UserDetailSerializer):
    """The original's `GET /users/{id}`: the account, its positions and its latest orders
    (rows set as `latest_orders` by the view)."""

    orders = OrderOutputSerializer(many=True, source="latest_orders")

    def to_representation(self, user: User) -> dict[str, Any]:
        order = OrderOutputSerializer()
        rows = user.latest_orders  # type: ignore[attr-defined]
        return {
            **super().to_representation(user),
            "orders": [order.to_representation(row) for row in rows],
        }

    class Meta(UserDetailSerializer.Meta):
        fields = (*UserDetailSerializer.Meta.fields, "orders")
        read_only_fields = fields


class OrderInputSerializer(serializers.Serializer[None]):
    symbol = SymbolField()
    side = serializers.ChoiceField(choices=OrderSide.choices)
    type = serializers.ChoiceField(choices=OrderType.choices, default=OrderType.MARKET)
    quantity = quantity_input()
    limit_price = price_input(required=False, allow_null=True, default=None)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default=TimeInForce.GTC)
    client_order_id = serializers.RegexField(
        CLIENT_ORDER_ID_PATTERN,
        required=False,
        allow_null=True,
        default=None,
        help_text="Your id for the order; resubmitting it returns the first order.",
    )


class LegacyOrderInputSerializer(serializers.Serializer[None]):
    """The original API's `orders:buy` / `orders:sell` body: a limit order at `price`."""

    user_id = serializers.UUIDField()
    stock_symbol = SymbolField()
    price = price_input()
    amount = quantity_input()


class LegacyCancelInputSerializer(serializers.Serializer[None]):
    order_id = serializers.UUIDField()
