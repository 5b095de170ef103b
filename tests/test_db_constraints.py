"""The CHECK constraints: an impossible row fails in the database, whoever writes it.

Each case builds valid rows through the services, then breaks one rule with a raw
UPDATE (as a bug, a data migration or a hand edit in psql would) and expects the named
constraint to stop it; the edge that is still valid must pass.
"""

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from orders.models import TERMINAL_STATUSES, Fill, Order, OrderStatus
from orders.services import submit_order
from stocks.models import Stock
from tests.factories import PositionFactory
from users.models import User

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def rows(user: User, acme: Stock, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """One account's book, executed as in production: acme trades at 50."""
    position = PositionFactory(user=user, stock=acme, quantity=D("10"))

    def submit(**kwargs: Any) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order = submit_order(user=user, symbol="ACME", **kwargs)
        order.refresh_from_db()
        return order

    resting_buy = submit(side="buy", type="limit", quantity=D("2"), limit_price=D("40"))
    resting_sell = submit(side="sell", type="limit", quantity=D("3"), limit_price=D("60"))
    filled_buy = submit(side="buy", quantity=D("2"))
    assert (resting_buy.status, resting_buy.reserved_cash) == (OrderStatus.OPEN, D("80"))
    assert (resting_sell.status, resting_sell.reserved_quantity) == (OrderStatus.OPEN, D("3"))
    assert (filled_buy.status, filled_buy.average_fill_price) == (OrderStatus.FILLED, D("50"))
    user.refresh_from_db()
    position.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (D("9900"), D("80"))
    assert (position.quantity, position.quantity_reserved) == (D("12"), D("3"))
    return {
        "user": user,
        "position": position,
        "stock": acme,
        "resting_buy": resting_buy,
        "resting_sell": resting_sell,
        "filled_buy": filled_buy,
        "fill": Fill.objects.get(order=filled_buy),
    }


def run(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# (row, statement, the constraint that must stop it)
VIOLATIONS = [
    (
        "filled_buy",
        "UPDATE orders_order SET reserved_cash = 0.0001 WHERE id = %s",
        "order_terminal_holds_no_reservation",
    ),
    (
        "resting_buy",
        "UPDATE orders_order SET reserved_quantity = 1 WHERE id = %s",
        "order_reservation_matches_side",
    ),
    (
        "resting_sell",
        "UPDATE orders_order SET reserved_cash = 1 WHERE id = %s",
        "order_reservation_matches_side",
    ),
    (
        "resting_sell",
        "UPDATE orders_order SET reserved_quantity = quantity + 0.000001 WHERE id = %s",
        "order_reserved_quantity_lte_remaining",
    ),
    (
        "resting_sell",
        "UPDATE orders_order SET status = 'done' WHERE id = %s",
        "order_status_valid",
    ),
    (
        "filled_buy",
        "UPDATE orders_order SET average_fill_price = NULL WHERE id = %s",
        "order_average_fill_price_iff_filled",
    ),
    (
        "filled_buy",
        "UPDATE orders_order SET average_fill_price = 0 WHERE id = %s",
        "order_average_fill_price_iff_filled",
    ),
    (
        "resting_buy",
        "UPDATE orders_order SET average_fill_price = 40 WHERE id = %s",
        "order_average_fill_price_iff_filled",
    ),
    (
        "filled_buy",
        "UPDATE orders_order SET filled_quantity = quantity + 0.000001 WHERE id = %s",
        "order_filled_lte_quantity",
    ),
    (
        "resting_buy",
        "UPDATE orders_order SET reserved_cash = -0.0001 WHERE id = %s",
        "order_reservations_gte_0",
    ),
    ("fill", "UPDATE orders_fill SET amount = -0.0001 WHERE id = %s", "fill_amount_gte_0"),
    ("fill", "UPDATE orders_fill SET quantity = 0 WHERE id = %s", "fill_quantity_gt_0"),
    # A negative balance breaks reserved <= cash too; CHECKs run in name order.
    ("user", "UPDATE users_user SET cash = -0.0001 WHERE id = %s", "user_cash_gte_0"),
    (
        "user",
        "UPDATE users_user SET cash_reserved = cash + 0.0001 WHERE id = %s",
        "user_reserved_lte_cash",
    ),
    (
        "position",
        "UPDATE users_position SET quantity_reserved = quantity + 0.000001 WHERE id = %s",
        "position_reserved_lte_quantity",
    ),
    (
        "position",
        "UPDATE users_position SET quantity = quantity_reserved - 0.000001 WHERE id = %s",
        "position_reserved_lte_quantity",
    ),
    ("stock", "UPDATE stocks_stock SET price = 0 WHERE id = %s", "stock_price_gt_0"),
    ("stock", "UPDATE stocks_stock SET amount = -0.000001 WHERE id = %s", "stock_amount_gte_0"),
]


@pytest.mark.parametrize(
    ("row", "statement", "constraint"), VIOLATIONS, ids=[c for _, _, c in VIOLATIONS]
)
def test_a_raw_update_breaking_a_rule_fails(
    rows: dict[str, Any], row: str, statement: str, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=f'"{constraint}"'), transaction.atomic():
        run(statement, rows[row].pk)


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("row", ["resting_buy", "resting_sell"])
def test_finishing_an_order_without_releasing_its_reservation_fails(
    rows: dict[str, Any], row: str, status: str
) -> None:
    with (
        pytest.raises(IntegrityError, match='"order_terminal_holds_no_reservation"'),
        transaction.atomic(),
    ):
        run("UPDATE orders_order SET status = %s WHERE id = %s", status, rows[row].pk)


# (row, statement): the valid edge of each rule above
EDGES = [
    (
        "resting_buy",
        "UPDATE orders_order SET status = 'cancelled', reserved_cash = 0 WHERE id = %s",
    ),
    (
        "resting_sell",
        "UPDATE orders_order SET status = 'expired', reserved_quantity = 0 WHERE id = %s",
    ),
    (
        "resting_sell",
        "UPDATE orders_order SET filled_quantity = 1, average_fill_price = 60,"
        " reserved_quantity = 2 WHERE id = %s",
    ),
    ("filled_buy", "UPDATE orders_order SET average_fill_price = 0.0001 WHERE id = %s"),
    ("fill", "UPDATE orders_fill SET amount = 0 WHERE id = %s"),  # a tiny fill rounds to 0
    ("user", "UPDATE users_user SET cash = cash_reserved WHERE id = %s"),
    ("position", "UPDATE users_position SET quantity_reserved = quantity WHERE id = %s"),
    ("stock", "UPDATE stocks_stock SET amount = 0 WHERE id = %s"),
]


@pytest.mark.parametrize(("row", "statement"), EDGES)
def test_a_raw_update_at_the_edge_of_a_rule_passes(
    rows: dict[str, Any], row: str, statement: str
) -> None:
    run(statement, rows[row].pk)
    rows[row].refresh_from_db()
