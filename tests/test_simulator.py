from decimal import Decimal
from random import Random

from brokerage.events.models import OutboxEvent
from orders.models import OrderStatus
from orders.services import submit_order
from stocks.models import Stock
from stocks.services import simulate_market_step
from tests.factories import StockFactory, UserFactory


class AlwaysDown(Random):
    """The walk's worst step, every time."""

    def uniform(self, a: float, b: float) -> float:
        return a


def test_a_step_moves_prices_within_the_volatility_and_emits_price_events(
    db, django_capture_on_commit_callbacks
):
    StockFactory(symbol="AAA", price=Decimal("100.0000"))
    StockFactory(symbol="BBB", price=Decimal("0.0001"))

    with django_capture_on_commit_callbacks(execute=True):
        moved = simulate_market_step(volatility=Decimal("0.05"), rng=Random(7))

    aaa, bbb = Stock.objects.get(symbol="AAA"), Stock.objects.get(symbol="BBB")
    assert Decimal("95") <= aaa.price <= Decimal("105")
    assert aaa.price != Decimal("100")
    assert bbb.price >= Decimal("0.0001")  # never below one tick
    events = OutboxEvent.objects.filter(event_type="stock.price_changed")
    assert moved == events.count() >= 1


def test_a_simulated_move_fills_resting_orders_like_a_staff_update(
    db, django_capture_on_commit_callbacks
):
    StockFactory(symbol="AAA", price=Decimal("100.0000"))
    user = UserFactory(cash=Decimal("1000"))
    with django_capture_on_commit_callbacks(execute=True):
        order = submit_order(
            user=user,
            symbol="AAA",
            side="buy",
            type="limit",
            quantity=Decimal("1"),
            limit_price=Decimal("99.9999"),
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN

    with django_capture_on_commit_callbacks(execute=True):
        simulate_market_step(volatility=Decimal("0.01"), rng=AlwaysDown())

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.average_fill_price == Decimal("99.0000")  # 100 x (1 - 0.01)
