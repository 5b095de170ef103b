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
