import uuid

import pytest
from rest_framework.test import APIClient

from brokerage.celery import app as celery_app
from stocks import quotes
from tests.factories import StockFactory, UserFactory
from users.models import User


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected no tests must fail, not pass quietly.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _service_settings(settings):  # type: ignore[no-untyped-def]
    """Pure service tests: events routed in-process, tasks run eagerly.

    Pipeline tests (tests/pipeline) replace both with the real broker and worker.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEFAULT_USER_STOCK_AMOUNT = 10
    settings.EVENT_TRANSPORT = "inline"
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
    settings.TELEGRAM_CHAT_ID = ""
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
def client_for(api_client: APIClient):  # type: ignore[no-untyped-def]
    """Authenticate the API client as `user` with their real token."""

    def login(user: User) -> APIClient:
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return api_client

    return login


@pytest.fixture
def acme(db: None):  # type: ignore[no-untyped-def]
    return StockFactory(symbol="ACME", price="50.0000", amount="1000")
