"""Row locks under real concurrency.

These tests commit for real (`transaction=True`), so on-commit hooks run: with the
inline event transport and Celery eager, `submit_order` executes the order in the
submitting thread right after its commit, and a price change matches resting orders.
Where a test needs an order to stay `accepted` (or a resting order to stay unmatched
after a price change), `dispatch_dropped` commits the service's writes but drops its
on-commit hooks: the `order.accepted` / `stock.price_changed` outbox row stays
unpublished, as when Kafka is down or no worker has picked the event up yet.
`django_capture_on_commit_callbacks(execute=False)` cannot do this here: the service's
own atomic block is the outermost one, so it commits and runs the hooks itself.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from brokerage.api.errors import InsufficientCash, InsufficientShares, OrderAlreadyCompleted
from brokerage.events.models import OutboxEvent
from orders.execution import execute_order, match_resting_orders
from orders.models import Fill, Order, OrderStatus
from orders.services import cancel_order, submit_order
from stocks.services import update_stock_price
from tests.factories import PositionFactory, StockFactory, UserFactory
from users.models import Position

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
THREADS = 20
JOIN_TIMEOUT = 60


def run_together(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run each call in its own thread, all released at once by a barrier.

    Returns ("ok", result) or ("error", exception) per call, in order.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = ("ok", call())
        except Exception as exc:
            outcomes[index] = ("error", exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=work, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    assert all(kind != "missing" for kind, _ in outcomes)
    return outcomes


@contextmanager
def dispatch_dropped() -> Iterator[None]:
    """Commit the block's writes without running the on-commit hooks they registered."""
    with transaction.atomic():
        conn = transaction.get_connection()
        start = len(conn.run_on_commit)
        yield
        del conn.run_on_commit[start:]  # the same list captureOnCommitCallbacks reads


def errors_of(outcomes: list[tuple[str, Any]]) -> list[Exception]:
    return [value for kind, value in outcomes if kind == "error"]


# --- many buys against one account ----------------------------------------------------


@pytest.mark.parametrize(
    ("order", "cash", "status", "cash_after", "reserved_after"),
    [
        # resting limit buys: 40 reserved each, nothing spent
        (
            {"type": "limit", "limit_price": D("40")},
            D("280"),
            OrderStatus.OPEN,
            D("280"),
            D("280"),
        ),
        # limit buys at the price: the reservation is exactly the cost
        (
            {"type": "limit", "limit_price": D("50")},
            D("350"),
            OrderStatus.FILLED,
            D("0"),
            D("0"),
        ),
        # market buys: 52.5 reserved each (5% collar), 50 spent each
        ({"type": "market"}, D("367.5"), OrderStatus.FILLED, D("17.5"), D("0")),
    ],
    ids=["resting-limit", "limit-at-price", "market"],
)
def test_concurrent_buys_never_overspend(order, cash, status, cash_after, reserved_after):
    """Cash for exactly 7 orders: 7 are accepted, 13 get InsufficientCash."""
    stock = StockFactory(symbol="ACME", price=D("50"), amount=D("1000"))
    user = UserFactory(cash=cash)

    def buy() -> Order:
        return submit_order(user=user, symbol="ACME", side="buy", quantity=D("1"), **order)

    outcomes = run_together([buy] * THREADS)

    errors = errors_of(outcomes)
    assert all(isinstance(exc, InsufficientCash) for exc in errors), errors
    assert len(errors) == THREADS - 7
    assert Order.objects.count() == 7
    assert set(Order.objects.values_list("status", flat=True)) == {status}
    user.refresh_from_db()
    stock.refresh_from_db()
    assert user.cash == cash_after
    assert user.cash_reserved == reserved_after
    assert 0 <= user.cash_reserved <= user.cash
    assert user.cash_reserved == sum(o.reserved_cash for o in Order.objects.all())
    if status == OrderStatus.FILLED:
        assert Fill.objects.count() == 7
        assert Position.objects.get(user=user, stock=stock).quantity == D("7")
        assert stock.amount == D("993")


def test_concurrent_sells_never_oversell():
    stock = StockFactory(symbol="ACME", price=D("50"), amount=D("1000"))
    user = UserFactory(cash=D("0"))
    PositionFactory(user=user, stock=stock, quantity=D("7"))

    def sell() -> Order:
        return submit_order(user=user, symbol="ACME", side="sell", quantity=D("1"))

    outcomes = run_together([sell] * THREADS)

    errors = errors_of(outcomes)
    assert all(isinstance(exc, InsufficientShares) for exc in errors), errors
    assert len(errors) == THREADS - 7
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.FILLED] * 7
    position = Position.objects.get(user=user, stock=stock)
    assert (position.quantity, position.quantity_reserved) == (0, 0)
    user.refresh_from_db()
    stock.refresh_from_db()
    assert user.cash == D("350")
    assert stock.amount == D("1007")


# --- cancel racing execute ------------------------------------------------------------

ROUNDS = 10


