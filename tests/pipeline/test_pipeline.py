"""End to end through the real broker, bridge and worker, and the faults that must not
lose or double anything: Kafka down at submission, duplicate delivery, a killed worker,
poison messages and a restarted bridge.
"""

import json
import sys
import uuid
from decimal import Decimal

import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from django.conf import settings
from django.db import connection

from brokerage.events.envelope import dlq_topic
from brokerage.events.models import OutboxEvent
from brokerage.events.outbox import publish, relay_outbox
from brokerage.events.producer import close_producer
from notifications.models import Notification
from orders.models import Fill, Order, OrderStatus
from tests.factories import StockFactory, UserFactory
from tests.helpers import Proc, assert_book_consistent, wait_until

pytestmark = pytest.mark.pipeline


def submit(api, **body):
    body = {"symbol": "ACME", "side": "buy", "quantity": "1", **body}
    resp = api.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 202, resp.json()
    return resp.json()["id"]


def wait_for_status(api, order_id, status, timeout=30.0):
    def reached():
        body = api.get(f"/api/v1/orders/{order_id}").json()
        return body if body["status"] == status else None

    return wait_until(reached, timeout=timeout, what=f"order {order_id} to be {status}")


def read_topic(topic, *, until, timeout=20.0):
    """Messages of `topic` from the start, until `until(messages)` holds."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **settings.KAFKA_CONSUMER_OPTIONS,
        }
    )
    consumer.subscribe([topic])
    seen = []
    try:

        def enough():
            seen.extend(m for m in consumer.consume(500, 0.2) if m.error() is None)
            return until(seen)

        wait_until(enough, timeout=timeout, what=f"messages on {topic}")
    finally:
        consumer.close()
    return seen


@pytest.fixture
def trader(pipeline, client_for):
    user = UserFactory(cash=Decimal("100000"))
    StockFactory(symbol="ACME", price=Decimal("50.0000"), amount=Decimal("100000"))
    return user, client_for(user)


def test_order_flows_from_http_through_kafka_and_bridge_to_the_worker(trader):
    user, api = trader
    order_id = submit(api, quantity="3")

    body = wait_for_status(api, order_id, "filled")

    assert body["fills"] == [
        {
            "quantity": "3.000000",
            "price": "50.0000",
            "amount": "150.0000",
            "executed_at": body["fills"][0]["executed_at"],
        }
    ]
    user.refresh_from_db()
    assert user.cash == Decimal("99850")
    accepted = read_topic(
        settings.KAFKA_TOPIC_ORDERS,
        until=lambda msgs: any(order_id in (m.value() or b"").decode() for m in msgs),
    )
    message = next(m for m in accepted if order_id in m.value().decode())
    envelope = json.loads(message.value())
    assert set(envelope) == {"event_id", "event_type", "version", "occurred_at", "payload"}
    assert envelope["event_type"] == "order.accepted"
    assert envelope["payload"]["order_id"] == order_id
    assert message.key() == b"ACME"
    headers = dict(message.headers())
    assert headers["event_type"] == b"order.accepted"
    trace_id = headers["traceparent"].decode().split("-")[1]  # W3C: version-trace-span-flags

    def outcomes(msgs):
        return [
            m
            for m in msgs
            if order_id in m.value().decode()
            and json.loads(m.value())["event_type"] != "order.accepted"
        ]

    outcome = outcomes(read_topic(settings.KAFKA_TOPIC_ORDERS, until=outcomes))
    assert [json.loads(m.value())["event_type"] for m in outcome] == ["order.filled"]
    # The worker continued the request's trace: HTTP -> Kafka -> bridge -> Celery -> Kafka.
    assert dict(outcome[0].headers())["traceparent"].decode().split("-")[1] == trace_id
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert_book_consistent()


def test_resting_limit_order_fills_after_a_staff_price_update(trader, client_for):
    _user, api = trader
    order_id = submit(api, type="limit", limit_price="45", quantity="2")
    wait_for_status(api, order_id, "open")
    staff = client_for(UserFactory(is_staff=True))

    staff.patch("/api/v1/stocks/ACME", {"price": "44.5"}, format="json")

    body = wait_for_status(api, order_id, "filled")
    assert body["average_fill_price"] == "44.5000"
    assert_book_consistent()


def test_order_accepted_while_kafka_is_down_is_relayed_later_and_filled(trader, settings):
    _user, api = trader
    real_broker = settings.KAFKA_BOOTSTRAP_SERVERS
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # nothing listens there
    settings.KAFKA_MESSAGE_TIMEOUT_MS = 500
    close_producer()

    order_id = submit(api, quantity="2")

    outbox = OutboxEvent.objects.get(
        event_type="order.accepted", envelope__payload__order_id=order_id
    )
    assert outbox.published_at is None
    assert Order.objects.get(pk=order_id).status == OrderStatus.ACCEPTED
    settings.KAFKA_BOOTSTRAP_SERVERS = real_broker
    settings.KAFKA_MESSAGE_TIMEOUT_MS = 30000
    close_producer()

    assert relay_outbox() >= 1  # what beat runs every few seconds

    wait_for_status(api, order_id, "filled")
    outbox.refresh_from_db()
    assert outbox.published_at is not None
    assert outbox.attempts == 1
    assert Fill.objects.filter(order_id=order_id).count() == 1
    assert_book_consistent()


def test_the_same_orders_event_delivered_twice_fills_once(trader):
    user, api = trader
    order_id = submit(api, quantity="2")
    wait_for_status(api, order_id, "filled")
    event = OutboxEvent.objects.get(
        event_type="order.accepted", envelope__payload__order_id=order_id
    )

    publish([event, event], wait=5)  # the same event_id twice more
    sentinel = submit(api, quantity="1")  # same key, same partition, queued behind them
    wait_for_status(api, sentinel, "filled")

    assert Fill.objects.filter(order_id=order_id).count() == 1
    assert Notification.objects.filter(order_id=order_id).count() == 1
    user.refresh_from_db()
    assert user.cash == Decimal("100000") - Decimal("150")
    assert_book_consistent()


def test_worker_killed_mid_task_redelivers_and_fills_once(trader, pipeline):
    _user, api = trader
    stock_id = Order._meta.get_field("stock").related_model.objects.get(symbol="ACME").pk
    db = connection.settings_dict
    blocker = psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=False
    )
    try:
        # Hold the stock row so execute_order blocks inside its transaction (NO KEY, like
        # the services, so the submission's foreign-key check is not blocked too).
        blocker.execute("SELECT 1 FROM stocks_stock WHERE id = %s FOR NO KEY UPDATE", [stock_id])
        order_id = submit(api, quantity="2")

        def worker_is_waiting_on_the_lock():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE %s",
                    ["%stocks_stock%FOR NO KEY UPDATE%"],
                )
                return cursor.fetchone()[0] > 0

        wait_until(worker_is_waiting_on_the_lock, what="the worker to block on the stock row")
        pipeline.worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    assert Order.objects.get(pk=order_id).status == OrderStatus.ACCEPTED

    pipeline.start_worker()

    wait_for_status(api, order_id, "filled", timeout=60)
    assert Fill.objects.filter(order_id=order_id).count() == 1
    assert_book_consistent()


def test_poison_messages_go_to_the_dlq_and_good_ones_still_flow(trader, pipeline):
    _user, api = trader
    producer = Producer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    marker = uuid.uuid4().hex
    producer.produce(settings.KAFKA_TOPIC_ORDERS, key=b"ACME", value=f"not json {marker}".encode())
    unknown = {
        "event_id": marker,
        "event_type": "order.teleported",
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {},
    }
    producer.produce(settings.KAFKA_TOPIC_ORDERS, key=b"ACME", value=json.dumps(unknown).encode())
    assert producer.flush(10) == 0

    order_id = submit(api, quantity="1")

    wait_for_status(api, order_id, "filled")
    parked = read_topic(
        dlq_topic(settings.KAFKA_TOPIC_ORDERS),
        until=lambda msgs: sum(marker in m.value().decode() for m in msgs) >= 2,
    )
    reasons = [
        dict(m.headers())["dlq_reason"].decode() for m in parked if marker in m.value().decode()
    ]
    assert any("not JSON" in reason for reason in reasons)
    assert any("no route for 'order.teleported'" in reason for reason in reasons)
    assert_book_consistent()


def test_restarted_bridge_does_not_reprocess_committed_events(trader, pipeline):
    _user, api = trader
    first = [submit(api, quantity="1") for _ in range(5)]
    for order_id in first:
        wait_for_status(api, order_id, "filled")

    assert pipeline.bridge.stop() == 0  # SIGTERM: finishes its batch, commits, exits 0
    lines_before = len(pipeline.worker.lines)
    pipeline.start_bridge()
    last = submit(api, quantity="1")
    wait_for_status(api, last, "filled")

    for order_id in [*first, last]:
        assert Fill.objects.filter(order_id=order_id).count() == 1
    executed_again = [
        line
        for line in pipeline.worker.lines[lines_before:]
        if "task=orders.execute_order" in line and any(o in line for o in first)
    ]
    assert executed_again == []
    assert_book_consistent()


def test_two_bridges_in_one_group_share_the_partitions(pipeline, client_for):
    user = UserFactory(cash=Decimal("100000"))
    symbols = [f"SY{n}" for n in range(12)]  # keys that hash over every partition
    for symbol in symbols:
        StockFactory(symbol=symbol, price=Decimal("10.0000"), amount=Decimal("1000"))
    api = client_for(user)
    first = pipeline.bridge
    second = Proc("bridge-2", [sys.executable, "manage.py", "run_bridge"], pipeline.env)
    try:
        second.wait_for_line("assigned ['")  # a non-empty share after the rebalance
        mark_first, mark_second = len(first.lines), len(second.lines)

        orders = [submit(api, symbol=symbol) for symbol in symbols]
        for order_id in orders:
            wait_for_status(api, order_id, "filled")

        def handed_over(proc, since):
            return [line for line in proc.lines[since:] if "orders-" in line and "->" in line]

        assert handed_over(first, mark_first)
        assert handed_over(second, mark_second)
        for order_id in orders:
            assert Fill.objects.filter(order_id=order_id).count() == 1
    finally:
        assert second.stop() == 0
