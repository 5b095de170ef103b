"""What still works when a dependency is down or slow: Redis (cache, throttles), a lock
or statement past PostgreSQL's timeouts, a post-commit hook that fails; Celery limits."""

import logging
from decimal import Decimal

import psycopg
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from prometheus_client import REGISTRY

from brokerage.api import throttling
from brokerage.api.errors import exception_handler, server_error_view
from brokerage.celery import TRANSIENT_RETRY
from brokerage.events import outbox
from brokerage.events import tasks as event_tasks
from brokerage.events.models import OutboxEvent
from orders import tasks as order_tasks
from orders.models import Order
from stocks.models import Stock
from tests.helpers import assert_error
from users.models import User

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
ORDER = {"symbol": "ACME", "side": "buy", "type": "limit", "limit_price": "1", "quantity": "1"}
UNAVAILABLE = 1500


@pytest.fixture
def dead_redis(settings):  # type: ignore[no-untyped-def]
    """The production cache configuration, pointed at a Redis that isn't there."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    settings.REDIS_URL = DEAD_REDIS  # quote and token invalidation announce through it
    settings.THROTTLE_RATES = {"signup": None, "orders": "1/minute", "anon": "1/minute"}


def fail_open_count(scope: str) -> float:
    value = REGISTRY.get_sample_value("brokerage_throttle_fail_open_total", {"scope": scope})
    return value or 0.0


def test_orders_and_reads_are_served_from_the_database_while_redis_is_down(
    dead_redis, client_for, api_client, user, acme, monkeypatch, caplog
):
    monkeypatch.setattr(throttling, "_warned_at", None)
    before = fail_open_count("orders")
    trader = client_for(user)

    with caplog.at_level(logging.WARNING, logger="brokerage.api.throttling"):
        for _ in range(3):  # over the 1/minute rate: the throttle cannot count, so it lets through
            assert trader.post("/api/v1/orders", ORDER, format="json").status_code == 202
    assert trader.get("/api/v1/orders").status_code == 200
    assert api_client.get("/api/v1/stocks").status_code == 200
    assert api_client.get("/api/v1/stocks/ACME").status_code == 200

    assert Order.objects.filter(user=user).count() == 3
    assert fail_open_count("orders") == before + 3
    warnings = [r for r in caplog.records if r.name == "brokerage.api.throttling"]
    assert len(warnings) == 1, "one warning a minute, not one per request"


def test_a_price_change_commits_while_redis_is_down(dead_redis, client_for, staff, acme):
    resp = client_for(staff).patch("/api/v1/stocks/ACME", {"price": "51"}, format="json")

    assert resp.status_code == 200, resp.content
    assert Stock.objects.get(symbol="ACME").price == Decimal("51")


# --- post-commit hooks -----------------------------------------------------------------


# Real commits (transaction=True): on_commit hooks run as in production.


@pytest.mark.django_db(transaction=True)
def test_a_failing_quote_invalidation_does_not_turn_a_committed_change_into_a_500(
    client_for, staff, acme, monkeypatch
):
    called: list[str] = []

    def broken(symbol: str) -> None:
        called.append(symbol)
        raise ConnectionError("redis is down")

    monkeypatch.setattr("stocks.services.forget_quote", broken)

    change = {"price": "52", "amount": "2000"}
    resp = client_for(staff).patch("/api/v1/stocks/ACME", change, format="json")

    assert resp.status_code == 200, resp.content
    assert called, "the hook ran, and failed"
    stock = Stock.objects.get(symbol="ACME")
    assert (stock.price, stock.amount) == (Decimal("52"), Decimal("2000"))


@pytest.mark.django_db(transaction=True)
def test_a_failing_publish_leaves_the_order_accepted_for_the_relay(
    client_for, user, acme, monkeypatch
):
    def broken(rows: list[OutboxEvent], *, wait: float = 0) -> None:
        raise RuntimeError("transport exploded")

    monkeypatch.setattr(outbox, "publish", broken)

    resp = client_for(user).post("/api/v1/orders", ORDER, format="json")

    assert resp.status_code == 202, resp.content
    assert Order.objects.get(user=user).status == "accepted"
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 1  # the relay's


# --- PostgreSQL timeouts ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_order_behind_a_held_row_lock_is_a_coded_503_and_writes_nothing(
    client_for, user, acme, monkeypatch
):
    # This process's next connection waits at most 200 ms for a lock.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "options", "-c lock_timeout=200")
    connection.close()
    trader = client_for(user)  # its token is issued before the lock is held
    holder = psycopg.connect(**connection.get_connection_params())
    try:
        holder.execute(
            f"SELECT 1 FROM {User._meta.db_table} WHERE id = %s FOR UPDATE",
            [user.pk],
        )
        resp = trader.post("/api/v1/orders", ORDER, format="json")
    finally:
        holder.rollback()
        holder.close()
        connection.close()  # the next test's connection has the usual timeouts

    body = assert_error(resp, 503, UNAVAILABLE)
    assert resp["Retry-After"] == "1"
    assert "lock" not in body["error_message"].lower()
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.filter(event_type="order.accepted").exists()
    user.refresh_from_db()
    assert user.cash_reserved == 0


def statement_timeout() -> OperationalError:
    """What a query past statement_timeout raises through Django."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(1)")
    except OperationalError as exc:
        return exc
    raise AssertionError("pg_sleep outlasted statement_timeout")


def test_a_statement_timeout_maps_to_503_without_its_text(db):
    exc = statement_timeout()
    assert exc.__cause__.sqlstate == "57014"  # type: ignore[union-attr]

    resp = exception_handler(exc, {})

    assert resp.status_code == 503
    assert resp.data["error_code"] == UNAVAILABLE
    assert "statement" not in str(resp.data)
    assert resp["Retry-After"] == "1"


def test_outside_drf_a_database_outage_is_a_coded_503_too():
    try:
        raise OperationalError('connection to server at "10.0.0.7", port 5432 failed')
    except OperationalError:
        resp = server_error_view(RequestFactory().get("/admin/"))

    assert resp.status_code == 503
    assert b"10.0.0.7" not in resp.content
    assert b'"error_code": 1500' in resp.content


def test_every_connection_carries_the_timeouts(db, settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["connect_timeout"] > 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('statement_timeout', 'lock_timeout') ORDER BY name"
        )
        live = dict(cursor.fetchall())
    assert live == {
        "lock_timeout": str(settings.DB_LOCK_TIMEOUT_MS),
        "statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS),
    }


# --- Celery ----------------------------------------------------------------------------


def test_each_queue_has_its_time_limits(settings):
    for task in (order_tasks.execute_orders, event_tasks.relay_outbox, event_tasks.purge_outbox):
        soft, hard = settings.TASK_TIME_LIMITS[str(task.queue)]
        assert (task.soft_time_limit, task.time_limit) == (soft, hard), task.name
        assert 0 < soft < hard


def test_a_run_cut_short_by_its_soft_limit_is_retried():
    assert SoftTimeLimitExceeded in TRANSIENT_RETRY["autoretry_for"]
