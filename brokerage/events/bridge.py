"""The Kafka -> Celery bridge: one consumer group, one routing table, at-least-once.

For each batch: decode every message, hand it to its Celery task, then commit the
batch's offsets. A message that cannot be decoded or routed is poison: it is parked in
`<topic>.dlq` with the reason and committed, so the partition moves on. A failed
dispatch (Celery's broker is down) is not poison: nothing is committed, the consumer
rewinds to the batch's start and tries again after a backoff.
"""

import logging
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from django.conf import settings
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from brokerage import metrics
from brokerage.celery import CeleryQueue, queue_depth
from brokerage.celery import app as celery_app
from brokerage.events.envelope import Envelope, dlq_topic, topics
from brokerage.events.producer import ensure_topics, get_producer, kafka_config
from brokerage.events.routing import resolve

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

BACKPRESSURE_POLL = 0.005
MAX_BACKPRESSURE_WAIT = 5.0  # then dispatch anyway: a stuck worker must not stop the bridge
DISPATCH_BACKOFF_FIRST, DISPATCH_BACKOFF_MAX = 0.5, 30.0  # seconds, while Celery is away
MEASURE_INTERVAL = 5.0  # seconds between readings of queue depths and consumer lag


class DispatchError(Exception):
    """Celery did not take the task: transient, retry the batch."""


def send(
    topic: str, task: str, queue: str, kwargs: dict[str, Any], headers: dict[str, str]
) -> None:
    """Hand one task, by name, to Celery's broker."""
    try:
        celery_app.send_task(task, kwargs=kwargs, queue=queue, headers=headers)
    except Exception as exc:  # kombu/redis raise many types; all mean "not handed over"
        raise DispatchError(f"{task}: {exc}") from exc
    metrics.BRIDGE_DISPATCHED.labels(topic=topic, task=task).inc()


def _headers(msg: Message) -> dict[str, str]:
    headers: list[tuple[str, bytes | None]] = msg.headers() or []  # type: ignore[assignment]
    return {name: value.decode(errors="replace") for name, value in headers if value is not None}


