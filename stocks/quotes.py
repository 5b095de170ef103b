"""Quotes on the request path: each process keeps the stocks it has read.

A kept quote lives at most QUOTE_CACHE_SECONDS, and a price change drops it in every
process at once (`brokerage.shared.memo`). A quote sizes a market buy's reservation and
answers GET /stocks; fills always read the locked row, so a stale quote never changes
what a customer pays.
"""

from django.conf import settings

from brokerage.shared.memo import BroadcastMemo
from stocks.models import Stock
from stocks.selectors import get_stock

_quotes: BroadcastMemo[Stock] = BroadcastMemo("quotes", ttl=lambda: settings.QUOTE_CACHE_SECONDS)


def channel() -> str:
    return _quotes.channel()


def get_stock_quote(*, symbol: str) -> Stock:
    """The stock as this process last read it (see the module docstring). Raises
    StockNotFound (2005). Not for locking or filling."""
    stock = _quotes.get(symbol)
    if stock is None:
        stock = get_stock(symbol=symbol)
        _quotes.put(symbol, stock, tag=symbol)
    return stock


def forget_quote(symbol: str) -> None:
    """Drop `symbol`'s quote in this process and, through Redis, in every other."""
    _quotes.forget(symbol)


def forget_all() -> None:
    _quotes.clear()
