"""Writing events: the transactional outbox, publication after commit, the relay.

A service records events inside its transaction (`emit`, or `outbox_rows` inserted with
its own change, then `publish_on_commit`). The outbox row commits with the change it
describes; after commit the event is produced to Kafka, and the delivery callback marks
the row published. Rows still unpublished after OUTBOX_RELAY_AFTER_SECONDS (Kafka was
down, the process died) are produced again by `relay_outbox`, which Celery beat runs
every few seconds. Consumers are idempotent, so the rare second copy is harmless.
Published rows are deleted after OUTBOX_RETENTION_DAYS (`purge_outbox`, daily-ish by beat).
"""

import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from opentelemetry import propagate

from brokerage import metrics
from brokerage.events.envelope import ENVELOPE_VERSION, Envelope
from brokerage.events.models import OutboxEvent
from brokerage.events.producer import (
    drain_delivered,
    get_producer,
    mark_published,
    produce,
    retire,
)

logger = logging.getLogger(__name__)


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
    # robust: the change is committed whatever publishing does; the relay sends it later.
    transaction.on_commit(lambda: publish(rows), robust=True)


def publish(events: list[OutboxEvent], *, wait: float = 0) -> None:
    """Hand events to the transport; rows are marked published once delivery is confirmed.

    `wait` > 0 blocks up to that many seconds for the confirmations (the relay does);
    the request path doesn't wait: the producer's delivery thread marks the rows.
    """
    producer = get_producer()
    for event in events:
        try:
            produce(producer, event)
        except (BufferError, KafkaException) as exc:
            metrics.EVENTS_PUBLISH_FAILED.labels(topic=event.topic).inc()
            logger.warning("event %s not handed to Kafka (%s); the relay retries", event.pk, exc)
            if isinstance(exc, KafkaException) and exc.args[0].fatal():
                retire(producer)  # unusable for good: the next publish makes a new one
                return
    if wait:
        producer.flush(wait)
        mark_published(drain_delivered())


def relay_outbox(*, limit: int = 1000) -> int:
    """Produce again the events whose delivery was never confirmed; returns how many.

    Rows are claimed with SKIP LOCKED and their attempts counted; two relay runs that
    overlap may still send a row twice, which the idempotent consumers absorb.
    """
    now = timezone.now()
    backlog = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    metrics.OUTBOX_UNPUBLISHED.set(backlog["count"])
    oldest = backlog["oldest"]
    metrics.OUTBOX_OLDEST_UNPUBLISHED.set((now - oldest).total_seconds() if oldest else 0)
    cutoff = now - timedelta(seconds=settings.OUTBOX_RELAY_AFTER_SECONDS)
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


PURGE_BATCH = 5000  # rows per DELETE: each statement short, its locks and WAL small
PURGE_TIME_BUDGET_SECONDS = 60.0  # within the default queue's soft time limit


def purge_outbox(
    *, batch_size: int = PURGE_BATCH, time_budget: float = PURGE_TIME_BUDGET_SECONDS
) -> int:
    """Delete rows published more than OUTBOX_RETENTION_DAYS ago; returns how many.

    A batch per statement, until none is left or `time_budget` seconds have passed (the
    next run goes on). Unpublished rows stay whatever their age: the relay owes them.
    """
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    deadline = time.monotonic() + time_budget
    purged = 0
    while True:
        batch = OutboxEvent.objects.filter(published_at__lt=cutoff).values("pk")[:batch_size]
        deleted, _ = OutboxEvent.objects.filter(pk__in=batch).delete()
        purged += deleted
        metrics.OUTBOX_PURGED.inc(deleted)
        if deleted < batch_size or time.monotonic() >= deadline:
            break
    if purged:
        logger.info("purged %d published outbox rows older than %s", purged, cutoff)
    return purged