def _check_one_outcome(order: Order, execute: tuple[str, Any], cancel: tuple[str, Any]) -> str:
    """Exactly one of: filled (one Fill, the cancel refused) or cancelled (no Fill)."""
    order.refresh_from_db()
    fills = Fill.objects.filter(order=order).count()
    assert order.reserved_cash == 0
    assert order.reserved_quantity == 0
    if order.status == OrderStatus.FILLED:
        assert fills == 1
        assert order.cancelled_at is None
        assert execute[0] == "ok"
        assert execute[1] is not None
        assert cancel[0] == "error"
        assert isinstance(cancel[1], OrderAlreadyCompleted), cancel
        return "filled"
    assert order.status == OrderStatus.CANCELLED, order.status
    assert fills == 0
    assert order.filled_quantity == 0
    assert order.filled_at is None
    assert cancel[0] == "ok", cancel
    assert execute == ("ok", None), execute  # it found the order terminal: a no-op
    return "cancelled"


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_cancel_racing_execute_of_an_accepted_order_has_one_outcome(side):
    stock = StockFactory(symbol="ACME", price=D("50"), amount=D("1000"))
    user = UserFactory(cash=D("1000"))
    PositionFactory(user=user, stock=stock, quantity=D("100"), average_cost=D("50"))
    cash, shares, house = D("1000"), D("100"), D("1000")
    seen = []
    for _ in range(ROUNDS):
        with dispatch_dropped():
            order = submit_order(user=user, symbol="ACME", side=side, quantity=D("2"))
        order.refresh_from_db()
        assert order.status == OrderStatus.ACCEPTED
        accepted = OutboxEvent.objects.get(
            event_type="order.accepted", envelope__payload__order_id=str(order.pk)
        )
        assert accepted.published_at is None  # no worker has seen it yet
        assert (order.reserved_cash, order.reserved_quantity) == (
            (D("105"), 0) if side == "buy" else (0, D("2"))
        )

        execute, cancel = run_together(
            [
                lambda pk=order.pk: execute_order(order_id=pk),
                lambda pk=order.pk: cancel_order(actor=user, order_id=pk),
            ]
        )
        outcome = _check_one_outcome(order, execute, cancel)
        seen.append(outcome)
        if outcome == "filled":
            sign = 1 if side == "buy" else -1
            cash -= sign * D("100")
            shares += sign * D("2")
            house -= sign * D("2")

        user.refresh_from_db()
        stock.refresh_from_db()
        position = Position.objects.get(user=user, stock=stock)
        assert user.cash == cash
        assert user.cash_reserved == 0
        assert position.quantity == shares
        assert position.quantity_reserved == 0
        assert stock.amount == house
    assert Fill.objects.count() == seen.count("filled")


def test_cancel_racing_match_of_a_resting_order_has_one_outcome():
    stock = StockFactory(symbol="ACME", price=D("50"), amount=D("1000"))
    user = UserFactory(cash=D("10000"))
    cash = D("10000")
    price = D("50")
    for _ in range(ROUNDS):
        limit = price - D("1")
        order = submit_order(
            user=user,
            symbol="ACME",
            side="buy",
            type="limit",
            quantity=D("2"),
            limit_price=limit,
        )  # executed on commit: rests, the price is above the limit
        order.refresh_from_db()
        assert order.status == OrderStatus.OPEN
        with dispatch_dropped():  # the price moves; matching is left to the race
            update_stock_price(symbol="ACME", price=limit)
        price = limit

        match, cancel = run_together(
            [
                lambda: match_resting_orders(symbol="ACME"),
                lambda pk=order.pk: cancel_order(actor=user, order_id=pk),
            ]
        )
        assert match[0] == "ok", match
        order.refresh_from_db()
        fills = Fill.objects.filter(order=order).count()
        assert order.reserved_cash == 0
        if order.status == OrderStatus.FILLED:
            assert fills == 1
            assert isinstance(cancel[1], OrderAlreadyCompleted), cancel
            cash -= 2 * limit
        else:
            assert order.status == OrderStatus.CANCELLED
            assert fills == 0
            assert cancel[0] == "ok", cancel
        user.refresh_from_db()
        assert user.cash == cash
        assert user.cash_reserved == 0
    stock.refresh_from_db()
    assert stock.amount == D("1000") - 2 * Fill.objects.count()


def test_concurrent_submits_and_cancels_keep_reservations_exact():
    """Ten threads cancel ten resting orders while ten more try to place new ones."""
    StockFactory(symbol="ACME", price=D("50"), amount=D("1000"))
    user = UserFactory(cash=D("675"))  # 10 resting orders of 45, then room for 5 more

    def resting_buy() -> Order:
        return submit_order(
            user=user,
            symbol="ACME",
            side="buy",
            type="limit",
            quantity=D("1"),
            limit_price=D("45"),
        )

    standing = [resting_buy() for _ in range(10)]
    user.refresh_from_db()
    assert user.cash_reserved == D("450")

    calls: list[Callable[[], Any]] = [
        *(lambda pk=o.pk: cancel_order(actor=user, order_id=pk) for o in standing),
        *([resting_buy] * 10),
    ]
    outcomes = run_together(calls)

    assert errors_of(outcomes[:10]) == []  # every cancel went through
    errors = errors_of(outcomes[10:])
    assert all(isinstance(exc, InsufficientCash) for exc in errors), errors
    placed = 10 - len(errors)
    # 5 always fit; the rest only if a cancel released its cash first.
    assert 5 <= placed <= 10
    user.refresh_from_db()
    live = Order.objects.filter(status=OrderStatus.OPEN)
    assert live.count() == placed
    assert user.cash_reserved == D("45") * placed == sum(o.reserved_cash for o in live)
    assert user.cash == D("675")
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 10
    assert not Order.objects.filter(status=OrderStatus.CANCELLED).exclude(reserved_cash=0)
