"""The probes: /api/health answers; /api/ready names each dependency's state in one word,
within its time bound, and never an exception's text."""

import time

import pytest

from brokerage import views

STATES = {"ok", "down", "timeout"}


def ok() -> None:
    return None


@pytest.fixture
def only_local_checks(monkeypatch):  # type: ignore[no-untyped-def]
    """The suite runs no Kafka: its probe stands in as healthy unless a test says not."""
    checks = {**views.READINESS_CHECKS, "kafka": ok}
    monkeypatch.setattr(views, "READINESS_CHECKS", checks)
    return checks


def test_health_answers(api_client):
    assert api_client.get("/api/health").json() == {"status": "ok"}


def test_ready_when_every_dependency_answers(api_client, db, only_local_checks):
    resp = api_client.get("/api/ready")

    assert resp.status_code == 200, resp.content
    assert resp.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "kafka": "ok", "celery_broker": "ok"},
    }


def test_ready_reads_and_writes_a_live_redis(api_client, db, settings, only_local_checks):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": settings.REDIS_URL}
    }

    assert api_client.get("/api/ready").json()["checks"]["cache"] == "ok"


def test_ready_says_the_cache_is_down_without_the_error_text(
    api_client, db, settings, only_local_checks
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }

    resp = api_client.get("/api/ready")

    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["database"] == "ok"
    assert set(body["checks"].values()) <= STATES
    for leak in (b"127.0.0.1", b"Error", b"refused", b"6379", b":1"):
        assert leak not in resp.content


def test_a_hanging_dependency_is_a_timeout_within_the_bound(
    api_client, db, monkeypatch, only_local_checks
):
    def hangs() -> None:
        time.sleep(1.5)

    def refuses() -> None:
        raise ConnectionRefusedError("connection to 10.0.0.7:9092 refused")

    only_local_checks.update(kafka=hangs, celery_broker=refuses)
    monkeypatch.setattr(views, "PROBE_TIMEOUT_SECONDS", 0.3)

    started = time.monotonic()
    resp = api_client.get("/api/ready")

    assert time.monotonic() - started < 1.0
    assert resp.status_code == 503
    assert resp.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "kafka": "timeout",
        "celery_broker": "down",
    }
    assert b"10.0.0.7" not in resp.content
