"""Column and API field shapes for money and quantities, defined once, and the text
forms hand-rendered output uses (exactly as DRF's fields would render them).

Cash has 4 places, prices 4, quantities 6 (fractional shares).
"""

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db import models
from rest_framework import serializers

MIN_PRICE = Decimal("0.0001")
MIN_QUANTITY = Decimal("0.000001")
MAX_QUANTITY = Decimal("1000000000")


def cash_column(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=20, decimal_places=4, **kwargs)


def price_column(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=18, decimal_places=4, **kwargs)


def quantity_column(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)


def cash_input(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, min_value=Decimal(0), **kwargs)


def price_input(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=4, min_value=MIN_PRICE, **kwargs)


def quantity_input(*, min_value: Decimal = MIN_QUANTITY, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=6, min_value=min_value, max_value=MAX_QUANTITY, **kwargs
    )


def cash_output(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, read_only=True, **kwargs)


def quantity_output(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True, **kwargs)


def money_output(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=24, decimal_places=4, read_only=True, **kwargs)


def decimal_text(value: Decimal | None, places: Decimal) -> str | None:
    """As DRF renders a DecimalField with these decimal places."""
    return None if value is None else str(value.quantize(places))


def datetime_text(value: datetime | None, zone: tzinfo) -> str | None:
    """As DRF renders a DateTimeField: ISO 8601 in `zone` (the current time zone, looked
    up once per rendered object by the caller), UTC as `Z`."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
