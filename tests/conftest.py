import uuid

import pytest
from rest_framework.test import APIClient

from brokerage.celery import app as celery_app
from brokerage.events import outbox
from brokerage.events.envelope import Envelope
from brokerage.events.models import OutboxEvent
from brokerage.events.producer import mark_published
from brokerage.events.routing import resolve
from stocks import quotes
from tests.factories import StockFactory, UserFactory
from tests.helpers import token_client
from users.models import User


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected no tests must fail, not pass quietly.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def publish_inline(rows: list[OutboxEvent], *, wait: float = 0) -> None:
    """The test transport: each event routed as the bridge routes it, and its task run
    in this process (Celery eager), instead of a trip through Kafka."""
    for row in rows:
        route, kwargs = resolve(row.topic, Envelope(**row.envelope))
        headers = {**row.headers, "event_id": str(row.pk)}
        celery_app.tasks[route.task].apply_async(kwargs=kwargs, headers=headers)
    mark_published([str(row.pk) for row in rows])


@pytest.fixture(autouse=True)
def _service_settings(request, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Pure service tests: events routed in-process, tasks run eagerly.

    Pipeline tests (marked `pipeline`) keep the real broker, bridge and worker.
    """
    settings.DEFAULT_USER_STOCK_AMOUNT = 10
    if request.node.get_closest_marker("pipeline") is None:
        monkeypatch.setattr(outbox, "publish", publish_inline)
    # Each test its own empty cache (quotes, throttles), and no remembered tokens.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4()}",
        }
    }
    settings.AUTH_TOKEN_CACHE_SECONDS = 0
    quotes.forget_all()  # kept per process: a quote of another test's stock is stale
    # A developer's .env may hold a real bot: ordinary tests must never reach Telegram.
    settings.TELEGRAM_BOT_TOKEN = ""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory(is_staff=True, email="staff@example.com")


@pytest.fixture
def client_for():  # type: ignore[no-untyped-def]
    """A client that authenticates as `user` with their real token (tests.helpers)."""
    return token_client


@pytest.fixture
def acme(db: None):  # type: ignore[no-untyped-def]
    return StockFactory(symbol="ACME", price="50.0000", amount="1000")
