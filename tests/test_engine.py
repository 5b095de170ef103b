"""Unit tests of the dealer-market rules (orders.engine): no database.

The table below is written out by hand from DESIGN.md's "Execution model", not derived
from the engine, so a changed rule fails here.
"""

from decimal import Decimal

import pytest

from brokerage.api.errors import ErrorCode
from orders.engine import Decision, decide, is_marketable

PRICE = Decimal("100.0000")
REMAINING = Decimal("10")
ENOUGH = Decimal("1000")  # house inventory that covers the order
SHORT = Decimal("4")  # house inventory that covers part of it
# A limit that is marketable / not marketable at PRICE, per side.
LIMIT = {
    ("buy", True): Decimal("101.0000"),
    ("buy", False): Decimal("99.0000"),
    ("sell", True): Decimal("99.0000"),
    ("sell", False): Decimal("101.0000"),
}

FULL = Decision(REMAINING, rests=False)
REST = Decision(Decimal("0"), rests=True)
NOT_MARKETABLE = Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.ORDER_NOT_MARKETABLE)
KILLED = Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY)
PART_REST = Decision(SHORT, rests=True)
PART_CANCEL = Decision(SHORT, rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY)

# (type, time_in_force, side, marketable, inventory) -> expected Decision
TABLE = [
    # market buys fill while inventory lasts; they never rest
    ("market", "gtc", "buy", True, ENOUGH, FULL),
    ("market", "day", "buy", True, ENOUGH, FULL),
    ("market", "ioc", "buy", True, ENOUGH, FULL),
    ("market", "fok", "buy", True, ENOUGH, FULL),
    ("market", "gtc", "buy", True, SHORT, PART_CANCEL),
    ("market", "day", "buy", True, SHORT, PART_CANCEL),
    ("market", "ioc", "buy", True, SHORT, PART_CANCEL),
    ("market", "fok", "buy", True, SHORT, KILLED),
    # the house buys without limit: inventory never limits a sell
    ("market", "gtc", "sell", True, ENOUGH, FULL),
    ("market", "day", "sell", True, ENOUGH, FULL),
    ("market", "ioc", "sell", True, ENOUGH, FULL),
    ("market", "fok", "sell", True, ENOUGH, FULL),
    ("market", "gtc", "sell", True, SHORT, FULL),
    ("market", "day", "sell", True, SHORT, FULL),
    ("market", "ioc", "sell", True, SHORT, FULL),
    ("market", "fok", "sell", True, SHORT, FULL),
    # marketable limit buys
    ("limit", "gtc", "buy", True, ENOUGH, FULL),
    ("limit", "day", "buy", True, ENOUGH, FULL),
    ("limit", "ioc", "buy", True, ENOUGH, FULL),
    ("limit", "fok", "buy", True, ENOUGH, FULL),
    ("limit", "gtc", "buy", True, SHORT, PART_REST),
    ("limit", "day", "buy", True, SHORT, PART_REST),
    ("limit", "ioc", "buy", True, SHORT, PART_CANCEL),
    ("limit", "fok", "buy", True, SHORT, KILLED),
    # limit buys above the price: gtc/day rest, ioc/fok are cancelled
    ("limit", "gtc", "buy", False, ENOUGH, REST),
    ("limit", "day", "buy", False, ENOUGH, REST),
    ("limit", "ioc", "buy", False, ENOUGH, NOT_MARKETABLE),
    ("limit", "fok", "buy", False, ENOUGH, NOT_MARKETABLE),
    ("limit", "gtc", "buy", False, SHORT, REST),
    ("limit", "day", "buy", False, SHORT, REST),
    ("limit", "ioc", "buy", False, SHORT, NOT_MARKETABLE),
    ("limit", "fok", "buy", False, SHORT, NOT_MARKETABLE),
    # marketable limit sells
    ("limit", "gtc", "sell", True, ENOUGH, FULL),
    ("limit", "day", "sell", True, ENOUGH, FULL),
    ("limit", "ioc", "sell", True, ENOUGH, FULL),
    ("limit", "fok", "sell", True, ENOUGH, FULL),
    ("limit", "gtc", "sell", True, SHORT, FULL),
    ("limit", "day", "sell", True, SHORT, FULL),
    ("limit", "ioc", "sell", True, SHORT, FULL),
    ("limit", "fok", "sell", True, SHORT, FULL),
    # limit sells below the price
    ("limit", "gtc", "sell", False, ENOUGH, REST),
    ("limit", "day", "sell", False, ENOUGH, REST),
    ("limit", "ioc", "sell", False, ENOUGH, NOT_MARKETABLE),
    ("limit", "fok", "sell", False, ENOUGH, NOT_MARKETABLE),
    ("limit", "gtc", "sell", False, SHORT, REST),
    ("limit", "day", "sell", False, SHORT, REST),
    ("limit", "ioc", "sell", False, SHORT, NOT_MARKETABLE),
    ("limit", "fok", "sell", False, SHORT, NOT_MARKETABLE),
]


