"""Stocks in the admin, where staff list them and move prices."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from stocks.models import Stock
from stocks.services import create_stock, update_stock

EDITABLE = {"price", "name", "currency"}


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("symbol", "name", "currency", "price", "first_price", "amount", "updated_at")
    search_fields = ("symbol", "name")
    readonly_fields = ("first_price", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Stock | None = None) -> Any:
        # Inventory moves with every fill, so a value shown on a page is stale by the time
        # it is saved: set it with PATCH /api/v1/stocks/{symbol} instead.
        return (*self.readonly_fields, "symbol", "amount") if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Stock, form: Any, change: bool) -> None:
        # Through the services, so a price edit here matches resting orders like the API.
        if change:
            edited = {f: getattr(obj, f) for f in form.changed_data if f in EDITABLE}
            update_stock(symbol=obj.symbol, **edited)
        else:
            created = create_stock(
                symbol=obj.symbol,
                name=obj.name,
                price=obj.price,
                amount=obj.amount,
                currency=obj.currency,
            )
            obj.pk = created.pk
