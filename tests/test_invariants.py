"""Property test: DESIGN.md's invariants hold after every step of random order flow.

Each example opens two stocks and three accounts through the services (with starter
grants), then runs a random sequence of submits (any side, type, time in force,
quantity, limit), price changes, restocks, cancels and day expiries. On-commit hooks
run after each step (events inline, Celery eager), so orders execute and resting orders
match exactly as they would in production, one step at a time. After every step the
whole book is checked. Each example runs in a savepoint that is rolled back.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brokerage.api.errors import (
    InsufficientCash,
    InsufficientShares,
    OrderAlreadyCancelled,
    OrderAlreadyCompleted,
    OrderFailed,
    OrderTooSmall,
)
from brokerage.shared import money
from orders.models import TERMINAL_STATUSES, Fill, Order, OrderSide, OrderStatus
from orders.reconciliation import reconcile
from orders.services import cancel_order, expire_day_orders, submit_order
from stocks import quotes
from stocks.models import Stock
from stocks.services import create_stock, update_stock, update_stock_price
from users.models import Position, User
from users.services import create_user

D = Decimal
SYMBOLS = ("AAA", "BBB")
USERS = 3
GRANT = D("10")

quantities = st.one_of(
    st.sampled_from([D("1"), D("2.5"), D("10"), D("0.333333"), D("12")]),
    st.decimals(min_value=D("0.000001"), max_value=D("15"), places=6),
)
prices = st.one_of(
    st.sampled_from([D("10"), D("33.3333"), D("9.9999"), D("1.0001")]),
    st.decimals(min_value=D("0.5"), max_value=D("60"), places=4),
)

submit_op = st.tuples(
    st.just("submit"),
    st.integers(0, USERS - 1),
    st.integers(0, len(SYMBOLS) - 1),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["market", "limit"]),
    st.sampled_from(["gtc", "day", "ioc", "fok"]),
    quantities,
    prices,
)
price_op = st.tuples(st.just("price"), st.integers(0, len(SYMBOLS) - 1), prices)
restock_op = st.tuples(
    st.just("restock"),
    st.integers(0, len(SYMBOLS) - 1),
    st.decimals(min_value=D("0"), max_value=D("40"), places=6),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 1000))
expire_op = st.tuples(st.just("expire"))
operations = st.lists(
    st.one_of(*[submit_op] * 5, price_op, price_op, restock_op, cancel_op, cancel_op, expire_op),
    min_size=8,
    max_size=30,
)
worlds = st.fixed_dictionaries(
    {
        "balances": st.lists(
            st.sampled_from([D("0"), D("333.3333"), D("1000"), D("5000"), D("20000")]),
            min_size=USERS,
            max_size=USERS,
        ),
        "inventories": st.lists(
            st.sampled_from([D("0"), D("3.5"), D("20"), D("1000")]), min_size=2, max_size=2
        ),
    }
)


@dataclass
class World:
    """What the example created and what the invariants compare against."""

    user_ids: list[UUID] = field(default_factory=list)
    stock_ids: list[int] = field(default_factory=list)
    order_ids: list[UUID] = field(default_factory=list)
    deposits: D = field(default_factory=D)
    shares: dict[int, D] = field(default_factory=dict)  # per stock: all shares in existence


def open_world(balances: list[D], inventories: list[D]) -> World:
    quotes.forget_all()  # quotes kept from an earlier example name stocks rolled back
    world = World()
    for symbol, price, amount in zip(SYMBOLS, (D("10"), D("33.3333")), inventories, strict=True):
        stock = create_stock(symbol=symbol, name=symbol, price=price, amount=amount)
        world.stock_ids.append(stock.pk)
        world.shares[stock.pk] = amount
    for index, balance in enumerate(balances):
        user = create_user(email=f"prop{index}@example.com", balance=balance)
        world.user_ids.append(user.pk)
        world.deposits += balance
        for stock_id in world.stock_ids:
            world.shares[stock_id] += GRANT  # starter grants are new shares
    return world


def apply(world: World, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "submit":
        _, user_i, stock_i, side, type_, tif, quantity, limit_price = op
        try:
            order = submit_order(
                user=User.objects.get(pk=world.user_ids[user_i]),
                symbol=SYMBOLS[stock_i],
                side=side,
                type=type_,
                time_in_force=tif,
                quantity=quantity,
                limit_price=limit_price if type_ == "limit" else None,
            )
        except (InsufficientCash, InsufficientShares, OrderTooSmall):
            return
        world.order_ids.append(order.pk)
    elif kind == "price":
        update_stock_price(symbol=SYMBOLS[op[1]], price=op[2])
    elif kind == "restock":
        stock = Stock.objects.get(pk=world.stock_ids[op[1]])
        world.shares[stock.pk] += op[2] - stock.amount  # the house's stock is set, not added
        update_stock(symbol=stock.symbol, amount=op[2])
    elif kind == "cancel":
        if not world.order_ids:
            return
        order = Order.objects.get(pk=world.order_ids[op[1] % len(world.order_ids)])
        try:
            cancel_order(actor=order.user, order_id=order.pk)
        except (OrderAlreadyCompleted, OrderFailed, OrderAlreadyCancelled):
            assert order.status in TERMINAL_STATUSES, order.status
        else:
            assert order.status not in TERMINAL_STATUSES, order.status
    else:
        expire_day_orders(closed_at=timezone.now())


def check(world: World) -> None:
    users = list(User.objects.filter(pk__in=world.user_ids))
    positions = list(Position.objects.filter(user_id__in=world.user_ids))
    stocks = list(Stock.objects.filter(pk__in=world.stock_ids))
    orders = list(Order.objects.filter(user_id__in=world.user_ids))
    fills = list(Fill.objects.filter(order__user_id__in=world.user_ids).select_related("order"))

    # Cash is conserved between customers and the house.
    house_cash = sum(
        (f.amount if f.order.side == OrderSide.BUY else -f.amount for f in fills), D("0")
    )
    assert sum((u.cash for u in users), D("0")) + house_cash == world.deposits

    # Shares are conserved between positions and house inventory.
    for stock in stocks:
        held = sum((p.quantity for p in positions if p.stock_id == stock.pk), D("0"))
        assert held + stock.amount == world.shares[stock.pk], stock.symbol

    # Nothing goes negative; reservations never exceed what is held.
    for user in users:
        assert 0 <= user.cash_reserved <= user.cash
    for position in positions:
        assert 0 <= position.quantity_reserved <= position.quantity
        assert position.average_cost >= 0
    for stock in stocks:
        assert stock.amount >= 0

    # Each unit is filled at most once; fills move exactly quantity x price.
    filled: dict[UUID, D] = {}
    for fill in fills:
        assert fill.quantity > 0
        # In the house's favour: a buy pays rounded up (a limit buy's last fill may be
        # capped a tick lower, at its reservation), a sell receives rounded down.
        if fill.order.side == OrderSide.BUY:
            exact = money.buy_cost(fill.quantity * fill.price)
            assert exact - money.CASH_STEP <= fill.amount <= exact
        else:
            assert fill.amount == money.sell_proceeds(fill.quantity * fill.price)
        filled[fill.order_id] = filled.get(fill.order_id, D("0")) + fill.quantity
    for order in orders:
        assert 0 <= order.filled_quantity <= order.quantity
        assert order.filled_quantity == filled.get(order.pk, D("0")), order.pk
        assert order.reserved_cash >= 0
        assert order.reserved_quantity >= 0
        # With eager execution nothing waits in `accepted` after a step.
        assert order.status != OrderStatus.ACCEPTED
        if order.status in TERMINAL_STATUSES:
            assert (order.reserved_cash, order.reserved_quantity) == (0, 0), order.status
        elif order.side == OrderSide.SELL:
            assert order.reserved_quantity == order.quantity - order.filled_quantity
            assert order.reserved_cash == 0
        else:
            assert order.reserved_quantity == 0
            assert order.limit_price is not None  # only limit orders rest

    # The journal and the open orders prove every balance (manage.py reconcile).
    assert reconcile() == []

    # Reservations add up to what the live orders hold.
    live = [o for o in orders if o.status not in TERMINAL_STATUSES]
    for user in users:
        assert user.cash_reserved == sum(
            (o.reserved_cash for o in live if o.user_id == user.pk), D("0")
        ), user.email
    for position in positions:
        assert position.quantity_reserved == sum(
            (
                o.reserved_quantity
                for o in live
                if o.side == OrderSide.SELL
                and o.user_id == position.user_id
                and o.stock_id == position.stock_id
            ),
            D("0"),
        )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, ops=operations)
def test_invariants_hold_after_every_step(
    world: dict[str, list[D]], ops: list[tuple[Any, ...]], django_capture_on_commit_callbacks
):
    with transaction.atomic():  # one savepoint per example, rolled back below
        state = open_world(world["balances"], world["inventories"])
        check(state)
        for op in ops:
            with django_capture_on_commit_callbacks(execute=True):  # execute, match, notify
                apply(state, op)
            check(state)
        for status in Order.objects.values_list("status", flat=True).distinct():
            event(f"an order ended {status}")  # see --hypothesis-show-statistics
        transaction.set_rollback(True)
