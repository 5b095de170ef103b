"""Events: the envelope, the transactional outbox, one Kafka producer per process, the relay.

A service calls `emit(...)` inside its transaction. The outbox row commits with the
change it describes; after commit the event is produced to Kafka, and the delivery
callback marks the row published. Rows still unpublished after
OUTBOX_RELAY_AFTER_SECONDS (Kafka was down, the process died) are produced again by
`relay_outbox`, which Celery beat runs every few seconds. Consumers are idempotent,
so the rare second copy is harmless.
"""

import atexit
import functools
import json
import logging
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from opentelemetry import propagate

from brokerage import metrics
from brokerage.models import OutboxEvent

logger = logging.getLogger(__name__)

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    version: int
    occurred_at: str
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> "Envelope":
        """Parse and check an envelope; ValueError says what is wrong with it."""
        if not raw:
            raise ValueError("empty message")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("envelope is not an object")
        missing = {"event_id", "event_type", "version", "occurred_at", "payload"} - data.keys()
        if missing:
            raise ValueError(f"envelope lacks {sorted(missing)}")
        if not isinstance(data["payload"], dict):
            raise ValueError("payload is not an object")
        try:
            version = int(data["version"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad version {data['version']!r}") from exc
        return cls(
            event_id=str(data["event_id"]),
            event_type=str(data["event_type"]),
            version=version,
            occurred_at=str(data["occurred_at"]),
            payload=data["payload"],
        )


def topics() -> list[str]:
    return [
        settings.KAFKA_TOPIC_ORDERS,
        settings.KAFKA_TOPIC_NOTIFICATIONS,
        settings.KAFKA_TOPIC_PRICES,
    ]


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


# --- writing events -------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    topic: str
    event_type: str
    key: str
    payload: dict[str, Any]


def emit(*, topic: str, event_type: str, key: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the current transaction and publish it after commit."""
    return emit_many([Event(topic, event_type, key, payload)])[0]


def emit_many(events: list[Event]) -> list[OutboxEvent]:
    """emit() for several events: one INSERT, one publish after commit."""
    rows = outbox_rows(events)
    OutboxEvent.objects.bulk_create(rows)
    publish_on_commit(rows)
    return rows


def outbox_rows(events: list[Event]) -> list[OutboxEvent]:
    """The outbox rows of `events`, unsaved: for a service that inserts them with its own
    change (then publish_on_commit)."""
    now = timezone.now()
    headers: dict[str, str] = {}
    propagate.inject(headers)  # W3C traceparent of the request or task that emitted them
    rows = []
    for event in events:
        event_id = uuid.uuid4()
        envelope = Envelope(
            event_id=str(event_id),
            event_type=event.event_type,
            version=ENVELOPE_VERSION,
            occurred_at=now.isoformat(),
            payload=event.payload,
        )
        rows.append(
            OutboxEvent(
                event_id=event_id,
                topic=event.topic,
                key=event.key,
                event_type=event.event_type,
                envelope=asdict(envelope),
                headers=headers,
                created_at=now,
            )
        )
    return rows


def publish_on_commit(rows: list[OutboxEvent]) -> None:
    transaction.on_commit(lambda: publish(rows))


def publish(events: list[OutboxEvent], *, wait: float = 0) -> None:
    """Hand events to the transport; rows are marked published once delivery is confirmed.

    `wait` > 0 blocks up to that many seconds for the confirmations (the relay does);
    the request path doesn't wait: the producer's delivery thread marks the rows.
    """
    if settings.EVENT_TRANSPORT == "inline":
        _publish_inline(events)
        return
    producer = get_producer()
    for event in events:
        try:
            _produce(producer, event)
        except (BufferError, KafkaException) as exc:
            metrics.EVENTS_PUBLISH_FAILED.labels(topic=event.topic).inc()
            logger.warning("event %s not handed to Kafka (%s); the relay retries", event.pk, exc)
    if wait:
        producer.flush(wait)
        mark_published(_drain_delivered())


def _publish_inline(events: list[OutboxEvent]) -> None:
    """Test transport for pure service tests: the bridge's routing, minus Kafka."""
    from brokerage.bridge import dispatch

    for event in events:
        dispatch(event.topic, Envelope(**event.envelope), headers=event.headers)
    mark_published([str(event.pk) for event in events])


def mark_published(event_ids: list[str]) -> None:
    if event_ids:
        OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True).update(
            published_at=timezone.now()
        )


def relay_outbox(*, limit: int = 1000) -> int:
    """Produce again the events whose delivery was never confirmed; returns how many.

    Rows are claimed with SKIP LOCKED and their attempts counted; two relay runs that
    overlap may still send a row twice, which the idempotent consumers absorb.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_AFTER_SECONDS)
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, created_at__lt=cutoff)
            .order_by("created_at")[:limit]
        )
        if rows:
            OutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).update(
                attempts=F("attempts") + 1
            )
    if rows:
        logger.info("relaying %d unpublished events", len(rows))
        publish(rows, wait=settings.KAFKA_FLUSH_TIMEOUT_SECONDS)
    return len(rows)


# --- the producer ---------------------------------------------------------------------

_producer: Producer | None = None
_producer_stop: threading.Event = threading.Event()
_producer_lock = threading.Lock()
_delivered_lock = threading.Lock()
_delivered: list[str] = []


def kafka_config() -> dict[str, Any]:
    return {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS}


def get_producer() -> Producer:
    """The process's one producer, created on first use (after any fork)."""
    global _producer, _producer_stop
    with _producer_lock:
        if _producer is None:
            _producer = Producer(
                {
                    **kafka_config(),
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": settings.KAFKA_LINGER_MS,
                    "message.timeout.ms": settings.KAFKA_MESSAGE_TIMEOUT_MS,
                    "client.id": "brokerage-producer",
                }
            )
            _producer_stop = threading.Event()
            threading.Thread(
                target=_serve_deliveries,
                args=(_producer, _producer_stop),
                name="kafka-deliveries",
                daemon=True,
            ).start()
        return _producer


def _serve_deliveries(producer: Producer, stop: threading.Event) -> None:
    """Serve delivery callbacks and mark confirmed rows published, off the request path."""
    while not stop.is_set():
        producer.poll(0.1)
        try:
            close_old_connections()  # this thread has no request cycle to do it
            mark_published(_drain_delivered())
        except Exception:  # the relay resends what stays unmarked; keep serving
            logger.exception("could not mark delivered events published")
    connection.close()


def close_producer(timeout: float = 0) -> None:
    """Flush (up to `timeout`) and drop the producer; the next use makes a new one."""
    global _producer
    with _producer_lock:
        producer, _producer = _producer, None
        _producer_stop.set()
    if producer is not None and timeout:
        producer.flush(timeout)
        mark_published(_drain_delivered())


# What was handed over but not yet confirmed gets its chance before the process exits.
atexit.register(lambda: close_producer(settings.KAFKA_FLUSH_TIMEOUT_SECONDS))


def _produce(producer: Producer, event: OutboxEvent) -> None:
    envelope = Envelope(**event.envelope)
    producer.produce(
        event.topic,
        key=event.key.encode() if event.key else None,
        value=envelope.to_bytes(),
        headers=[(name, value.encode()) for name, value in event.headers.items()]
        + [("event_type", event.event_type.encode())],
        on_delivery=functools.partial(_on_delivery, str(event.pk)),
    )


def _on_delivery(event_id: str, err: KafkaError | None, msg: Message) -> None:
    if err is not None:
        metrics.EVENTS_PUBLISH_FAILED.labels(topic=msg.topic()).inc()
        logger.warning("event %s not delivered to %s: %s", event_id, msg.topic(), err)
        return
    metrics.EVENTS_PUBLISHED.labels(topic=msg.topic()).inc()
    with _delivered_lock:  # callbacks run in the delivery thread and in flush() callers
        _delivered.append(event_id)


def _drain_delivered() -> list[str]:
    with _delivered_lock:
        ids = _delivered[:]
        del _delivered[:]
    return ids


def ensure_topics(*, timeout: float = 10) -> None:
    """Create the topics and their dead-letter topics if missing (idempotent)."""
    admin = AdminClient(kafka_config())
    wanted = [name for topic in topics() for name in (topic, dlq_topic(topic))]
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(name, num_partitions=settings.KAFKA_PARTITIONS, replication_factor=-1)
        for name in wanted
        if name not in existing
    ]
    if not new:
        return
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout)
            logger.info("created topic %s", name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def check_kafka(*, timeout: float = 2) -> None:
    """Raise unless a broker answers a metadata request within `timeout`."""
    get_producer().list_topics(timeout=timeout)
