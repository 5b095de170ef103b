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


def test_every_status_that_notifies_has_a_route():
    routed = {event for topic, event in routes() if topic == settings.KAFKA_TOPIC_NOTIFICATIONS}
    assert routed == {f"order.{status}" for status in NOTIFY_STATUSES}
