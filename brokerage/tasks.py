"""Celery plumbing shared by every app's tasks, and the project's own periodic tasks."""

import functools
import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from celery import current_task, shared_task
from django.db import InterfaceError, OperationalError
from opentelemetry import propagate, trace

from brokerage import metrics

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class CeleryQueue(StrEnum):
    ORDERS = "orders"
    NOTIFICATIONS = "notifications"
    DEFAULT = "default"


class TransientError(Exception):
    """A failure worth retrying (timeouts, rate limits); anything else is final."""


# Retry only what may succeed later; acks_late + reject_on_worker_lost are global.
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError, OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


def instrumented(func: Callable[P, R]) -> Callable[P, R]:
    """Time each run and tag its log lines with the task name and the event id."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        request = current_task.request if current_task else None
        name = getattr(current_task, "name", func.__name__)
        # Custom message headers (set by the bridge) surface as request attributes.
        event_id = getattr(request, "event_id", None)
        parent = propagate.extract({"traceparent": getattr(request, "traceparent", None) or ""})
        started = time.perf_counter()
        outcome = "error"
        try:
            with tracer.start_as_current_span(name, context=parent) as span:
                span.set_attribute("messaging.message.id", str(event_id))
                result = func(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            elapsed = time.perf_counter() - started
            metrics.TASK_DURATION.labels(task=name, outcome=outcome).observe(elapsed)
            logger.info(
                "task=%s event_id=%s outcome=%s ms=%.1f kwargs=%s",
                name,
                event_id,
                outcome,
                elapsed * 1000,
                kwargs,
            )

    return wrapper


@shared_task(name="brokerage.relay_outbox", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def relay_outbox() -> int:
    from brokerage import events  # events -> models: import on use, after Django is ready

    return events.relay_outbox()
