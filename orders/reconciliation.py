"""Reconciliation: every balance is proved by the journal and the open orders.

- an account's cash = the sum of its cash entries;
- its reserved cash = what its live buy orders reserve;
- a position's shares = the sum of its share entries; its reserved shares = what its
  live sell orders reserve;
- a stock's house inventory + every customer's shares = the shares ever created (the
  house's inventory entries and the customers' starter shares; fills only move shares).

Each check is one aggregate query; a difference names the row and both figures.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat

from brokerage import metrics
from brokerage.ledger.models import EntryKind, LedgerEntry
from orders.models import TERMINAL_STATUSES, Order, OrderSide
from stocks.models import Stock
from users.models import Position, User

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=30, decimal_places=6))


@dataclass(frozen=True)
class Difference:
    check: str
    subject: str
    recorded: Decimal
    proved: Decimal

    def __str__(self) -> str:
        gap = self.recorded - self.proved
        return (
            f"{self.check} {self.subject}: recorded {self.recorded}, proved {self.proved} ({gap:+})"
        )


def _total(qs: QuerySet, column: str) -> Coalesce:
    return Coalesce(Subquery(qs.annotate(total=Sum(column)).values("total")[:1]), ZERO)


def _entries(**filters: object) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(**filters).order_by().values(*filters)


def _live(side: str, **filters: object) -> QuerySet[Order]:
    return (
        Order.objects.filter(side=side, **filters)
        .exclude(status__in=TERMINAL_STATUSES)
        .order_by()
        .values(*filters)
    )


def _differences(check: str, qs: QuerySet, recorded: str, subject: str) -> list[Difference]:
    return [
        Difference(check, str(row[subject]), row[recorded], row["proved"])
        for row in qs.exclude(**{recorded: F("proved")}).values(subject, recorded, "proved")
    ]


def reconcile() -> list[Difference]:
    """Every difference between the balances and what proves them; [] when they agree.

    All checks read one snapshot (repeatable read), so a fill committing meanwhile never
    shows as a difference; whole-table scans, so exempt from DB_STATEMENT_TIMEOUT_MS.
    Inside a caller's transaction (tests), that transaction's snapshot rules."""
    if connection.in_atomic_block:
        return _reconcile()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SET LOCAL statement_timeout = 0")
        return _reconcile()


def _reconcile() -> list[Difference]:
    users = User.objects.order_by("email")
    cash = users.annotate(proved=_total(_entries(user_id=OuterRef("pk"), stock_id=None), "amount"))
    reserved = users.annotate(
        proved=_total(_live(OrderSide.BUY, user_id=OuterRef("pk")), "reserved_cash")
    )
    positions = Position.objects.order_by("pk").annotate(
        subject=Concat(F("user__email"), Value(" "), F("stock__symbol"))
    )
    shares = positions.annotate(
        proved=_total(
            _entries(user_id=OuterRef("user_id"), stock_id=OuterRef("stock_id")), "amount"
        )
    )
    held = positions.annotate(
        proved=_total(
            _live(OrderSide.SELL, user_id=OuterRef("user_id"), stock_id=OuterRef("stock_id")),
            "reserved_quantity",
        )
    )
    created = LedgerEntry.objects.filter(
        Q(user__isnull=True) | Q(kind=EntryKind.STARTER_SHARES) | Q(kind=EntryKind.OPENING),
        stock_id=OuterRef("pk"),
    )
    customers = Position.objects.filter(stock_id=OuterRef("pk")).order_by().values("stock_id")
    stocks = Stock.objects.order_by("symbol").annotate(
        recorded=F("amount") + _total(customers, "quantity"),
        proved=_total(created.order_by().values("stock_id"), "amount"),
    )
    found = [
        *_differences("cash", cash, "cash", "email"),
        *_differences("reserved cash", reserved, "cash_reserved", "email"),
        *_differences("shares of position", shares, "quantity", "subject"),
        *_differences("reserved shares of position", held, "quantity_reserved", "subject"),
        *_differences("shares of stock", stocks, "recorded", "symbol"),
    ]
    metrics.RECONCILE_DIFFERENCES.set(len(found))
    return found
