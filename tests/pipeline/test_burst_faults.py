"""Issue-level fault test: kill the worker and the bridge in the middle of a burst of
1,000 orders; nothing may be lost, left half-done or filled twice."""

import random
from decimal import Decimal

import pytest
from django.db.models import Count

from notifications.models import Notification
from orders.models import (
    NOTIFY_STATUSES,
    RESTING_STATUSES,
    TERMINAL_STATUSES,
    Fill,
    Order,
    OrderStatus,
)
from orders.services import submit_order
from tests.factories import PositionFactory, StockFactory, UserFactory
from tests.helpers import assert_book_consistent, wait_until
from tests.pipeline.conftest import settle_outcomes

pytestmark = pytest.mark.pipeline

BURST = 1000


def test_killing_worker_and_bridge_during_a_burst_loses_and_doubles_nothing(pipeline):
    rng = random.Random(42)
    stocks = [
        StockFactory(symbol=symbol, price=Decimal("50"), amount=Decimal("1000000"))
        for symbol in ("ACME", "BETA", "GAMA")
    ]
    users = [UserFactory(cash=Decimal("1000000")) for _ in range(20)]
    for user in users:
        for stock in stocks:
            PositionFactory(user=user, stock=stock, quantity=Decimal("1000"))

    for n in range(BURST):
        side = rng.choice(["buy", "sell"])
        kind = rng.choice(["market", "market", "limit"])
        limit = None if kind == "market" else Decimal(rng.choice(["45", "50", "55"]))
        submit_order(
            user=rng.choice(users),
            symbol=rng.choice(stocks).symbol,
            side=side,
            type=kind,
            quantity=Decimal(rng.randint(1, 5)),
            limit_price=limit,
        )
        if n == BURST // 3:
            pipeline.worker.kill()  # SIGKILL: unacknowledged tasks come back
            pipeline.start_worker()
        if n == 2 * BURST // 3:
            pipeline.bridge.kill()  # SIGKILL: uncommitted offsets are consumed again
            pipeline.start_bridge()

    def drained():
        return not Order.objects.filter(status=OrderStatus.ACCEPTED).exists()

    wait_until(drained, timeout=180, what="every order of the burst to be executed")

    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses <= TERMINAL_STATUSES | RESTING_STATUSES
    assert Order.objects.count() == BURST
    # One fill per order at most: every order here fills in one go or not at all.
    most_fills = Fill.objects.values("order").annotate(n=Count("id")).order_by("-n").first()
    assert most_fills is not None
    assert most_fills["n"] == 1
    assert Order.objects.filter(status=OrderStatus.FILLED).count() > BURST // 2
    assert_book_consistent()

    # Every outcome is recorded as exactly one notification, kills notwithstanding (and the
    # notifier is idle before the test's data is cleared away).
    outcomes = Order.objects.filter(status__in=NOTIFY_STATUSES).count()
    settle_outcomes()  # a killed worker's outcome events are the relay's to resend
    per_order = Notification.objects.values("order").annotate(n=Count("id"))
    assert per_order.count() == outcomes
    assert max(row["n"] for row in per_order) == 1
