"""Prometheus metrics of the pipeline (HTTP metrics come from django-prometheus)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "brokerage_events_published_total", "Events confirmed by Kafka", ["topic"]
)
EVENTS_PUBLISH_FAILED = Counter(
    "brokerage_events_publish_failed_total", "Events Kafka did not take or confirm", ["topic"]
)
BRIDGE_DISPATCHED = Counter(
    "brokerage_bridge_dispatched_total", "Events the bridge handed to Celery", ["topic", "task"]
)
BRIDGE_DEAD_LETTERED = Counter(
    "brokerage_bridge_dead_lettered_total", "Events the bridge parked in a DLQ", ["topic"]
)
TASK_DURATION = Histogram(
    "brokerage_task_duration_seconds", "Celery task run time", ["task", "outcome"]
)
ORDERS_SUBMITTED = Counter("brokerage_orders_submitted_total", "Orders accepted", ["side", "type"])
FILLS = Counter("brokerage_fills_total", "Fills executed", ["side"])
NOTIFICATIONS = Counter(
    "brokerage_notifications_total",
    "Telegram delivery outcomes: sent, failed, skipped, or retrying (will be tried again)",
    ["status"],
)
RECONCILE_DIFFERENCES = Gauge(
    "brokerage_reconcile_differences",
    "Balances that the journal and the open orders do not prove, at the last reconcile",
    multiprocess_mode="mostrecent",
)
THROTTLE_FAIL_OPEN = Counter(
    "brokerage_throttle_fail_open_total",
    "Requests let through unthrottled because the throttle's cache (Redis) failed",
    ["scope"],
)
OUTBOX_PURGED = Counter(
    "brokerage_outbox_purged_total", "Published outbox rows deleted after their retention"
)
SUBMIT_TO_FILL = Histogram(
    "brokerage_submit_to_fill_seconds",
    "From an order's submission to each of its fills",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
# Set by the tasks that look (beat runs them every few seconds), read as the latest value
# whichever worker process set it.
OUTBOX_UNPUBLISHED = Gauge(
    "brokerage_outbox_unpublished",
    "Outbox events Kafka has not confirmed, at the last relay run",
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_UNPUBLISHED = Gauge(
    "brokerage_outbox_oldest_unpublished_seconds",
    "Age of the oldest outbox event Kafka has not confirmed, at the last relay run",
    multiprocess_mode="mostrecent",
)
ORDERS_STUCK = Gauge(
    "brokerage_orders_stuck",
    "Orders still accepted ORDER_STUCK_AFTER_SECONDS after submission, at the last sweep",
    multiprocess_mode="mostrecent",
)
# The bridge's own view, refreshed while it runs.
QUEUE_DEPTH = Gauge("brokerage_celery_queue_depth", "Tasks waiting in a Celery queue", ["queue"])
CONSUMER_LAG = Gauge(
    "brokerage_bridge_consumer_lag",
    "Messages between the bridge's position and the end of each partition it owns",
    ["topic", "partition"],
)
