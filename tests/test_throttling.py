"""Throttles that hold: per client IP whatever the headers say, per account for orders."""

import pytest

from tests.factories import UserFactory
from tests.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):  # type: ignore[no-untyped-def]
    def set_rates(**rates: str | None) -> None:
        settings.THROTTLE_RATES = {"signup": None, "orders": None, "anon": None, **rates}

    return set_rates


def sign_up(client, n: int, **headers: str):  # type: ignore[no-untyped-def]
    body = {"name": "Ada", "surname": "Lovelace", "email": f"ada{n}@example.com"}
    return client.post("/api/v1/users", body, format="json", **headers)


def assert_throttled(resp) -> None:  # type: ignore[no-untyped-def]
    assert_error(resp, 429, 1003)
    assert int(resp["Retry-After"]) >= 1


def test_sign_up_is_throttled_per_ip_even_with_a_valid_token(api_client, rates):
    rates(signup="2/minute")
    someone = token_client(UserFactory())  # a token no longer buys a way round

    assert sign_up(someone, 1).status_code == 201
    assert sign_up(api_client, 2).status_code == 201
    assert_throttled(sign_up(someone, 3))


def test_a_forged_x_forwarded_for_does_not_reset_the_count(api_client, rates):
    rates(signup="2/minute")

    for n in (1, 2):
        assert sign_up(api_client, n, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 201
    assert_throttled(sign_up(api_client, 3, HTTP_X_FORWARDED_FOR="203.0.113.3"))


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(api_client, rates, settings):
    rates(signup="1/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    assert sign_up(api_client, 1, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 201
    assert sign_up(api_client, 2, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 201
    assert_throttled(sign_up(api_client, 3, HTTP_X_FORWARDED_FOR="203.0.113.1"))


def test_order_submission_and_cancel_are_throttled_per_account(rates, acme):
    rates(orders="2/minute")
    trader, other = UserFactory(), UserFactory()
    order = {"symbol": "ACME", "side": "buy", "type": "limit", "limit_price": "1", "quantity": "1"}
    api = token_client(trader)

    first = api.post("/api/v1/orders", order, format="json")
    assert first.status_code == 202, first.json()
    cancelled = api.post(f"/api/v1/orders/{first.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.json()
    assert_throttled(api.post("/api/v1/orders", order, format="json"))
    legacy = {"user_id": str(trader.pk), "price": "1", "amount": "1", "stock_symbol": "ACME"}
    assert_throttled(api.post("/api/v1/orders:buy", legacy, format="json"))

    assert token_client(other).post("/api/v1/orders", order, format="json").status_code == 202
    assert api.get("/api/v1/orders").status_code == 200  # reads are not order requests


def test_anonymous_reads_are_throttled_per_ip_and_accounts_are_not(api_client, rates, acme):
    rates(anon="2/minute")

    assert api_client.get("/api/v1/stocks").status_code == 200
    assert api_client.get("/api/v1/stocks/ACME").status_code == 200
    assert_throttled(api_client.get("/api/v1/stocks", HTTP_X_FORWARDED_FOR="198.51.100.7"))
    signed_in = token_client(UserFactory())
    assert all(signed_in.get("/api/v1/stocks").status_code == 200 for _ in range(3))


def test_none_disables_a_throttle(api_client, rates):
    rates(signup=None)

    assert all(sign_up(api_client, n).status_code == 201 for n in range(5))
