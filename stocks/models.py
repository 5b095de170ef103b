"""Stock: a listed symbol, its last price and the house's inventory."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from brokerage.shared.fields import price_column, quantity_column

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.]{0,9}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


class Stock(models.Model):
    """A listed stock: its last price and the shares the house can still sell."""

    symbol = models.CharField(
        max_length=10, unique=True, validators=[RegexValidator(SYMBOL_PATTERN)]
    )
    name = models.CharField(max_length=200)
    currency = models.CharField(
        max_length=3, default="USD", validators=[RegexValidator(CURRENCY_PATTERN)]
    )
    first_price = price_column()
    price = price_column()
    amount = quantity_column(default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("symbol",)
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="stock_price_gt_0"),
            models.CheckConstraint(condition=Q(first_price__gt=0), name="stock_first_price_gt_0"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="stock_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(symbol__regex=SYMBOL_PATTERN), name="stock_symbol_format"
            ),
        ]

    def __str__(self) -> str:
        return self.symbol