def _log_assignment(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    # Several bridges in one group split the partitions; say which ones are ours.
    logger.info("assigned %s", sorted(f"{p.topic}[{p.partition}]" for p in partitions))


def _log_revocation(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    logger.info("revoked %s", sorted(f"{p.topic}[{p.partition}]" for p in partitions))


class Bridge:
    def __init__(
        self,
        *,
        group_id: str,
        batch_size: int,
        poll_timeout: float,
        linger: float,
        max_queued: int,
    ) -> None:
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.linger = linger
        self.max_queued = max_queued
        self.celery_connection = celery_app.connection_for_read()
        self.stopping = False
        self.measured_at = 0.0
        self.consumer = Consumer(
            {
                **kafka_config(),
                **settings.KAFKA_CONSUMER_OPTIONS,
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "client.id": "brokerage-bridge",
            }
        )

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        logger.info("bridge stopping after the current batch")
        self.stopping = True

    def run(self) -> None:
        ensure_topics()
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.consumer.subscribe(topics(), on_assign=_log_assignment, on_revoke=_log_revocation)
        logger.info("bridge consuming %s", topics())
        backoff = DISPATCH_BACKOFF_FIRST
        try:
            while not self.stopping:
                self.measure()
                self.wait_for_workers()
                messages = [msg for msg in self.next_batch() if self._is_message(msg)]
                if not messages:
                    continue
                try:
                    self.handle_batch(messages)
                except DispatchError as exc:
                    logger.warning("dispatch failed, retrying batch in %.1fs: %s", backoff, exc)
                    self.rewind(messages)
                    time.sleep(backoff)  # back off while Celery's broker is away
                    backoff = min(backoff * 2, DISPATCH_BACKOFF_MAX)
                    continue
                backoff = DISPATCH_BACKOFF_FIRST
                self.commit(messages)
        finally:
            self.consumer.close()
            self.celery_connection.release()
            logger.info("bridge stopped")

    def measure(self) -> None:
        """Celery's queue depths and this consumer's lag per partition, for /metrics,
        every MEASURE_INTERVAL seconds (lag from its own positions and the watermarks
        its fetches brought back: no extra request to the broker); and the heartbeat."""
        now = time.monotonic()
        if now < self.measured_at + MEASURE_INTERVAL:
            return
        self.measured_at = now
        if settings.BRIDGE_HEARTBEAT_FILE:  # the health check: is the loop still turning?
            Path(settings.BRIDGE_HEARTBEAT_FILE).touch()
        try:
            for queue in CeleryQueue:
                depth = queue_depth(self.celery_connection, queue)
                metrics.QUEUE_DEPTH.labels(queue=queue).set(depth)
        except Exception as exc:  # Redis away: the depths keep their last values
            logger.debug("could not read Celery queue depths: %s", exc)
        try:
            positions = self.consumer.position(self.consumer.assignment())
        except KafkaException as exc:
            logger.debug("could not read the consumer's positions: %s", exc)
            return
        for tp in positions:
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0 and tp.offset >= 0:
                partition = metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition))
                partition.set(high - tp.offset)

    def wait_for_workers(self) -> None:
        """Backpressure: while the workers' queues hold more than max_queued tasks, leave
        new events in Kafka. They are then taken as one large batch instead of many
        small tasks, and a large batch costs the worker far less per order."""
        if self.max_queued <= 0:
            return
        waited = 0.0
        while not self.stopping and waited < MAX_BACKPRESSURE_WAIT:
            try:  # orders only: a notification backlog must never hold back executions
                queued = queue_depth(self.celery_connection, CeleryQueue.ORDERS)
            except Exception as exc:  # can't tell: don't hold events back for it
                logger.warning("could not read Celery queue depth: %s", exc)
                return
            if queued <= self.max_queued:
                return
            time.sleep(BACKPRESSURE_POLL)  # polling the queue depth, not synchronising
            waited += BACKPRESSURE_POLL

    def next_batch(self) -> list[Message]:
        """Wait for one message, then up to `linger` seconds for more, up to batch_size.

        The linger turns a steady stream into batches, and a batch is one task and one
        transaction in the worker; consume(n, timeout) alone would wait the whole poll
        timeout for n messages.
        """
        first = self.consumer.poll(self.poll_timeout)
        if first is None:
            return []
        more = self.consumer.consume(num_messages=self.batch_size - 1, timeout=self.linger)
        return [first, *more]

    @staticmethod
    def _is_message(msg: Message) -> bool:
        error = msg.error()
        if error is None:
            return True
        if error.code() != KafkaError._PARTITION_EOF:
            logger.warning("consumer error: %s", error)
        return False

    def handle_batch(self, messages: list[Message]) -> None:
        parked = 0
        confirmed: list[bool] = []  # each dead letter's delivery report: delivered?
        producer = get_producer()
        # Per partition: a partition's orders share few symbols, so two workers' batches
        # rarely wait for the same Stock rows.
        batched: dict[tuple[str, int, str, str, str], tuple[list[Any], dict[str, str]]] = {}
        for msg in messages:
            topic = msg.topic() or ""
            try:
                envelope = Envelope.from_bytes(msg.value())
                route, kwargs = resolve(topic, envelope)
            except ValueError as exc:
                self.dead_letter(producer, msg, reason=str(exc), confirmed=confirmed)
                parked += 1
                continue
            headers = {**_headers(msg), "event_id": envelope.event_id}
            # The event's trace (its traceparent header, from the request that wrote it)
            # goes on through this span to the task (Celery's instrumentation carries it):
            # one trace per order, web to worker.
            with tracer.start_as_current_span(
                f"{topic} process", context=propagate.extract(headers), kind=SpanKind.CONSUMER
            ):
                if route.batch is None:
                    send(topic, route.task, route.queue, kwargs, headers)
                    logger.info("%s %s -> %s %s", topic, envelope.event_type, route.task, kwargs)
                    continue
            task, arg = route.batch
            key = (topic, msg.partition() or 0, task, route.queue, arg)
            values, _ = batched.setdefault(key, ([], headers))
            values.append(route.batch_item(kwargs))
        size = settings.KAFKA_BRIDGE_TASK_BATCH_SIZE
        for (topic, _, task, queue, arg), (values, headers) in batched.items():
            # A batch task continues its first event's trace.
            with tracer.start_as_current_span(
                f"{topic} dispatch", context=propagate.extract(headers)
            ):
                for start in range(0, len(values), size):
                    chunk = values[start : start + size]
                    send(topic, task, queue, {arg: chunk}, headers)
                    logger.info("%s: %d event(s) -> %s %s", topic, len(chunk), task, chunk[:3])
        # The DLQ copies must be confirmed, by the producer that took them, before the
        # offsets move past their messages (a producer retired meanwhile confirms nothing).
        if parked:
            producer.flush(settings.KAFKA_FLUSH_TIMEOUT_SECONDS)
            if sum(confirmed) < parked:
                raise DispatchError(f"{parked - sum(confirmed)} dead letters not confirmed")

    def dead_letter(
        self, producer: Producer, msg: Message, *, reason: str, confirmed: list[bool]
    ) -> None:
        topic = msg.topic() or ""
        logger.warning(
            "parking %s[%s]@%s in %s: %s",
            topic,
            msg.partition(),
            msg.offset(),
            dlq_topic(topic),
            reason,
        )
        producer.produce(
            dlq_topic(topic),
            key=msg.key(),
            value=msg.value(),
            headers=[
                *(msg.headers() or []),
                ("dlq_reason", reason.encode()),
                ("dlq_source", f"{topic}/{msg.partition()}/{msg.offset()}".encode()),
            ],
            on_delivery=lambda err, _: confirmed.append(err is None),
        )
        metrics.BRIDGE_DEAD_LETTERED.labels(topic=topic).inc()

    def rewind(self, messages: Iterable[Message]) -> None:
        """Seek each partition back to the first message of the failed batch."""
        first: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (msg.topic() or "", msg.partition() or 0)
            first[key] = min(first.get(key, msg.offset() or 0), msg.offset() or 0)
        for (topic, partition), offset in first.items():
            self.consumer.seek(TopicPartition(topic, partition, offset))

    def commit(self, messages: Iterable[Message]) -> None:
        last: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (msg.topic() or "", msg.partition() or 0)
            last[key] = max(last.get(key, -1), msg.offset() or 0)
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # lost the partitions in a rebalance: redelivered
            logger.warning("offset commit failed, the batch will be redelivered: %s", exc)
