"""The dealer-market rules, as a pure function: no database, easy to test exhaustively.

The house is the counterparty at the stock's last price. It sells while its inventory
lasts and buys without limit. A limit order is marketable when the price is at or
better than its limit; market orders always are. Only limit orders with `gtc` or
`day` rest; everything else fills what it can now and cancels the rest (`fok`: all
or nothing).
"""

from dataclasses import dataclass
from decimal import Decimal

from brokerage.api.errors import ErrorCode
from orders.models import OrderSide, OrderType, TimeInForce

RESTING_TIME_IN_FORCE = frozenset({TimeInForce.GTC, TimeInForce.DAY})


@dataclass(frozen=True)
class Decision:
    fill_quantity: Decimal
    rests: bool  # the unfilled remainder stays on the book
    cancel_reason: ErrorCode | None = None  # why the remainder was cancelled


def is_marketable(*, side: str, type: str, limit_price: Decimal | None, price: Decimal) -> bool:
    if type == OrderType.MARKET:
        return True
    assert limit_price is not None
    return price <= limit_price if side == OrderSide.BUY else price >= limit_price


def decide(
    *,
    side: str,
    type: str,
    time_in_force: str,
    remaining: Decimal,
    limit_price: Decimal | None,
    price: Decimal,
    inventory: Decimal,
) -> Decision:
    """What happens to `remaining` shares of an order at `price` now."""
    can_rest = type == OrderType.LIMIT and time_in_force in RESTING_TIME_IN_FORCE
    if not is_marketable(side=side, type=type, limit_price=limit_price, price=price):
        if can_rest:
            return Decision(Decimal("0"), rests=True)
        return Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.ORDER_NOT_MARKETABLE)
    fillable = remaining if side == OrderSide.SELL else min(remaining, max(inventory, Decimal(0)))
    if time_in_force == TimeInForce.FOK and fillable < remaining:
        return Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY)
    if fillable == remaining or can_rest:
        return Decision(fillable, rests=fillable < remaining)
    return Decision(fillable, rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY)
