"""The stock API's shapes and the symbol field."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from brokerage.shared.fields import price_input, quantity_input
from stocks.models import CURRENCY_PATTERN, SYMBOL_PATTERN, Stock


class SymbolField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(SYMBOL_PATTERN, max_length=10, **kwargs)

    def to_internal_value(self, data: object) -> str:
        return super().to_internal_value(str(data).strip().upper())


class StockOutputSerializer(serializers.ModelSerializer[Stock]):
    class Meta:
        model = Stock
        fields: tuple[str, ...] = (
            "symbol",
            "name",
            "currency",
            "price",
            "first_price",
            "amount",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class StockCreateInputSerializer(serializers.Serializer[None]):
    symbol = SymbolField()
    name = serializers.CharField(max_length=200)
    currency = serializers.RegexField(CURRENCY_PATTERN)
    price = price_input(required=False)
    first_price = price_input(required=False, help_text="The original API's name for the price.")
    amount = quantity_input(min_value=Decimal(0), help_text="Shares the house holds to sell.")

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        first_price = attrs.pop("first_price", None)
        attrs.setdefault("price", first_price)
        if attrs["price"] is None:
            raise serializers.ValidationError({"price": "This field is required."})
        return attrs


class StockUpdateInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200, required=False)
    price = price_input(required=False)
    amount = quantity_input(min_value=Decimal(0), required=False)
