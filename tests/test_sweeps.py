"""Lost work is redone, poison ends: beat's sweeps and the execution failure budget."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from django.utils import timezone
from prometheus_client import REGISTRY

from brokerage.api.errors import ErrorCode
from brokerage.celery import app as celery_app
from brokerage.events.models import OutboxEvent
from brokerage.events.outbox import relay_outbox
from notifications.models import Notification, NotificationStatus
from notifications.services import redeliver_stalled_notifications
from notifications.tasks import record_missed_outcomes
from notifications.tasks import (
    redeliver_stalled_notifications as redeliver_stalled_notifications_task,
)
from orders import execution, services
from orders.models import Order, OrderStatus
from orders.reconciliation import reconcile
from stocks.models import Stock
from stocks.services import create_stock
from users.services import create_user

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def ada(settings):  # type: ignore[no-untyped-def]
    settings.DEFAULT_USER_STOCK_AMOUNT = D("10")
    create_stock(symbol="ACME", name="Acme", price=D("50"), amount=D("100"))
    return create_user(email="ada@example.com", name="Ada", surname="L", balance=D("1000"))


def accepted(user, **order: str) -> Order:  # type: ignore[no-untyped-def]
    """Accepted, its event never delivered (no on-commit hooks run here)."""
    body = {"symbol": "ACME", "side": "buy", "quantity": D("1"), **order}
    return services.submit_order(user=user, **body)


@pytest.fixture
def poison(monkeypatch):  # type: ignore[no-untyped-def]
    """Orders whose execution raises (a bug, not a lost connection)."""
    bad: set[object] = set()
    real = execution._execute

    def execute(order, book):  # type: ignore[no-untyped-def]
        if order.pk in bad:
            raise RuntimeError("poison")
        return real(order, book)

    monkeypatch.setattr(execution, "_execute", execute)
    return bad


def test_a_poison_order_is_rejected_after_its_attempts_and_releases_its_cash(
    ada, poison, settings, django_capture_on_commit_callbacks
):
    settings.ORDER_MAX_EXECUTION_ATTEMPTS = 3
    order = accepted(ada, quantity=D("2"))
    poison.add(order.pk)

    for attempt in (1, 2):
        assert execution.execute_orders_isolated(order_ids=[order.pk]) == 0
        order.refresh_from_db()
        assert (order.status, order.failed_attempts) == (OrderStatus.ACCEPTED, attempt)
    with django_capture_on_commit_callbacks(execute=True):
        execution.execute_orders_isolated(order_ids=[order.pk])

    order.refresh_from_db()
    ada.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert order.error_code == ErrorCode.EXECUTION_FAILED
    assert (order.reserved_cash, ada.cash_reserved, ada.cash) == (0, 0, D("1000"))
    notification = Notification.objects.get(order=order)  # the customer hears of it
    assert "Order rejected" in notification.text
    assert reconcile() == []


def test_one_poison_order_does_not_hold_back_its_batch(ada, poison):
    good, bad = accepted(ada), accepted(ada)
    poison.add(bad.pk)

    assert execution.execute_orders_isolated(order_ids=[good.pk, bad.pk]) == 1

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == OrderStatus.FILLED
    assert (bad.status, bad.failed_attempts) == (OrderStatus.ACCEPTED, 1)


def test_a_lost_connection_is_not_counted_against_the_order(ada, monkeypatch):
    order = accepted(ada)

    def lost(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(execution, "execute_orders", lost)
    with pytest.raises(OperationalError):
        execution.execute_orders_isolated(order_ids=[order.pk])
    order.refresh_from_db()
    assert order.failed_attempts == 0  # the task retries it; nothing is wrong with it


def test_the_stuck_sweep_pages_through_every_stuck_order_oldest_first(ada, monkeypatch):
    monkeypatch.setattr(services, "STUCK_SWEEP_LIMIT", 2)
    orders = [accepted(ada) for _ in range(5)]
    long_ago = timezone.now() - timedelta(minutes=5)
    for age, order in enumerate(orders):
        submitted = long_ago - timedelta(seconds=age)
        Order.objects.filter(pk=order.pk).update(accepted_at=submitted, created_at=submitted)
    fresh = accepted(ada)

    fills_before = REGISTRY.get_sample_value("brokerage_submit_to_fill_seconds_count") or 0

    assert services.redispatch_stuck_orders() == 5

    assert set(Order.objects.filter(status=OrderStatus.FILLED)) == set(orders)
    fresh.refresh_from_db()
    assert fresh.status == OrderStatus.ACCEPTED
    assert REGISTRY.get_sample_value("brokerage_orders_stuck") == 5  # for the alert
    filled = REGISTRY.get_sample_value("brokerage_submit_to_fill_seconds_count")
    assert filled == fills_before + 5
    slow = REGISTRY.get_sample_value("brokerage_submit_to_fill_seconds_bucket", {"le": "60.0"})
    assert slow is not None
    assert filled - slow >= 5  # submitted 5 minutes before their fills


def test_the_relay_measures_the_outbox_backlog(ada):
    OutboxEvent.objects.all().delete()
    for age in (30, 200):
        OutboxEvent.objects.create(
            topic="orders",
            event_type="order.accepted",
            envelope={},
            created_at=timezone.now() - timedelta(seconds=age),
        )

    relay_outbox(limit=0)  # measures, publishes nothing

    assert REGISTRY.get_sample_value("brokerage_outbox_unpublished") == 2
    oldest = REGISTRY.get_sample_value("brokerage_outbox_oldest_unpublished_seconds")
    assert 200 <= oldest < 260


def test_resting_orders_made_marketable_without_an_event_are_matched(ada):
    order = accepted(ada, type="limit", limit_price=D("40"))
    execution.execute_order(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    Stock.objects.filter(symbol="ACME").update(price=D("39"))  # its event was lost

    assert services.rematch_resting_orders() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED


def test_a_resting_buy_fills_when_a_customer_sells_inventory_back(
    ada, django_capture_on_commit_callbacks
):
    Stock.objects.filter(symbol="ACME").update(amount=0)  # sold out (raw: journal aside)
    buy = accepted(ada, type="limit", limit_price=D("50"), quantity=D("3"))
    execution.execute_order(order_id=buy.pk)
    buy.refresh_from_db()
    assert buy.status == OrderStatus.OPEN  # waits for inventory
    bob = create_user(email="bob@example.com", name="Bob", surname="B")
    sell = accepted(bob, side="sell", quantity=D("5"))

    with django_capture_on_commit_callbacks(execute=True):
        execution.execute_order(order_id=sell.pk)  # the house now holds 5

    buy.refresh_from_db()
    assert buy.status == OrderStatus.FILLED


def test_stalled_pending_notifications_are_queued_again(ada, settings):
    settings.NOTIFICATION_STALL_SECONDS = 60
    old = Notification.objects.create(user=ada, event_type="order.filled", text="<b>x</b>")
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    being_sent = Notification.objects.create(user=ada, event_type="order.filled", text="y")
    Notification.objects.filter(pk=being_sent.pk).update(
        created_at=timezone.now() - timedelta(minutes=5),
        claimed_until=timezone.now() + timedelta(minutes=1),
    )
    Notification.objects.create(user=ada, event_type="order.filled", text="recent")

    assert redeliver_stalled_notifications() == 1  # run eagerly: delivered now

    old.refresh_from_db()
    assert old.status == NotificationStatus.SKIPPED  # no bot token in tests: an outcome


def lost_outcome(user) -> Order:  # type: ignore[no-untyped-def]
    """A filled order whose outcome event the broker acknowledged 5 minutes ago, then lost."""
    order = accepted(user)
    execution.execute_orders(order_ids=[order.pk])
    OutboxEvent.objects.filter(
        event_type="order.filled", envelope__payload__order_id=str(order.pk)
    ).update(published_at=timezone.now() - timedelta(minutes=5))
    return order


def test_the_notifier_sweeps_wait_while_its_queue_has_a_backlog(ada, settings):
    settings.NOTIFICATION_STALL_SECONDS = 60
    order = lost_outcome(ada)
    celery_app.send_task("notifications.send_notification", args=["x"], queue="notifications")
    try:
        assert record_missed_outcomes() == 0  # queued work is slow, not lost
        assert redeliver_stalled_notifications_task() == 0
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge("notifications")

    assert record_missed_outcomes() == 1
    assert Notification.objects.filter(order=order).count() == 1


def test_outcome_events_the_notifier_never_saw_are_recorded_once(ada, settings):
    settings.NOTIFICATION_STALL_SECONDS = 60
    lost, seen, recent = (accepted(ada) for _ in range(3))
    execution.execute_orders(order_ids=[lost.pk, seen.pk, recent.pk])
    outcomes = OutboxEvent.objects.filter(event_type="order.filled")
    assert outcomes.count() == 3
    # All three published (the broker acknowledged them); then it lost them.
    outcomes.update(published_at=timezone.now() - timedelta(minutes=5))
    recent_event = outcomes.get(envelope__payload__order_id=str(recent.pk))
    OutboxEvent.objects.filter(pk=recent_event.pk).update(published_at=timezone.now())
    seen_event = outcomes.get(envelope__payload__order_id=str(seen.pk))
    Notification.objects.create(
        user=ada, order=seen, source_event_id=seen_event.pk, event_type="order.filled", text="x"
    )

    assert record_missed_outcomes() == 1  # run eagerly: recorded and delivered now
    assert record_missed_outcomes() == 0

    recorded = Notification.objects.get(order=lost)
    assert recorded.event_type == "order.filled"
    assert recorded.status == NotificationStatus.SKIPPED  # no bot token in tests
    assert "Order filled" in recorded.text
    assert not Notification.objects.filter(order=recent).exists()  # not yet missed
    assert Notification.objects.filter(order=seen).count() == 1


def test_the_last_close_is_today_once_it_has_passed(settings):
    settings.MARKET_CLOSE_TIME = "21:00"
    evening, night = (datetime(2026, 12, 1, hour, 30, tzinfo=UTC) for hour in (20, 21))

    assert services.last_market_close(evening) == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert services.last_market_close(night) == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


def test_a_missed_close_still_expires_what_it_should_and_only_that(ada):
    day = {"type": "limit", "limit_price": D("40"), "time_in_force": "day"}
    before, after = accepted(ada, **day), accepted(ada, **day)
    close = services.last_market_close()
    Order.objects.filter(pk=before.pk).update(accepted_at=close - timedelta(minutes=1))

    assert services.expire_day_orders() == 1  # beat's minute sweep, after the close

    before.refresh_from_db()
    after.refresh_from_db()
    assert (before.status, after.status) == (OrderStatus.EXPIRED, OrderStatus.ACCEPTED)


def test_a_malformed_outcome_row_does_not_stop_the_recovery_of_the_others(ada, settings):
    settings.NOTIFICATION_STALL_SECONDS = 60
    OutboxEvent.objects.create(
        topic=django_settings.KAFKA_TOPIC_ORDERS,
        event_type="order.filled",
        envelope={"event_id": "not-a-uuid", "payload": {}},
        published_at=timezone.now() - timedelta(minutes=5),
    )
    order = lost_outcome(ada)

    assert record_missed_outcomes() == 1
    assert Notification.objects.filter(order=order).count() == 1
