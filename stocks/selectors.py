"""Reads of stocks."""

from django.db.models import QuerySet

from brokerage.api.errors import StockNotFound
from stocks.models import Stock


def list_stocks() -> QuerySet[Stock]:
    return Stock.objects.order_by("symbol")


def get_stock(*, symbol: str) -> Stock:
    try:
        return Stock.objects.get(symbol=symbol)
    except Stock.DoesNotExist as exc:
        raise StockNotFound(f"Stock {symbol} not found.", symbol=symbol) from exc
