from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from brokerage.fields import price_input, quantity_input
from orders.models import Fill, Order, OrderSide, OrderType, TimeInForce
from stocks.serializers import SymbolField


class FillOutputSerializer(serializers.ModelSerializer[Fill]):
    class Meta:
        model = Fill
        fields = ("quantity", "price", "amount", "executed_at")
        read_only_fields = fields


def _decimal_places(field: str) -> Decimal:
    return Decimal(1).scaleb(-Order._meta.get_field(field).decimal_places)  # type: ignore[union-attr]


_QUANTITY, _PRICE = _decimal_places("quantity"), _decimal_places("limit_price")


def _decimal(value: Decimal | None, step: Decimal) -> str | None:
    return None if value is None else str(value.quantize(step))


def _datetime(value: Any) -> str | None:
    """As DRF renders a DateTimeField: ISO 8601 in the current time zone, UTC as `Z`."""
    if value is None:
        return None
    text: str = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    """An order. Declared as a ModelSerializer for validation-free docs (the schema);
    rendered by hand, because DRF deep-copies and binds every field for every order it
    renders and an order page is the hottest read. A test pins both to the same output."""

    symbol = serializers.CharField(source="stock.symbol")
    user_id = serializers.UUIDField()

    class Meta:
        model = Order
        fields: tuple[str, ...] = (
            "id",
            "client_order_id",
            "user_id",
            "symbol",
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
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict[str, Any]:
        return {
            "id": str(order.pk),
            "client_order_id": order.client_order_id,
            "user_id": str(order.user_id),
            "symbol": order.stock.symbol,
            "side": order.side,
            "type": order.type,
            "time_in_force": order.time_in_force,
            "quantity": _decimal(order.quantity, _QUANTITY),
            "limit_price": _decimal(order.limit_price, _PRICE),
            "filled_quantity": _decimal(order.filled_quantity, _QUANTITY),
            "average_fill_price": _decimal(order.average_fill_price, _PRICE),
            "status": order.status,
            "error_code": order.error_code,
            "created_at": _datetime(order.created_at),
            "accepted_at": _datetime(order.accepted_at),
            "filled_at": _datetime(order.filled_at),
            "cancelled_at": _datetime(order.cancelled_at),
            "expired_at": _datetime(order.expired_at),
            "updated_at": _datetime(order.updated_at),
        }


class OrderDetailSerializer(OrderOutputSerializer):
    fills = FillOutputSerializer(many=True)

    def to_representation(self, order: Order) -> dict[str, Any]:
        fills = FillOutputSerializer(order.fills.all(), many=True).data
        return {**super().to_representation(order), "fills": fills}

    class Meta(OrderOutputSerializer.Meta):
        fields = (*OrderOutputSerializer.Meta.fields, "fills")
        read_only_fields = fields


class OrderInputSerializer(serializers.Serializer[None]):
    symbol = SymbolField()
    side = serializers.ChoiceField(choices=OrderSide.choices)
    type = serializers.ChoiceField(choices=OrderType.choices, default=OrderType.MARKET)
    quantity = quantity_input()
    limit_price = price_input(required=False, allow_null=True, default=None)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default=TimeInForce.GTC)
    client_order_id = serializers.RegexField(
        r"^[A-Za-z0-9._:-]{1,64}$",
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
