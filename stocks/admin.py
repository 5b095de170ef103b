from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from stocks.models import Stock
from stocks.services import create_stock, update_stock


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("symbol", "name", "currency", "price", "first_price", "amount", "updated_at")
    search_fields = ("symbol", "name")
    readonly_fields = ("first_price", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Stock | None = None) -> Any:
        return (*self.readonly_fields, "symbol") if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Stock, form: Any, change: bool) -> None:
        # Through the services, so a price edit here matches resting orders like the API.
        if change:
            update_stock(symbol=obj.symbol, price=obj.price, amount=obj.amount, name=obj.name)
        else:
            created = create_stock(
                symbol=obj.symbol,
                name=obj.name,
                price=obj.price,
                amount=obj.amount,
                currency=obj.currency,
            )
            obj.pk = created.pk
