"""Rounding rules, in one place: money is Decimal and is rounded once, where stored."""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

# The places of the columns (brokerage.shared.fields): cash 4, prices 4, quantities 6.
CASH_STEP = Decimal("0.0001")
PRICE_STEP = Decimal("0.0001")
QUANTITY_STEP = Decimal("0.000001")


def buy_cost(value: Decimal) -> Decimal:
    """What a buyer pays for a fill: rounded up, so no fill, however small, is free."""
    return value.quantize(CASH_STEP, rounding=ROUND_CEILING)


def sell_proceeds(value: Decimal) -> Decimal:
    """What a seller receives for a fill: rounded down, so rounding never pays out cash
    the shares were not worth."""
    return value.quantize(CASH_STEP, rounding=ROUND_FLOOR)


def cash_amount(value: Decimal) -> Decimal:
    """A cash figure that is shown or compared, not moved (market value, profit and
    loss): half-up to the cent's hundredth."""
    return value.quantize(CASH_STEP, rounding=ROUND_HALF_UP)


def cash_reservation(value: Decimal) -> Decimal:
    """What an order reserves: rounded up, so a reservation never falls short of its cost."""
    return value.quantize(CASH_STEP, rounding=ROUND_CEILING)


def price(value: Decimal) -> Decimal:
    """Averages (fill price, position cost): banker's rounding, no drift either way."""
    return value.quantize(PRICE_STEP, rounding=ROUND_HALF_EVEN)
