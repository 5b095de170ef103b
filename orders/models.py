"""Order and Fill, the order statuses and the one transition table."""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from brokerage.shared.fields import cash_column, price_column, quantity_column


class OrderSide(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class OrderType(models.TextChoices):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(models.TextChoices):
    GTC = "gtc", "good till cancelled"
    DAY = "day", "day"
    IOC = "ioc", "immediate or cancel"
    FOK = "fok", "fill or kill"


class OrderStatus(models.TextChoices):
    ACCEPTED = "accepted"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


# Every status change goes through this table (transition, below).
TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.ACCEPTED: {
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
    },
    OrderStatus.OPEN: {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
    },
    OrderStatus.PARTIALLY_FILLED: {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
    },
}
TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)
RESTING_STATUSES = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})
# Customers hear about these; acceptance and resting as `open` stay quiet.
NOTIFY_STATUSES = TERMINAL_STATUSES | {OrderStatus.PARTIALLY_FILLED}


def outcome_event_type(status: str) -> str:
    """The event an order emits on reaching `status` (one of NOTIFY_STATUSES)."""
    return f"order.{status}"


OUTCOME_EVENT_TYPES = frozenset(outcome_event_type(status) for status in NOTIFY_STATUSES)


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="orders")
    stock = models.ForeignKey("stocks.Stock", on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    type = models.CharField(max_length=6, choices=OrderType.choices, default=OrderType.MARKET)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC
    )
    quantity = quantity_column()
    limit_price = price_column(null=True, blank=True)
    filled_quantity = quantity_column(default=Decimal("0"))
    average_fill_price = price_column(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACCEPTED
    )
    error_code = models.PositiveIntegerField(null=True, blank=True)
    # Executions of this order that failed; at ORDER_MAX_EXECUTION_ATTEMPTS it is rejected.
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)
    reserved_cash = cash_column(default=Decimal("0"))
    reserved_quantity = quantity_column(default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_newest"),
            models.Index(fields=["-created_at", "-id"], name="order_newest"),
            # Matching after a price change and day expiry scan resting orders only.
            models.Index(
                fields=["stock", "side", "limit_price"],
                name="order_resting_by_stock",
                condition=Q(status__in=["open", "partially_filled"]),
            ),
            models.Index(
                fields=["status", "accepted_at"],
                name="order_accepted_age",
                condition=Q(status="accepted"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=Q(client_order_id__isnull=False),
                name="order_client_order_id_unique",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0, filled_quantity__lte=F("quantity")),
                name="order_filled_lte_quantity",
            ),
            models.CheckConstraint(
                # isnull=False spelled out: NULL > 0 is NULL, which a CHECK lets pass.
                condition=Q(type="limit", limit_price__isnull=False, limit_price__gt=0)
                | Q(type="market", limit_price__isnull=True),
                name="order_limit_price_iff_limit",
            ),
            models.CheckConstraint(
                condition=Q(reserved_cash__gte=0, reserved_quantity__gte=0),
                name="order_reservations_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            # A buy holds cash, a sell holds shares, never the other.
            models.CheckConstraint(
                condition=Q(side="buy", reserved_quantity=0) | Q(side="sell", reserved_cash=0),
                name="order_reservation_matches_side",
            ),
            # A sell reserves its unfilled shares, and each fill consumes its part.
            models.CheckConstraint(
                condition=Q(reserved_quantity__lte=F("quantity") - F("filled_quantity")),
                name="order_reserved_quantity_lte_remaining",
            ),
            # Finishing releases the whole reservation (execution.finish).
            models.CheckConstraint(
                condition=~Q(status__in=sorted(TERMINAL_STATUSES))
                | Q(reserved_cash=0, reserved_quantity=0),
                name="order_terminal_holds_no_reservation",
            ),
            # An average exists exactly when something filled; isnull=False as above.
            models.CheckConstraint(
                condition=Q(filled_quantity=0, average_fill_price__isnull=True)
                | Q(
                    filled_quantity__gt=0,
                    average_fill_price__isnull=False,
                    average_fill_price__gt=0,
                ),
                name="order_average_fill_price_iff_filled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.stock_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


class Fill(models.Model):
    """One execution against the house; `amount` is the cash that moved, rounded once."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    quantity = quantity_column()
    price = price_column()
    amount = cash_column()
    executed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("executed_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_gt_0"),
            # Not > 0: a tiny fill's cash rounds to 0.0000 (money.cash_amount).
            models.CheckConstraint(condition=Q(amount__gte=0), name="fill_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} @ {self.price}"


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
