from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from brokerage.errors import StockNotFound
from stocks.models import Stock


def list_stocks() -> QuerySet[Stock]:
    return Stock.objects.order_by("symbol")


def get_stock(*, symbol: str) -> Stock:
    try:
        return Stock.objects.get(symbol=symbol)
    except Stock.DoesNotExist as exc:
        raise StockNotFound(f"Stock {symbol} not found.", symbol=symbol) from exc


def quote_key(symbol: str) -> str:
    return f"quote:{symbol}"


def get_stock_quote(*, symbol: str) -> Stock:
    """The stock from the cache (Redis in production): a price change invalidates it,
    house inventory may lag by up to QUOTE_CACHE_SECONDS. Not for locking or filling."""
    stock = cache.get(quote_key(symbol))
    if stock is None:
        stock = get_stock(symbol=symbol)
        cache.set(quote_key(symbol), stock, timeout=settings.QUOTE_CACHE_SECONDS)
    return stock
