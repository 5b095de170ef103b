from decimal import Decimal
from random import Random

from django.conf import settings
from django.db import IntegrityError, transaction

from brokerage.api.errors import StockExists, StockNotFound
from brokerage.events.outbox import emit
from brokerage.ledger import journal
from brokerage.shared import money
from brokerage.shared.db import set_fields
from stocks.models import Stock
from stocks.quotes import forget_quote

MIN_TICK = money.PRICE_STEP


@transaction.atomic
def create_stock(
    *,
    symbol: str,
    name: str,
    price: Decimal,
    amount: Decimal = Decimal("0"),
    currency: str = "USD",
) -> Stock:
    """List a stock at `price` with `amount` shares of house inventory.

    Raises StockExists (2004) for a listed symbol.
    """
    if Stock.objects.filter(symbol=symbol).exists():
        raise StockExists(f"Stock {symbol} already exists.", symbol=symbol)
    stock = Stock(
        symbol=symbol, name=name, currency=currency, price=price, first_price=price, amount=amount
    )
    try:
        with transaction.atomic():
            stock.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent create won the race
        raise StockExists(f"Stock {symbol} already exists.", symbol=symbol) from exc
    if amount:
        journal.inventory(stock_id=stock.pk, amount=amount, balance_after=amount).save()
    # A quote cached for an earlier stock of this symbol (deleted in the admin) is stale.
    transaction.on_commit(lambda: forget_quote(symbol), robust=True)
    return stock


@transaction.atomic
def update_stock(
    *,
    symbol: str,
    price: Decimal | None = None,
    amount: Decimal | None = None,
    name: str | None = None,
    currency: str | None = None,
) -> Stock:
    """Change a stock's price, house inventory, name or currency.

    Locks the Stock. A changed price or more inventory can make resting orders
    marketable, so both emit `stock.price_changed` (the quote changed: price and
    inventory are in its payload), which triggers matching.
    """
    try:
        stock = Stock.objects.select_for_update(no_key=True).get(symbol=symbol)
    except Stock.DoesNotExist as exc:
        raise StockNotFound(f"Stock {symbol} not found.", symbol=symbol) from exc
    previous_price, previous_amount = stock.price, stock.amount
    rematch = (price is not None and price != stock.price) or (
        amount is not None and amount > stock.amount
    )
    changed = set_fields(stock, price=price, amount=amount, name=name, currency=currency)
    if changed:
        stock.save(update_fields=[*changed, "updated_at"])
        transaction.on_commit(lambda: forget_quote(symbol), robust=True)
    if "amount" in changed:
        journal.inventory(
            stock_id=stock.pk, amount=stock.amount - previous_amount, balance_after=stock.amount
        ).save()
    if rematch:
        emit(
            topic=settings.KAFKA_TOPIC_PRICES,
            event_type="stock.price_changed",
            key=symbol,
            payload={
                "symbol": symbol,
                "price": str(stock.price),
                "previous_price": str(previous_price),
                "amount": str(stock.amount),
            },
        )
    return stock


def update_stock_price(*, symbol: str, price: Decimal) -> Stock:
    """The price feed's entry point (staff edits, the simulator)."""
    return update_stock(symbol=symbol, price=price)


def simulate_market_step(*, volatility: Decimal | None = None, rng: Random | None = None) -> int:
    """Move every price one random-walk step, through update_stock_price like any feed.

    Each price changes by a uniform factor in [-volatility, +volatility], rounded to the
    tick and never below one tick (a change that rounds away moves nothing). Returns how
    many prices moved.
    """
    volatility = settings.MARKET_SIMULATOR_VOLATILITY if volatility is None else volatility
    rng = rng or Random()
    moved = 0
    for symbol, price in Stock.objects.values_list("symbol", "price"):
        change = Decimal(str(rng.uniform(-1, 1))) * volatility
        new_price = max(MIN_TICK, money.price(price * (1 + change)))
        if new_price != price:
            update_stock_price(symbol=symbol, price=new_price)
            moved += 1
    return moved
