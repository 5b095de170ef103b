"""The Celery app, and the plumbing every app's tasks share: queues, retries, timing."""

import functools
import logging
import logging.config
import os
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from celery import Celery, Task, current_task, signals
from celery.beat import PersistentScheduler
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from kombu.exceptions import ChannelError
from opentelemetry import context as otel_context
from opentelemetry import trace

from brokerage import logs, metrics
from brokerage.singleton import hold_for_life

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def enqueue(task_name: str, *args: Any) -> None:
    """Queue a task by name: services hand work to tasks without importing the task
    modules (which import the services). Runs eagerly where Celery is eager (tests)."""
    app.signature(task_name, args=args).apply_async()


class CeleryQueue(StrEnum):
    ORDERS = "orders"
    NOTIFICATIONS = "notifications"
    DEFAULT = "default"


def queue_depth(connection: Any, queue: str) -> int:
    """Tasks waiting in `queue` (not those a worker has reserved) on `connection`."""
    try:
        declared = connection.default_channel.queue_declare(queue=queue, passive=True)
    except ChannelError:  # Redis keeps no empty list: no queue is an empty queue
        return 0
    return int(declared.message_count)


def queue_is_empty(queue: str) -> bool:
    """Whether nothing waits in `queue`; a sweep that re-sends work waits for this, so
    a backlog (slow, not lost) is not flooded with copies of what it already holds."""
    with app.connection_for_read() as connection:
        return queue_depth(connection, queue) == 0


class TransientError(Exception):
    """A failure worth retrying (timeouts, rate limits); anything else is final."""


# Retry only what may succeed later; acks_late + reject_on_worker_lost are global. A run
# cut short by its soft time limit rolled back its transaction: it is retried too.
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError, OperationalError, InterfaceError, SoftTimeLimitExceeded),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


class QueueTimeLimits:
    """Celery task annotation (CELERY_TASK_ANNOTATIONS): a task's soft and hard time
    limits are its queue's (settings.TASK_TIME_LIMITS) unless its decorator sets them."""

    def annotate(self, task: Task) -> dict[str, float | None] | None:
        if task.soft_time_limit is not None or task.time_limit is not None:
            return None
        limits = settings.TASK_TIME_LIMITS.get(getattr(task, "queue", None) or CeleryQueue.DEFAULT)
        if limits is None:
            return None
        soft, hard = limits
        return {"soft_time_limit": soft or None, "time_limit": hard or None}

    def annotate_any(self) -> None:
        return None


def instrumented(func: Callable[P, R]) -> Callable[P, R]:
    """Time each run and tag its log lines with the task name and the event id."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        request = current_task.request if current_task else None
        name = getattr(current_task, "name", func.__name__)
        # Custom message headers (set by the bridge) surface as request attributes.
        event_id = getattr(request, "event_id", None)
        # The Celery instrumentation's run span, continuing the trace of whoever sent the
        # task (the bridge: the order's trace), is current here; its line carries its id.
        # (It sets messaging.message.id itself, to the task id.)
        trace.get_current_span().set_attribute("brokerage.event_id", str(event_id))
        started = time.perf_counter()
        outcome = "error"
        order = logs.order_id.set(str(kwargs.get("order_id") or ""))  # one-order tasks
        try:
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
            logs.order_id.reset(order)

    return wrapper


@signals.setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    # Connected, this stops Celery from installing its own handlers and format: workers
    # and beat log through Django's LOGGING (JSON or console, with the context fields).
    logging.config.dictConfig(settings.LOGGING)


@signals.task_prerun.connect
def _check_connections(sender: Any = None, **kwargs: Any) -> None:
    # What Django does around each request; with CELERY_DB_REUSE_MAX set, Celery leaves
    # connections open between tasks and this drops the broken or expired ones.
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@signals.worker_init.connect
def _observe_worker(**kwargs: Any) -> None:
    # In the main process; the SDK's span processor re-inits itself in forked children.
    from brokerage.observability import serve_metrics, setup_tracing

    setup_tracing("brokerage-worker")
    serve_metrics()


@signals.beat_init.connect
def _one_beat(**kwargs: Any) -> None:
    from brokerage.observability import setup_tracing

    if settings.SINGLETON_LOCK_TTL_SECONDS:
        # Exactly one beat per broker namespace schedules: any other waits here, before
        # its first tick, until the holder's lock expires (it died) or is released (it
        # stopped), and takes over.
        prefix = app.conf.broker_transport_options.get("global_keyprefix", "")
        hold_for_life(
            f"{prefix}beat",
            url=settings.CELERY_BROKER_URL,
            ttl=settings.SINGLETON_LOCK_TTL_SECONDS,
            what="beat",
        )
    setup_tracing("brokerage-beat")  # its scheduled sends start traces of their own


class BeatScheduler(PersistentScheduler):
    """Beat's scheduler (CELERY_BEAT_SCHEDULER): each send starts from an empty trace
    context. The Celery instrumentation leaves its publish span current when a send fails
    (it ends it on `after_task_publish`, which a failed send never sends); beat's loop has
    no span of its own to fall back to, so every later send would join that span."""

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        token = otel_context.attach(otel_context.Context())
        try:
            return super().apply_async(*args, **kwargs)
        finally:
            otel_context.detach(token)
