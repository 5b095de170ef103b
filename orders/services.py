"""Order services: submit, cancel, expire, re-dispatch stuck orders; the checks they make.

Execution (fills, matching after a price change) is orders.execution, whose lock order
(Stock -> Order -> User -> Position) cancel and expiry follow too.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from brokerage import metrics
from brokerage.api.errors import (
    IdempotencyConflict,
    InsufficientCash,
    InsufficientShares,
    InvalidInput,
    OrderAlreadyCancelled,
    OrderAlreadyCompleted,
    OrderFailed,
    OrderNotFound,
    OrderTooSmall,
)
from brokerage.celery import enqueue
from brokerage.events.outbox import Event, outbox_rows, publish_on_commit
from brokerage.shared import db, money
from orders.execution import close_locked_order, lock_order
from orders.models import (
    RESTING_STATUSES,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from stocks.quotes import get_stock_quote
from users.models import Position, User

logger = logging.getLogger(__name__)

STUCK_SWEEP_LIMIT = 1000  # orders one sweep re-dispatches; the next sweep takes the rest


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


def get_same_order(existing: Order, **request: Any) -> Order:
    """`existing` if the replayed client_order_id carries the same order, else a 409."""
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


def check_order_value(*, quantity: Decimal, price: Decimal) -> None:
    """Orders worth less than MIN_ORDER_NOTIONAL are refused (OrderTooSmall, 2021): below
    it, rounding a fill to the cash scale would be most of its value."""
    minimum = settings.MIN_ORDER_NOTIONAL
    if quantity * price < minimum:
        raise OrderTooSmall(
            f"An order must be worth at least {minimum}.",
            notional=str(quantity * price),
            minimum=str(minimum),
        )


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
    check_order_value(quantity=quantity, price=limit_price or stock.price)
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
        return get_same_order(
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


# --- cancel and expiry ----------------------------------------------------------------


def _close_order(*, order_id: UUID, status: str, actor: User | None = None) -> Order:
    """Cancel or expire a live order and release its reservation.

    Locks Order, User, Position (no Stock: nothing trades). Raises OrderNotFound (2011)
    when `actor` may not see the order, 2012-2014 when it is already terminal.
    """
    order = lock_order(order_id)
    if order is None or (actor is not None and not actor.is_staff and order.user_id != actor.pk):
        raise OrderNotFound("Order not found.", order_id=str(order_id))
    check_cancellable(order)
    close_locked_order(order, status)
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


def last_market_close(now: datetime | None = None) -> datetime:
    """The latest MARKET_CLOSE_TIME (in TIME_ZONE) at or before `now`."""
    local = timezone.localtime(now or timezone.now())
    hour, minute = (int(part) for part in settings.MARKET_CLOSE_TIME.split(":"))
    close = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return close if close <= local else close - timedelta(days=1)


def expire_day_orders(*, closed_at: datetime | None = None) -> int:
    """Expire every live `day` order accepted before the market closed at `closed_at`
    (default: the latest close). Beat runs it at the close and, should that run be
    missed, every minute after; an order placed after a close lives to the next.
    Returns how many it expired."""
    cutoff = closed_at or last_market_close()
    live = [OrderStatus.ACCEPTED, *RESTING_STATUSES]
    ids = Order.objects.filter(
        time_in_force=TimeInForce.DAY, status__in=live, accepted_at__lt=cutoff
    ).values_list("pk", flat=True)
    return sum(1 for order_id in list(ids) if expire_order(order_id=order_id))


def redispatch_stuck_orders() -> int:
    """Hand orders still `accepted` after ORDER_STUCK_AFTER_SECONDS to execution again,
    all of them, oldest first, a page of STUCK_SWEEP_LIMIT at a time.

    Covers an event lost between outbox and worker; execution is idempotent, so a
    slow first delivery that arrives too is harmless, and an order that keeps failing
    ends rejected (execution.record_failed_execution). Returns how many.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_STUCK_AFTER_SECONDS)
    stuck = Order.objects.filter(status=OrderStatus.ACCEPTED, accepted_at__lt=cutoff)
    size, total, after = settings.KAFKA_BRIDGE_TASK_BATCH_SIZE, 0, Q()
    while page := list(
        stuck.filter(after)
        .order_by("accepted_at", "pk")
        .values_list("accepted_at", "pk")[:STUCK_SWEEP_LIMIT]
    ):
        ids = [str(order_id) for _, order_id in page]
        for start in range(0, len(ids), size):  # batches, as the bridge would send them
            enqueue("orders.execute_orders", ids[start : start + size])
        total += len(ids)
        last_at, last_id = page[-1]
        after = Q(accepted_at__gt=last_at) | Q(accepted_at=last_at, pk__gt=last_id)
    metrics.ORDERS_STUCK.set(total)
    if total:
        logger.warning("re-dispatched %d orders stuck in accepted", total)
    return total


def rematch_resting_orders() -> int:
    """Match again every stock with resting orders that are marketable now: covers a
    lost `stock.price_changed` event or match task. Returns how many stocks."""
    marketable = Q(side=OrderSide.BUY, limit_price__gte=F("stock__price"), stock__amount__gt=0) | Q(
        side=OrderSide.SELL, limit_price__lte=F("stock__price")
    )
    symbols = list(
        Order.objects.filter(marketable, status__in=RESTING_STATUSES)
        .values_list("stock__symbol", flat=True)
        .distinct()
    )
    for symbol in symbols:
        enqueue("orders.match_resting_orders", symbol)
    return len(symbols)
