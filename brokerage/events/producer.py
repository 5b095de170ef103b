"""One Kafka producer per process; the rows it delivered are marked published.

Delivery callbacks are served by a thread of the producer's own, off the request path.
"""

import atexit
import functools
import logging
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from brokerage import metrics
from brokerage.events.envelope import Envelope, dlq_topic, topics
from brokerage.events.models import OutboxEvent

logger = logging.getLogger(__name__)
LIBRDKAFKA_LOGGER = logging.getLogger("librdkafka")
tracer = trace.get_tracer(__name__)

_producer: Producer | None = None
_producer_stop: threading.Event = threading.Event()
_producer_lock = threading.Lock()
_delivered_lock = threading.Lock()
_delivered: list[str] = []


def kafka_config() -> dict[str, Any]:
    # librdkafka's own lines (broker down, reconnects) go through Python logging, served
    # by the client's poll: formatted, redacted and with context like every other line,
    # not raw text on stderr in the middle of the JSON logs.
    return {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "logger": LIBRDKAFKA_LOGGER}


def get_producer() -> Producer:
    """The process's one producer, created on first use (after any fork) and again after
    a fatal error retired the last one."""
    global _producer, _producer_stop
    with _producer_lock:
        if _producer is None:
            retire = _Retire()
            _producer = Producer(
                {
                    **kafka_config(),
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": settings.KAFKA_LINGER_MS,
                    "message.timeout.ms": settings.KAFKA_MESSAGE_TIMEOUT_MS,
                    "client.id": "brokerage-producer",
                    "error_cb": retire.on_error,
                }
            )
            retire.producer = _producer
            _producer_stop = threading.Event()
            threading.Thread(
                target=_serve_deliveries,
                args=(_producer, _producer_stop),
                name="kafka-deliveries",
                daemon=True,
            ).start()
        return _producer


class _Retire:
    """A producer's error callback. A fatal error leaves an idempotent producer unusable
    for good (a broker that lost its state, as the embedded one does on restart, answers
    UNKNOWN_PRODUCER_ID): the producer is dropped, the next use makes a new one, and the
    relay resends whatever it had not delivered."""

    producer: Producer | None = None

    def on_error(self, err: KafkaError) -> None:
        if err.fatal():
            logger.error("Kafka producer failed for good, replacing it: %s", err)
            retire(self.producer)
        else:
            logger.debug("Kafka producer: %s", err)  # transient: librdkafka retries


def retire(producer: Producer | None) -> None:
    """Drop `producer` if it is still the process's one (a later one stays)."""
    global _producer
    with _producer_lock:
        if producer is None or producer is not _producer:
            return
        _producer = None
        _producer_stop.set()
    logger.warning("Kafka producer replaced: the broker no longer accepts its identity")


def _serve_deliveries(producer: Producer, stop: threading.Event) -> None:
    """Serve delivery callbacks and mark confirmed rows published, off the request path."""
    while not stop.is_set():
        producer.poll(0.1)
        try:
            close_old_connections()  # this thread has no request cycle to do it
            mark_published(drain_delivered())
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
        mark_published(drain_delivered())


# What was handed over but not yet confirmed gets its chance before the process exits.
atexit.register(lambda: close_producer(settings.KAFKA_FLUSH_TIMEOUT_SECONDS))


def produce(producer: Producer, event: OutboxEvent) -> None:
    envelope = Envelope(**event.envelope)
    # The send continues the trace the row was written in (its stored traceparent), and
    # the message carries the send's own: the consumer's span follows it.
    with tracer.start_as_current_span(
        f"{event.topic} publish", context=propagate.extract(event.headers), kind=SpanKind.PRODUCER
    ) as span:
        span.set_attribute("messaging.system", "kafka")
        span.set_attribute("messaging.message.id", str(event.pk))
        headers = dict(event.headers)
        propagate.inject(headers)
        producer.produce(
            event.topic,
            key=event.key.encode() if event.key else None,
            value=envelope.to_bytes(),
            headers=[(name, value.encode()) for name, value in headers.items()]
            + [("event_type", event.event_type.encode())],
            on_delivery=functools.partial(_on_delivery, producer, str(event.pk)),
        )


# Delivery failures after which the producer is replaced. Its identity is no good with
# the broker (one that restarted without its state hands out producer ids again, fencing
# the holders of the old ones; librdkafka does not always raise that as fatal), or it
# could not deliver at all within KAFKA_MESSAGE_TIMEOUT_MS (a producer stuck on such a
# broker times out forever; while Kafka is down a new one costs nothing).
REPLACE_AFTER = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError.PRODUCER_FENCED,
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
        KafkaError.INVALID_PRODUCER_EPOCH,
    }
)


def _on_delivery(producer: Producer, event_id: str, err: KafkaError | None, msg: Message) -> None:
    if err is not None:
        metrics.EVENTS_PUBLISH_FAILED.labels(topic=msg.topic()).inc()
        logger.warning("event %s not delivered to %s: %s", event_id, msg.topic(), err)
        if err.fatal() or err.code() in REPLACE_AFTER:
            retire(producer)  # the next use makes a new one; the relay resends this event
        return
    metrics.EVENTS_PUBLISHED.labels(topic=msg.topic()).inc()
    with _delivered_lock:  # callbacks run in the delivery thread and in flush() callers
        _delivered.append(event_id)


def drain_delivered() -> list[str]:
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


def mark_published(event_ids: list[str]) -> None:
    if event_ids:
        OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True).update(
            published_at=timezone.now()
        )
