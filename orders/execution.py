"""Order execution: lock the rows an order batch touches, fill, rest or cancel each order
against the house at its stock's price (orders.engine.decide), write the batch at once.

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
from decimal import Decimal
from uuid import UUID

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from brokerage import metrics
from brokerage.api.errors import ErrorCode
from brokerage.celery import enqueue
from brokerage.events.models import OutboxEvent
from brokerage.events.outbox import Event, outbox_rows, publish_on_commit
from brokerage.ledger import journal
from brokerage.ledger.models import EntryKind, LedgerEntry
from brokerage.shared import db, money
from orders.engine import decide
from orders.models import (
    NOTIFY_STATUSES,
    RESTING_STATUSES,
    TERMINAL_STATUSES,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    outcome_event_type,
    transition,
)
from stocks.models import Stock
from stocks.selectors import get_stock
from users.models import Position, User

logger = logging.getLogger(__name__)

MATCH_BATCH = 200
# A lost connection or a deadlock: the task retries the whole batch. A soft time limit
# ends the task as it is (rolled back), not order by order.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, SoftTimeLimitExceeded)


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
class Book:
    """The rows one execution transaction holds locked, changed in memory, saved once."""

    users: dict[UUID, User]
    positions: dict[tuple[UUID, int], Position]
    stocks: dict[int, Stock]
    new_positions: list[Position] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    def journal_fill(
        self, order: Order, quantity: Decimal, amount: Decimal, position: Position
    ) -> None:
        """The fill's cash and shares entries, with the balances it left."""
        sign = -1 if order.side == OrderSide.BUY else 1
        self.entries += [
            journal.entry(
                user_id=order.user_id,
                kind=EntryKind.FILL,
                amount=sign * amount,
                balance_after=order.user.cash,
                order_id=order.pk,
            ),
            journal.entry(
                user_id=order.user_id,
                stock_id=order.stock_id,
                kind=EntryKind.FILL,
                amount=-sign * quantity,
                balance_after=position.quantity,
                order_id=order.pk,
            ),
        ]

    def position(self, user: User, stock: Stock) -> Position:
        key = (user.pk, stock.pk)
        if key not in self.positions:  # a first buy: created under the user's lock
            self.positions[key] = Position(user=user, stock=stock)
            self.new_positions.append(self.positions[key])
        return self.positions[key]


def lock_book(order_ids: list[UUID]) -> tuple[Book, list[Order]]:
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
    book = Book(
        users={user.pk: user for user in users.order_by("pk")},
        positions={(p.user_id, p.stock_id): p for p in positions},
        stocks=book_stocks,
    )
    orders.sort(key=lambda order: order.created_at)
    for order in orders:  # share the locked instances
        order.user = book.users[order.user_id]
        order.stock = book.stocks[order.stock_id]
    return book, orders


def _execute(order: Order, book: Book) -> bool:
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
        if order.side == OrderSide.BUY:
            amount = money.buy_cost(quantity * fill_price)
            if order.type == OrderType.MARKET and amount > order.reserved_cash:
                # The price moved past the collar since submission.
                finish(order, OrderStatus.REJECTED, user, position, ErrorCode.INSUFFICIENT_CASH)
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
            amount = money.sell_proceeds(quantity * fill_price)
            _apply_sell_fill(order, user, position, quantity, amount)
            stock.amount += quantity
        previously = order.filled_quantity
        order.filled_quantity += quantity
        order.average_fill_price = money.price(
            (previously * (order.average_fill_price or 0) + quantity * fill_price)
            / order.filled_quantity
        )
        book.fills.append(Fill(order=order, quantity=quantity, price=fill_price, amount=amount))
        book.journal_fill(order, quantity, amount, position)
        metrics.FILLS.labels(side=order.side).inc()
        metrics.SUBMIT_TO_FILL.observe((timezone.now() - order.created_at).total_seconds())
    if order.filled_quantity == order.quantity:
        finish(order, OrderStatus.FILLED, user, position)
    elif decision.rests:
        status = OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.OPEN
        transition(order, status)
    else:
        finish(order, OrderStatus.CANCELLED, user, position, decision.cancel_reason)
    return True


def finish(
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
    "failed_attempts",
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


def save_book(book: Book, changed: list[Order]) -> None:
    """Write what the transaction changed, with the `order.<outcome>` events of the orders
    that reached an outcome, as one statement: the account rows locked last are released
    at the commit right after it."""
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
    events = outcome_events([order for order in changed if order.status in NOTIFY_STATUSES])
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
            db.insert_rows(book.entries),
            db.insert_rows(events),
        ]
    )
    publish_on_commit(events)


