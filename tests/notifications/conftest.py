"""Fixtures of the notification tests: the fake Bot API wired into settings, a customer
with a chat, and helpers that place orders or run deliveries as a worker would.

Events are routed in-process and Celery runs eagerly (tests/conftest.py), so an order
placed through the API is executed, recorded and delivered before the call returns; the
real broker and worker are tests/pipeline/test_telegram.py's job.
"""

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.factories import UserFactory
from tests.fake_telegram import (
    TOKEN,
    FakeTelegram,
)


@pytest.fixture
def telegram(settings) -> Iterator[FakeTelegram]:  # type: ignore[no-untyped-def]
    fake = FakeTelegram()
    fake.server.start()
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_BASE_URL = fake.url
    settings.TELEGRAM_TIMEOUT_SECONDS = 2.0
    settings.TELEGRAM_MAX_ATTEMPTS = 3
    yield fake
    fake.server.stop()


@pytest.fixture
def customer(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(cash=Decimal("100000"), telegram_chat_id="4242")


@pytest.fixture
def place(client_for, customer, acme, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Submit an order as `customer`; it is executed and notified before this returns."""

    def submit(**body: str) -> dict[str, object]:
        api = client_for(customer)
        with django_capture_on_commit_callbacks(execute=True):
            resp = api.post(
                "/api/v1/orders",
                {"symbol": "ACME", "side": "buy", "quantity": "3", **body},
                format="json",
            )
        assert resp.status_code == 202, resp.json()
        return api.get(f"/api/v1/orders/{resp.json()['id']}").json()

    return submit
