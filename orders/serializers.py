from rest_framework import serializers

from brokerage.fields import price_input, quantity_input
from orders.models import Fill, Order, OrderSide, OrderType, TimeInForce
from stocks.serializers import SymbolField


class FillOutputSerializer(serializers.ModelSerializer[Fill]):
    class Meta:
        model = Fill
        fields = ("quantity", "price", "amount", "executed_at")
        read_only_fields = fields


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
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


class OrderDetailSerializer(OrderOutputSerializer):
    fills = FillOutputSerializer(many=True)

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
