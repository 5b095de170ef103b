"""Order services: submit, cancel, execute, match after a price change, expire.

Lock order everywhere: Stock -> Order -> User -> Position. STYLE.md puts the accounts
first; here they come last because every submission queues on its account's row (and a
submission locks nothing else): taken last and written in the statement before the
commit, an account is held for about two round trips, not a whole execution. Each
service reads unlocked to learn what to lock, locks, then re-checks. Locks are FOR NO
KEY UPDATE: they exclude each other but not the foreign-key checks of inserts that
merely reference the row, so placing an order never waits for a fill of the same stock.
"""

import functools
import logging
import operator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from brokerage import db, metrics, money
from brokerage.errors import (
    ErrorCode,
    IdempotencyConflict,
    InsufficientCash,
    InsufficientShares,
    InvalidInput,
    OrderAlreadyCancelled,
    OrderAlreadyCompleted,
    OrderFailed,
    OrderNotFound,
)
from brokerage.events import Event, outbox_rows, publish_on_commit
from notifications.services import order_outcome_records
from orders.engine import decide
from orders.models import (
    NOTIFY_STATUSES,
    RESTING_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from orders.tasks import execute_orders as execute_orders_task
from stocks.models import Stock
from stocks.quotes import get_stock_quote
from stocks.selectors import get_stock
from users.models import Position, User

logger = logging.getLogger(__name__)

MATCH_BATCH = 200
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


_STATUS_TIMESTAMP = {
    OrderStatus.FILLED: "filled_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.EXPIRED: "expired_at",
}


class InvalidTransition(RuntimeError):
    pass


def transition(order: Order, status: str) -> None:
    """Move `order` to `status` through the one transition table, stamping the time."""
    if status not in TRANSITIONS.get(order.status, set()):
        raise InvalidTransition(f"order {order.pk}: {order.status} -> {status}")
    order.status = status
    stamp = _STATUS_TIMESTAMP.get(OrderStatus(status))
    if stamp:
        setattr(order, stamp, timezone.now())


# --- guards ---------------------------------------------------------------------------


def check_order_shape(*, type: str, limit_price: Decimal | None) -> None:
    if type == OrderType.LIMIT and limit_price is None:
        raise InvalidInput("A limit order needs a limit_price.", field="limit_price")
    if type == OrderType.MARKET and limit_price is not None:
        raise InvalidInput("A market order takes no limit_price.", field="limit_price")


def reserve_cash(*, user_id: UUID, amount: Decimal) -> tuple[str, list[Any]]:
    """The guard of a buy: reserve `amount` of the user's available cash, or match nothing.
    Locks the User row (an UPDATE) for the statement it is part of."""
    table = User._meta.db_table
    sql = (
        f"UPDATE {table} SET cash_reserved = cash_reserved + %s "  # noqa: S608
        "WHERE id = %s AND cash >= cash_reserved + %s RETURNING 1"
    )
    return sql, [amount, user_id, amount]


def reserve_shares(*, user_id: UUID, stock_id: int, quantity: Decimal) -> tuple[str, list[Any]]:
    """The guard of a sell: reserve `quantity` of the user's available shares, like
    reserve_cash. Locks the Position row."""
    table = Position._meta.db_table
    sql = (
        f"UPDATE {table} SET quantity_reserved = quantity_reserved + %s, updated_at = %s "  # noqa: S608
        "WHERE user_id = %s AND stock_id = %s AND quantity >= quantity_reserved + %s RETURNING 1"
    )
    return sql, [quantity, timezone.now(), user_id, stock_id, quantity]


def check_reserved(order: Order) -> None:
    """Raise what stopped `order`'s reservation: InsufficientCash (2006) or
    InsufficientShares (2007), with the figures."""
    if order.side == OrderSide.BUY:
        available = User.objects.get(pk=order.user_id).available_cash
        raise InsufficientCash(
            "Insufficient cash for this order.",
            required=str(order.reserved_cash),
            available=str(available),
        )
    held = Position.objects.filter(user_id=order.user_id, stock_id=order.stock_id).first()
    raise InsufficientShares(
        f"Insufficient {order.stock.symbol} shares for this order.",
        required=str(order.quantity),
        available=str(held.available_quantity if held else Decimal(0)),
    )


def check_same_order(existing: Order, **request: Any) -> Order:
    """A replayed client_order_id must carry the same order, else it is a 409."""
    differs = [
        field
        for field, value in request.items()
        if value != (existing.stock.symbol if field == "symbol" else getattr(existing, field))
    ]
    if differs:
        raise IdempotencyConflict(
            "client_order_id was already used for a different order.",
            order_id=str(existing.pk),
            fields=differs,
        )
    return existing


def check_cancellable(order: Order) -> None:
    if order.status == OrderStatus.FILLED:
        raise OrderAlreadyCompleted("Order is already filled.", order_id=str(order.pk))
    if order.status == OrderStatus.REJECTED:
        raise OrderFailed("Order was rejected.", order_id=str(order.pk))
    if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        raise OrderAlreadyCancelled(f"Order is already {order.status}.", order_id=str(order.pk))


# --- submission -----------------------------------------------------------------------


def market_buy_reservation(*, quantity: Decimal, price: Decimal) -> Decimal:
    return money.cash_reservation(quantity * price * (1 + settings.MARKET_ORDER_COLLAR))


def submit_order(
    *,
    user: User,
    symbol: str,
    side: str,
    quantity: Decimal,
    type: str = OrderType.MARKET,
    limit_price: Decimal | None = None,
    time_in_force: str = TimeInForce.GTC,
    client_order_id: str | None = None,
) -> Order:
    """Accept an order: reserve what it may spend, insert it and its `order.accepted`
    event, in one statement (db.insert_if), so the account's row lock lasts one round trip.

    Locks the User for a buy, the Position for a sell. Raises InvalidInput (1000),
    StockNotFound (2005), InsufficientCash (2006), InsufficientShares (2007),
    IdempotencyConflict (2017). The same client_order_id with the same order returns the
    first order: the unique (user, client_order_id) constraint is the guard.
    """
    check_order_shape(type=type, limit_price=limit_price)
    # Unlocked and possibly cached: the price only sizes a market buy's reservation.
    stock = get_stock_quote(symbol=symbol)
    order = Order(
        user_id=user.pk,
        stock=stock,
        side=side,
        type=type,
        time_in_force=time_in_force,
        quantity=quantity,
        limit_price=limit_price,
        client_order_id=client_order_id or None,
        status=OrderStatus.ACCEPTED,
        accepted_at=timezone.now(),
    )
    if side == OrderSide.BUY:
        if type == OrderType.LIMIT:
            assert limit_price is not None
            order.reserved_cash = money.cash_reservation(quantity * limit_price)
        else:
            order.reserved_cash = market_buy_reservation(quantity=quantity, price=stock.price)
        guard = reserve_cash(user_id=user.pk, amount=order.reserved_cash)
    else:
        order.reserved_quantity = quantity
        guard = reserve_shares(user_id=user.pk, stock_id=stock.pk, quantity=quantity)
    event = Event(
        topic=settings.KAFKA_TOPIC_ORDERS,
        event_type="order.accepted",
        key=stock.symbol,
        payload={
            "order_id": str(order.pk),
            "user_id": str(user.pk),
            "symbol": stock.symbol,
            "side": side,
            "type": type,
            "time_in_force": time_in_force,
            "quantity": str(quantity),
            "limit_price": None if limit_price is None else str(limit_price),
        },
    )
    rows = outbox_rows([event])

    def replayed() -> Order | None:
        """The order this client_order_id already placed, if it is the same order."""
        existing = client_order_id and (
            Order.objects.select_related("stock")
            .filter(user_id=user.pk, client_order_id=client_order_id)
            .first()
        )
        if not existing:
            return None
        return check_same_order(
            existing,
            symbol=symbol,
            side=side,
            type=type,
            quantity=quantity,
            limit_price=limit_price,
            time_in_force=time_in_force,
        )

    try:
        placed = db.insert_if(*guard, [order, *rows])
    except IntegrityError:
        if first := replayed():  # the client_order_id was taken
            return first
        raise
    if not placed:
        if first := replayed():  # a replay is answered even when the money is gone now
            return first
        check_reserved(order)
    publish_on_commit(rows)
    metrics.ORDERS_SUBMITTED.labels(side=side, type=type).inc()
    return order


# --- execution ------------------------------------------------------------------------


def _release_reservation(order: Order, user: User, position: Position | None) -> None:
    """Give back what a terminal order still holds."""
    if order.reserved_cash:
        user.cash_reserved -= order.reserved_cash
        order.reserved_cash = Decimal("0")
    if order.reserved_quantity:
        assert position is not None
        position.quantity_reserved -= order.reserved_quantity
        order.reserved_quantity = Decimal("0")


def _apply_buy_fill(
    order: Order,
    user: User,
    position: Position,
    quantity: Decimal,
    price: Decimal,
    cost: Decimal,
    rests: bool,
) -> None:
    keep = Decimal("0")
    if rests:
        assert order.limit_price is not None
        remaining = order.remaining_quantity - quantity
        keep = max(
            Decimal("0"),
            min(money.cash_reservation(remaining * order.limit_price), order.reserved_cash - cost),
        )
    user.cash -= cost
    user.cash_reserved -= order.reserved_cash - keep
    order.reserved_cash = keep
    held = position.quantity
    position.quantity = held + quantity
    position.average_cost = money.price(
        (held * position.average_cost + quantity * price) / position.quantity
    )


def _apply_sell_fill(
    order: Order, user: User, position: Position, quantity: Decimal, proceeds: Decimal
) -> None:
    user.cash += proceeds
    position.quantity -= quantity
    position.quantity_reserved -= quantity
    order.reserved_quantity -= quantity
    position.realized_pnl += proceeds - money.cash_amount(quantity * position.average_cost)
    if position.quantity == 0:
        position.average_cost = Decimal("0")


@dataclass
class _Book:
    """The rows one execution transaction holds locked, changed in memory, saved once."""

    users: dict[UUID, User]
    positions: dict[tuple[UUID, int], Position]
    stocks: dict[int, Stock]
    new_positions: list[Position] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    def position(self, user: User, stock: Stock) -> Position:
        key = (user.pk, stock.pk)
        if key not in self.positions:  # a first buy: created under the user's lock
            self.positions[key] = Position(user=user, stock=stock)
            self.new_positions.append(self.positions[key])
        return self.positions[key]


def _lock_book(order_ids: list[UUID]) -> tuple[_Book, list[Order]]:
    """Lock every row the live orders among `order_ids` touch, kind by kind.

    Stocks, then Orders, then Users, then Positions, each kind in pk order: the lock order
    of every service, so batches and single orders never deadlock. The account rows come
    last because submissions queue on them: taken late, they are held for the shortest
    time. Returns the locked live orders oldest first (time priority).
    """
    peek = Order.objects.filter(pk__in=order_ids).exclude(status__in=TERMINAL_STATUSES)
    stock_ids = set(peek.values_list("stock_id", flat=True))
    stocks = Stock.objects.select_for_update(no_key=True).filter(pk__in=stock_ids).order_by("pk")
    book_stocks = {stock.pk: stock for stock in stocks}
    orders = list(
        Order.objects.select_for_update(no_key=True)
        .filter(pk__in=order_ids, stock_id__in=book_stocks)
        .exclude(status__in=TERMINAL_STATUSES)  # re-checked under the lock
        .order_by("pk")
    )
    traded = {(order.user_id, order.stock_id) for order in orders}
    users = User.objects.select_for_update(no_key=True).filter(
        pk__in={user_id for user_id, _ in traded}
    )
    pairs = [Q(user_id=user_id, stock_id=stock_id) for user_id, stock_id in traded]
    positions = (  # exactly the (user, stock) pairs traded, not every combination
        Position.objects.select_for_update(no_key=True)
        .filter(functools.reduce(operator.or_, pairs, Q(pk__in=[])))
        .order_by("pk")
    )
    book = _Book(
        users={user.pk: user for user in users.order_by("pk")},
        positions={(p.user_id, p.stock_id): p for p in positions},
        stocks=book_stocks,
    )
    orders.sort(key=lambda order: order.created_at)
    for order in orders:  # share the locked instances
        order.user = book.users[order.user_id]
        order.stock = book.stocks[order.stock_id]
    return book, orders


def _execute(order: Order, book: _Book) -> bool:
    """Fill, rest or cancel one locked order in memory; False if nothing changed."""
    user, stock = order.user, order.stock
    decision = decide(
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        remaining=order.remaining_quantity,
        limit_price=order.limit_price,
        price=stock.price,
        inventory=stock.amount,
    )
    quantity, fill_price = decision.fill_quantity, stock.price
    if quantity == 0 and decision.rests and order.status in RESTING_STATUSES:
        return False  # still waiting for its price
    position = book.positions.get((user.pk, stock.pk))
    if quantity > 0:
        amount = money.cash_amount(quantity * fill_price)
        if order.side == OrderSide.BUY:
            if order.type == OrderType.MARKET and amount > order.reserved_cash:
                # The price moved past the collar since submission.
                _finish(order, OrderStatus.REJECTED, user, position, ErrorCode.INSUFFICIENT_CASH)
                return True
            if order.type == OrderType.LIMIT:
                # Fills rounded one by one may exceed the reservation by rounding
                # ticks; the customer never pays more than was reserved.
                amount = min(amount, order.reserved_cash)
            position = book.position(user, stock)
            _apply_buy_fill(order, user, position, quantity, fill_price, amount, decision.rests)
            stock.amount -= quantity
        else:
            assert position is not None
            _apply_sell_fill(order, user, position, quantity, amount)
            stock.amount += quantity
        previously = order.filled_quantity
        order.filled_quantity += quantity
        order.average_fill_price = money.price(
            (previously * (order.average_fill_price or 0) + quantity * fill_price)
            / order.filled_quantity
        )
        book.fills.append(Fill(order=order, quantity=quantity, price=fill_price, amount=amount))
        metrics.FILLS.labels(side=order.side).inc()
    if order.filled_quantity == order.quantity:
        _finish(order, OrderStatus.FILLED, user, position)
    elif decision.rests:
        status = OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.OPEN
        transition(order, status)
    else:
        _finish(order, OrderStatus.CANCELLED, user, position, decision.cancel_reason)
    return True


def _finish(
    order: Order,
    status: str,
    user: User,
    position: Position | None,
    reason: ErrorCode | None = None,
) -> None:
    """Move to a terminal status and give back what the order still holds."""
    transition(order, status)
    order.error_code = reason
    _release_reservation(order, user, position)


_ORDER_FIELDS = [
    "status",
    "filled_quantity",
    "average_fill_price",
    "error_code",
    "reserved_cash",
    "reserved_quantity",
    "filled_at",
    "cancelled_at",
    "expired_at",
    "updated_at",
]
_USER_FIELDS = ["cash", "cash_reserved"]
_POSITION_FIELDS = ["quantity", "quantity_reserved", "average_cost", "realized_pnl", "updated_at"]


def _save_book(book: _Book, changed: list[Order]) -> None:
    """Write what the transaction changed, with the customers' notifications and their
    events, as one statement: the account rows locked last are released at the commit
    right after it."""
    now = timezone.now()
    # Only the rows of orders that changed; a still-resting order moved nothing.
    users = {order.user_id for order in changed}
    stocks = {order.stock_id for order in changed}
    pairs = {(order.user_id, order.stock_id) for order in changed}
    new = {id(p) for p in book.new_positions}
    positions = [p for key, p in book.positions.items() if key in pairs and id(p) not in new]
    for position in positions:
        position.updated_at = now
    for order in changed:
        order.updated_at = now
    notifications, events = order_outcome_records(
        orders=[order for order in changed if order.status in NOTIFY_STATUSES]
    )
    db.write_together(
        [
            db.insert_rows(book.new_positions),
            db.update_rows(User, [u for pk, u in book.users.items() if pk in users], _USER_FIELDS),
            db.update_rows(Position, positions, _POSITION_FIELDS),
            db.update_rows(
                Stock, [st for pk, st in book.stocks.items() if pk in stocks], ["amount"]
            ),
            db.update_rows(Order, changed, _ORDER_FIELDS),
            db.insert_rows(book.fills),
            db.insert_rows(notifications),
            db.insert_rows(events),
        ]
    )
    publish_on_commit(events)


@transaction.atomic
def execute_orders(*, order_ids: list[UUID]) -> list[Order]:
    """Fill, rest or cancel live orders at their stocks' current prices, in one transaction.

    Idempotent by state: terminal orders are skipped, a resting order that is still not
    marketable is left as it is, a fill never exceeds what remains. Locks Users,
    Positions, Stocks, Orders (see _lock_book). Returns the orders that changed.
    """
    book, orders = _lock_book(order_ids)
    changed = [order for order in orders if _execute(order, book)]
    if changed:
        _save_book(book, changed)
    return changed


def execute_order(*, order_id: UUID) -> Order | None:
    """execute_orders for one order; returns it if it changed."""
    changed = execute_orders(order_ids=[order_id])
    return changed[0] if changed else None


def execute_orders_isolated(order_ids: list[UUID]) -> int:
    """Execute a batch; if it fails, execute its orders one by one so that one bad order
    does not hold back the others. Returns how many orders changed."""
    try:
        return len(execute_orders(order_ids=order_ids))
    except TRANSIENT_DB_ERRORS:
        raise  # a deadlock or a lost connection: the task retries the whole batch
    except Exception:
        if len(order_ids) == 1:
            raise
        logger.exception("batch of %d orders failed; executing them one by one", len(order_ids))
    executed = 0
    for order_id in order_ids:
        try:
            executed += int(execute_order(order_id=order_id) is not None)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:  # this order is broken; the stuck-order sweep will retry it
            logger.exception("executing order %s failed", order_id)
    return executed


# --- cancel and expiry ----------------------------------------------------------------


def _close_order(*, order_id: UUID, status: str, actor: User | None = None) -> Order:
    """Cancel or expire a live order and release its reservation.

    Locks Order, User, Position (no Stock: nothing trades). Raises OrderNotFound (2011)
    when `actor` may not see the order, 2012-2014 when it is already terminal.
    """
    order = (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("stock")
        .filter(pk=order_id)
        .first()
    )
    if order is None or (actor is not None and not actor.is_staff and order.user_id != actor.pk):
        raise OrderNotFound("Order not found.", order_id=str(order_id))
    check_cancellable(order)
    user = User.objects.select_for_update(no_key=True).get(pk=order.user_id)
    position = None
    if order.side == OrderSide.SELL:
        position = Position.objects.select_for_update(no_key=True).get(
            user=user, stock_id=order.stock_id
        )
    positions = {(user.pk, position.stock_id): position} if position else {}
    book = _Book(users={user.pk: user}, positions=positions, stocks={})
    _finish(order, status, user, position)
    _save_book(book, [order])
    return order


@transaction.atomic
def cancel_order(*, actor: User, order_id: UUID) -> Order:
    """Cancel a live order of `actor`'s (any order, for staff); see _close_order."""
    return _close_order(order_id=order_id, status=OrderStatus.CANCELLED, actor=actor)


@transaction.atomic
def expire_order(*, order_id: UUID) -> Order | None:
    """Expire a live day order; an order that finished meanwhile is left alone."""
    try:
        return _close_order(order_id=order_id, status=OrderStatus.EXPIRED)
    except (OrderAlreadyCompleted, OrderFailed, OrderAlreadyCancelled):
        return None


def expire_day_orders() -> int:
    """Expire every live `day` order (run at MARKET_CLOSE_TIME); returns how many."""
    live = [OrderStatus.ACCEPTED, *RESTING_STATUSES]
    ids = Order.objects.filter(time_in_force=TimeInForce.DAY, status__in=live).values_list(
        "pk", flat=True
    )
    return sum(1 for order_id in list(ids) if expire_order(order_id=order_id))


def redispatch_stuck_orders() -> int:
    """Hand orders still `accepted` after ORDER_STUCK_AFTER_SECONDS to execution again.

    Covers an event lost between outbox and worker; execution is idempotent, so a
    slow first delivery that arrives too is harmless. Returns how many.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_STUCK_AFTER_SECONDS)
    ids = list(
        Order.objects.filter(status=OrderStatus.ACCEPTED, accepted_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    size = settings.KAFKA_BRIDGE_TASK_BATCH_SIZE
    for start in range(0, len(ids), size):  # batches, as the bridge would send them
        execute_orders_task.delay([str(order_id) for order_id in ids[start : start + size]])
    if ids:
        logger.warning("re-dispatched %d orders stuck in accepted", len(ids))
    return len(ids)


def match_resting_orders(*, symbol: str) -> int:
    """Execute the resting orders of `symbol` that the current price made marketable.

    Oldest first (time priority), in batches of MATCH_BATCH per transaction; a failing
    batch is retried order by order. Returns how many orders changed.
    """
    stock = get_stock(symbol=symbol)
    marketable = Q(side=OrderSide.BUY, limit_price__gte=stock.price) | Q(
        side=OrderSide.SELL, limit_price__lte=stock.price
    )
    ids = list(
        Order.objects.filter(stock=stock, status__in=RESTING_STATUSES)
        .filter(marketable)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    batches = (ids[start : start + MATCH_BATCH] for start in range(0, len(ids), MATCH_BATCH))
    return sum(execute_orders_isolated(batch) for batch in batches)