def test_table_covers_every_combination():
    keys = {row[:5] for row in TABLE}
    assert len(keys) == len(TABLE) == 48
    for type_ in ("market", "limit"):
        for tif in ("gtc", "day", "ioc", "fok"):
            for side in ("buy", "sell"):
                for inventory in (ENOUGH, SHORT):
                    assert (type_, tif, side, True, inventory) in keys
                    if type_ == "limit":
                        assert (type_, tif, side, False, inventory) in keys


@pytest.mark.parametrize(
    ("type_", "tif", "side", "marketable", "inventory", "expected"),
    TABLE,
    ids=[
        f"{t}-{tif}-{side}-{'mkt' if m else 'away'}-{'enough' if inv == ENOUGH else 'short'}"
        for t, tif, side, m, inv, _ in TABLE
    ],
)
def test_decide(type_, tif, side, marketable, inventory, expected):
    limit_price = LIMIT[(side, marketable)] if type_ == "limit" else None
    decision = decide(
        side=side,
        type=type_,
        time_in_force=tif,
        remaining=REMAINING,
        limit_price=limit_price,
        price=PRICE,
        inventory=inventory,
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("side", "limit_price", "price", "expected"),
    [
        ("buy", Decimal("50.0000"), Decimal("50.0000"), True),  # at the limit
        ("sell", Decimal("50.0000"), Decimal("50.0000"), True),
        ("buy", Decimal("50.0000"), Decimal("50.0001"), False),  # one tick worse
        ("sell", Decimal("50.0000"), Decimal("49.9999"), False),
        ("buy", Decimal("50.0000"), Decimal("49.9999"), True),  # one tick better
        ("sell", Decimal("50.0000"), Decimal("50.0001"), True),
        ("buy", Decimal("50"), Decimal("50.000000"), True),  # scale does not matter
    ],
)
def test_is_marketable_limit(side, limit_price, price, expected):
    assert is_marketable(side=side, type="limit", limit_price=limit_price, price=price) is expected


@pytest.mark.parametrize("side", ["buy", "sell"])
@pytest.mark.parametrize("price", [Decimal("0.0001"), Decimal("100"), Decimal("999999.9999")])
def test_market_orders_are_always_marketable(side, price):
    assert is_marketable(side=side, type="market", limit_price=None, price=price) is True


@pytest.mark.parametrize("tif", ["gtc", "day"])
def test_limit_at_exact_price_fills_in_full(tif):
    for side in ("buy", "sell"):
        decision = decide(
            side=side,
            type="limit",
            time_in_force=tif,
            remaining=Decimal("3.5"),
            limit_price=PRICE,
            price=PRICE,
            inventory=ENOUGH,
        )
        assert decision == Decision(Decimal("3.5"), rests=False)


@pytest.mark.parametrize(
    ("tif", "expected"),
    [
        ("gtc", Decision(Decimal("0"), rests=True)),
        ("day", Decision(Decimal("0"), rests=True)),
        (
            "ioc",
            Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY),
        ),
        (
            "fok",
            Decision(Decimal("0"), rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY),
        ),
    ],
)
@pytest.mark.parametrize("inventory", [Decimal("0"), Decimal("-5")])
def test_marketable_limit_buy_with_no_inventory(tif, expected, inventory):
    # Negative inventory is treated as none: the house never sells short.
    decision = decide(
        side="buy",
        type="limit",
        time_in_force=tif,
        remaining=REMAINING,
        limit_price=LIMIT[("buy", True)],
        price=PRICE,
        inventory=inventory,
    )
    assert decision == expected


@pytest.mark.parametrize("tif", ["gtc", "day", "ioc", "fok"])
def test_market_buy_with_no_inventory_is_cancelled(tif):
    decision = decide(
        side="buy",
        type="market",
        time_in_force=tif,
        remaining=REMAINING,
        limit_price=None,
        price=PRICE,
        inventory=Decimal("0"),
    )
    assert decision == Decision(
        Decimal("0"), rests=False, cancel_reason=ErrorCode.INSUFFICIENT_LIQUIDITY
    )


@pytest.mark.parametrize("tif", ["gtc", "day", "ioc", "fok"])
@pytest.mark.parametrize("type_", ["market", "limit"])
def test_inventory_exactly_the_remainder_fills_in_full(tif, type_):
    remaining = Decimal("0.333333")
    decision = decide(
        side="buy",
        type=type_,
        time_in_force=tif,
        remaining=remaining,
        limit_price=PRICE if type_ == "limit" else None,
        price=PRICE,
        inventory=Decimal("0.333333"),
    )
    assert decision == Decision(remaining, rests=False)


def test_fractional_shortfall_fills_what_the_house_has():
    decision = decide(
        side="buy",
        type="limit",
        time_in_force="gtc",
        remaining=Decimal("1.000000"),
        limit_price=PRICE,
        price=PRICE,
        inventory=Decimal("0.999999"),
    )
    assert decision == Decision(Decimal("0.999999"), rests=True)
