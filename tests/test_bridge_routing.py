"""The bridge's decisions that need no broker: what is poison, where events go."""

import json

import pytest
from django.conf import settings

from brokerage.events.envelope import Envelope
from brokerage.events.routing import resolve, routes
from orders.models import NOTIFY_STATUSES


def envelope(**overrides):
    data = {
        "event_id": "e1",
        "event_type": "order.accepted",
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {"order_id": "6be0095f-dd0c-445b-b4c2-6298200008cd"},
    }
    return json.dumps({**data, **overrides}).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        envelope(version=None),
        envelope(version=[1]),
        envelope(version="one"),
        envelope(payload="x"),
        json.dumps({"event_id": "e"}).encode(),
    ],
)
def test_undecodable_envelopes_are_poison_not_crashes(raw):
    with pytest.raises(ValueError):
        Envelope.from_bytes(raw)


@pytest.mark.parametrize("order_id", ["not-a-uuid", 42, None, ["x"]])
def test_an_event_with_a_bad_id_is_poison(order_id):
    event = Envelope.from_bytes(envelope(payload={"order_id": order_id}))
    with pytest.raises(ValueError, match="order_id"):
        resolve(settings.KAFKA_TOPIC_ORDERS, event)


def test_a_good_event_routes_to_its_batch_task_with_a_canonical_id():
    event = Envelope.from_bytes(envelope(payload={"order_id": "6BE0095FDD0C445BB4C26298200008CD"}))
    route, kwargs = resolve(settings.KAFKA_TOPIC_ORDERS, event)
    assert route.task == "orders.execute_order"
    assert route.queue == "orders"
    assert route.batch == ("orders.execute_orders", "order_ids")
    assert kwargs == {"order_id": "6be0095f-dd0c-445b-b4c2-6298200008cd"}


def test_every_outcome_that_notifies_is_recorded_by_the_notifications_app():
    for status in NOTIFY_STATUSES:
        route = routes()[(settings.KAFKA_TOPIC_ORDERS, f"order.{status}")]
        assert route.queue == "notifications"
        assert route.batch == ("notifications.record_order_outcomes", "outcomes")
        assert "event_id" in route.args  # the notification is unique on it


def test_a_batch_of_a_route_with_several_args_carries_each_events_kwargs():
    event = Envelope.from_bytes(
        envelope(
            event_type="order.filled",
            payload={
                "order_id": "6be0095f-dd0c-445b-b4c2-6298200008cd",
                "user_id": "7be0095f-dd0c-445b-b4c2-6298200008cd",
                "symbol": "ACME",
                "currency": "USD",
                "side": "buy",
                "type": "market",
                "quantity": "1",
                "limit_price": None,
                "filled_quantity": "1",
                "average_fill_price": "50",
                "status": "filled",
                "error_code": None,
            },
        )
    )
    event = Envelope(**{**event.__dict__, "event_id": "8be0095f-dd0c-445b-b4c2-6298200008cd"})
    route, kwargs = resolve(settings.KAFKA_TOPIC_ORDERS, event)
    assert kwargs["event_id"] == "8be0095f-dd0c-445b-b4c2-6298200008cd"
    assert route.batch_item(kwargs) == kwargs


def test_a_producer_that_failed_for_good_is_replaced(settings):
    """A broker that lost its state answers UNKNOWN_PRODUCER_ID to an idempotent
    producer; that is fatal, so the next use must get a new producer."""
    from confluent_kafka import KafkaError

    from brokerage.events import producer as producers

    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9"  # nothing is sent
    producers.close_producer()
    first = producers.get_producer()
    callback = producers._Retire()
    callback.producer = first
    callback.on_error(KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "lost", fatal=True))
    second = producers.get_producer()
    assert second is not first
    callback.on_error(KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "stale", fatal=True))
    assert producers.get_producer() is second  # a late callback of the old one: ignored
    producers.close_producer()


def test_a_producer_the_broker_fenced_is_replaced(settings):
    """A broker restarted without its state hands out producer ids again and fences the
    old holders: their deliveries fail with PRODUCER_FENCED, not a fatal error."""
    from confluent_kafka import KafkaError

    from brokerage.events import producer as producers

    class Delivered:
        def topic(self) -> str:
            return "orders"

    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9"  # nothing is sent
    producers.close_producer()
    fenced = producers.get_producer()
    producers._on_delivery(fenced, "e1", KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), Delivered())
    assert producers.get_producer() is fenced  # a bad message: not the producer's fault
    producers._on_delivery(fenced, "e2", KafkaError(KafkaError.PRODUCER_FENCED), Delivered())
    replaced = producers.get_producer()
    assert replaced is not fenced
    producers._on_delivery(replaced, "e3", KafkaError(KafkaError._MSG_TIMED_OUT), Delivered())
    assert producers.get_producer() is not replaced  # stuck: replaced too
    producers.close_producer()
