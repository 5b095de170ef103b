"""The outbox keeps what the relay still owes and what is recent; older published rows
are purged in bounded batches."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from brokerage.events import outbox, tasks
from brokerage.events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def rows(n: int, *, age_days: float, published: bool) -> list[OutboxEvent]:
    at = timezone.now() - timedelta(days=age_days)
    return OutboxEvent.objects.bulk_create(
        OutboxEvent(
            topic="orders",
            event_type="order.accepted",
            envelope={},
            created_at=at,
            published_at=at if published else None,
        )
        for _ in range(n)
    )


@pytest.fixture
def week(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOX_RETENTION_DAYS = 7


def test_old_published_rows_go_unpublished_and_recent_ones_stay(week):
    old = rows(5, age_days=8, published=True)
    owed = rows(2, age_days=30, published=False)
    recent = rows(3, age_days=6, published=True)

    assert outbox.purge_outbox() == len(old)

    kept = set(OutboxEvent.objects.values_list("pk", flat=True))
    assert kept == {row.pk for row in owed + recent}


def test_each_statement_deletes_at_most_one_batch(week):
    rows(5, age_days=8, published=True)

    with CaptureQueriesContext(connection) as queries:
        assert outbox.purge_outbox(batch_size=2) == 5

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert all("LIMIT 2" in sql for sql in deletes)


def test_a_run_stops_at_its_time_budget_and_the_next_goes_on(week):
    rows(5, age_days=8, published=True)

    assert outbox.purge_outbox(batch_size=2, time_budget=0) == 2
    assert outbox.purge_outbox(batch_size=10) == 3


def test_beat_runs_the_purge(settings):
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "brokerage.purge_outbox"
    )
    assert entry["schedule"] == settings.OUTBOX_PURGE_INTERVAL_SECONDS
    assert tasks.purge_outbox.name == "brokerage.purge_outbox"


def test_the_task_purges(week):
    rows(1, age_days=8, published=True)

    assert tasks.purge_outbox.delay().get() == 1