def outcome_events(orders: list[Order]) -> list[OutboxEvent]:
    """The `order.<status>` events of orders that reached an outcome, unsaved, carrying
    what a message about it needs (the notifications app follows them). Each order's
    `stock` must be loaded."""
    return outbox_rows(
        [
            Event(
                topic=settings.KAFKA_TOPIC_ORDERS,
                event_type=outcome_event_type(order.status),
                key=order.stock.symbol,
                payload={
                    "order_id": str(order.pk),
                    "user_id": str(order.user_id),
                    "symbol": order.stock.symbol,
                    "currency": order.stock.currency,
                    "side": order.side,
                    "type": order.type,
                    "quantity": str(order.quantity),
                    "limit_price": _text(order.limit_price),
                    "filled_quantity": str(order.filled_quantity),
                    "average_fill_price": _text(order.average_fill_price),
                    "status": order.status,
                    "error_code": order.error_code,
                },
            )
            for order in orders
        ]
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@transaction.atomic
def execute_orders(*, order_ids: list[UUID]) -> list[Order]:
    """Fill, rest or cancel live orders at their stocks' current prices, in one transaction.

    Idempotent by state: terminal orders are skipped, a resting order that is still not
    marketable is left as it is, a fill never exceeds what remains. Locks Users,
    Positions, Stocks, Orders (see lock_book). Returns the orders that changed.
    """
    book, orders = lock_book(order_ids)
    changed = [order for order in orders if _execute(order, book)]
    if changed:
        save_book(book, changed)
        rematch_after_sells(book, changed)
    return changed


def rematch_after_sells(book: Book, changed: list[Order]) -> None:
    """Shares customers sold are house inventory again: resting buys of the stock that
    waited for inventory may fill now, so match them after this commit."""
    sold = {fill.order.stock for fill in book.fills if fill.order.side == OrderSide.SELL}
    for stock in sold:
        waiting = Order.objects.filter(
            stock=stock,
            side=OrderSide.BUY,
            status__in=RESTING_STATUSES,
            limit_price__gte=stock.price,
        ).exclude(pk__in=[order.pk for order in changed])
        if waiting.exists():
            rematch = functools.partial(enqueue, "orders.match_resting_orders", stock.symbol)
            transaction.on_commit(rematch, robust=True)


def execute_order(*, order_id: UUID) -> Order | None:
    """execute_orders for one order; returns it if it changed."""
    changed = execute_orders(order_ids=[order_id])
    return changed[0] if changed else None


def execute_orders_isolated(*, order_ids: list[UUID]) -> int:
    """Execute a batch; if it fails, execute its orders one by one so that one bad order
    does not hold back the others. An order whose execution fails stays as it was and
    the failure is counted (record_failed_execution). Returns how many orders changed."""
    if len(order_ids) > 1:
        try:
            return len(execute_orders(order_ids=order_ids))
        except TRANSIENT_DB_ERRORS:
            raise  # a deadlock or a lost connection: the task retries the whole batch
        except Exception:
            logger.exception("batch of %d orders failed; executing them one by one", len(order_ids))
    executed = 0
    for order_id in order_ids:
        try:
            executed += int(execute_order(order_id=order_id) is not None)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:
            logger.exception("executing order %s failed", order_id)
            record_failed_execution(order_id=order_id)
    return executed


@transaction.atomic
def record_failed_execution(*, order_id: UUID) -> None:
    """Count a failed execution of a live order; at ORDER_MAX_EXECUTION_ATTEMPTS reject
    it (2022), releasing its reservation, so a poison order ends (and its customer hears
    of it) instead of being re-sent by every sweep forever."""
    order = lock_order(order_id)
    if order is None or order.is_terminal:
        return
    order.failed_attempts += 1
    if order.failed_attempts < settings.ORDER_MAX_EXECUTION_ATTEMPTS:
        order.save(update_fields=["failed_attempts", "updated_at"])
        return
    logger.error("order %s failed %d executions: rejected", order_id, order.failed_attempts)
    close_locked_order(order, OrderStatus.REJECTED, ErrorCode.EXECUTION_FAILED)


def lock_order(order_id: UUID) -> Order | None:
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("stock")
        .filter(pk=order_id)
        .first()
    )


def close_locked_order(order: Order, status: str, reason: ErrorCode | None = None) -> None:
    """Finish `order` (locked by the caller, live) and release its reservation.

    Locks its User and, for a sell, its Position (no Stock: nothing trades)."""
    user = User.objects.select_for_update(no_key=True).get(pk=order.user_id)
    position = None
    if order.side == OrderSide.SELL:
        position = Position.objects.select_for_update(no_key=True).get(
            user=user, stock_id=order.stock_id
        )
    positions = {(user.pk, position.stock_id): position} if position else {}
    book = Book(users={user.pk: user}, positions=positions, stocks={})
    finish(order, status, user, position, reason)
    save_book(book, [order])


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
    return sum(execute_orders_isolated(order_ids=batch) for batch in batches)
