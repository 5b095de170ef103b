"""The two caches on the request path: remembered tokens and stock quotes."""

import time
from decimal import Decimal

import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stocks import quotes
from stocks.models import Stock
from tests.factories import StockFactory
from tests.helpers import wait_until
from users import authentication
from users.models import ApiToken


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def test_a_remembered_token_saves_its_query(client_for, user, acme, settings):
    settings.AUTH_TOKEN_CACHE_SECONDS = 10
    authentication.forget_all()
    api = client_for(user)
    api.get("/api/v1/positions")  # this process now listens for revocations...
    assert authentication._tokens.listening.wait(5), "the token listener did not subscribe"
    api.get("/api/v1/positions")  # ...and remembers the token from here on

    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/positions").status_code == 200

    assert not any("users_apitoken" in q["sql"] for q in queries.captured_queries)


def test_without_memory_a_deleted_token_is_refused_at_once(client_for, user, settings):
    settings.AUTH_TOKEN_CACHE_SECONDS = 0
    api = client_for(user)
    assert api.get("/api/v1/positions").status_code == 200

    ApiToken.objects.get(user=user).delete()

    resp = api.get("/api/v1/positions")
    assert resp.status_code == 401
    assert resp.json()["error_code"] == 1200


def test_a_remembered_token_expires_from_memory(client_for, user, settings, monkeypatch):
    settings.AUTH_TOKEN_CACHE_SECONDS = 10
    authentication.forget_all()
    api = client_for(user)
    assert api.get("/api/v1/positions").status_code == 200
    ApiToken.objects.filter(user=user).update(digest="0" * 64)  # no signal: only time can tell
    assert api.get("/api/v1/positions").status_code == 200  # remembered for 10 s

    clock = time.monotonic() + 11
    monkeypatch.setattr("brokerage.shared.memo.time.monotonic", lambda: clock)

    assert api.get("/api/v1/positions").status_code == 401


def test_a_quote_is_forgotten_when_another_process_announces_a_change(db):
    StockFactory(symbol="QUO", price=Decimal("10.0000"))
    quotes.get_stock_quote(symbol="QUO")  # this process now listens
    assert quotes._quotes.listening.wait(5), "the quote listener did not subscribe"
    quotes.get_stock_quote(symbol="QUO")  # kept
    Stock.objects.filter(symbol="QUO").update(price=Decimal("11.0000"))
    assert quotes.get_stock_quote(symbol="QUO").price == Decimal("10.0000")  # still kept

    redis_client().publish(quotes.channel(), "QUO")  # what forget_quote sends, elsewhere

    wait_until(
        lambda: quotes.get_stock_quote(symbol="QUO").price == Decimal("11.0000"),
        timeout=5,
        what="the kept quote to be forgotten",
    )


def test_a_price_change_invalidates_the_cached_quote(
    api_client, client_for, staff, db, django_capture_on_commit_callbacks
):
    StockFactory(symbol="QUO", price=Decimal("10.0000"))
    assert api_client.get("/api/v1/stocks/QUO").json()["price"] == "10.0000"  # now cached

    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/v1/stocks/QUO").json()["price"] == "10.0000"
    assert queries.captured_queries == []  # served from the cache

    with django_capture_on_commit_callbacks(execute=True):
        client_for(staff).patch("/api/v1/stocks/QUO", {"price": "12.5"}, format="json")

    assert api_client.get("/api/v1/stocks/QUO").json()["price"] == "12.5000"
