"""API tests for orders: submit, execute, read back, cancel, list, idempotency."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.serializers import ModelSerializer

from orders.models import Fill, Order, OrderStatus
from orders.serializers import OrderDetailSerializer, OrderOutputSerializer
from stocks.models import Stock
from tests.factories import OrderFactory, PositionFactory, StockFactory, UserFactory
from tests.helpers import assert_error, assert_order_json, token_client
from users.models import Position, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """POST an order as `user` and run the on-commit dispatch (Celery is eager)."""

    def submit(user: User, headers: dict | None = None, **body):
        with django_capture_on_commit_callbacks(execute=True):
            return token_client(user).post(
                "/api/v1/orders", body, format="json", headers=headers or {}
            )

    return submit


@pytest.fixture
def set_price(staff, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """A staff price update, with the matching it schedules run."""

    def patch(symbol: str, price: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            resp = token_client(staff).patch(
                f"/api/v1/stocks/{symbol}", {"price": price}, format="json"
            )
        assert resp.status_code == 200, resp.json()

    return patch


def rest_limit_buy(place, user: User, quantity: str = "4", limit_price: str = "45") -> Order:
    """A limit buy below ACME's 50: it rests as `open` with its cash reserved."""
    resp = place(
        user, symbol="ACME", side="buy", type="limit", quantity=quantity, limit_price=limit_price
    )
    assert resp.status_code == 202, resp.json()
    order = Order.objects.get(pk=resp.json()["id"])
    assert order.status == OrderStatus.OPEN
    return order


# --- submit and execute ---------------------------------------------------------------


def test_market_buy_is_202_with_location_and_order_json(place, user, acme):
    resp = place(user, symbol="ACME", side="buy", quantity="2")

    assert resp.status_code == 202, resp.json()
    body = resp.json()
    order = Order.objects.get()
    assert resp["Location"] == f"http://testserver/api/v1/orders/{order.pk}"
    assert_order_json(
        body,
        id=str(order.pk),
        user_id=str(user.pk),
        symbol="ACME",
        side="buy",
        type="market",
        time_in_force="gtc",
        quantity="2.000000",
        limit_price=None,
        filled_quantity="0.000000",
        client_order_id=None,
        error_code=None,
        status="accepted",
    )


def test_market_buy_reads_back_filled_and_moves_exactly_quantity_times_price(place, user, acme):
    resp = place(user, symbol="ACME", side="buy", quantity="2")
    assert resp.status_code == 202, resp.json()

    detail = token_client(user).get(f"/api/v1/orders/{resp.json()['id']}")

    assert detail.status_code == 200, detail.json()
    body = detail.json()
    assert_order_json(
        body, status="filled", filled_quantity="2.000000", average_fill_price="50.0000"
    )
    assert body["filled_at"]
    assert len(body["fills"]) == 1
    assert body["fills"][0]["quantity"] == "2.000000"
    assert body["fills"][0]["price"] == "50.0000"
    assert body["fills"][0]["executed_at"]
    user.refresh_from_db()
    assert user.cash == Decimal("9900")  # 10000 - 2 x 50
    assert user.cash_reserved == Decimal("0")
    position = Position.objects.get(user=user, stock=acme)
    assert position.quantity == Decimal("2")
    assert position.average_cost == Decimal("50")
    acme.refresh_from_db()
    assert acme.amount == Decimal("998")


def test_market_sell_fills_and_moves_exactly_quantity_times_price(place, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"), average_cost=Decimal("40"))

    resp = place(user, symbol="ACME", side="sell", quantity="4")

    assert resp.status_code == 202, resp.json()
    assert resp.json()["side"] == "sell"
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED
    assert order.average_fill_price == Decimal("50")
    user.refresh_from_db()
    assert user.cash == Decimal("10200")  # 10000 + 4 x 50
    assert user.cash_reserved == Decimal("0")
    position = Position.objects.get(user=user, stock=acme)
    assert position.quantity == Decimal("6")
    assert position.quantity_reserved == Decimal("0")
    assert position.realized_pnl == Decimal("40")  # 4 x (50 - 40)
    acme.refresh_from_db()
    assert acme.amount == Decimal("1004")


def test_marketable_limit_buy_fills_at_the_stock_price(place, user, acme):
    resp = place(user, symbol="ACME", side="buy", type="limit", quantity="3", limit_price="55")

    assert resp.status_code == 202, resp.json()
    assert resp.json()["type"] == "limit"
    assert resp.json()["limit_price"] == "55.0000"
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED
    assert [(f.quantity, f.price) for f in order.fills.all()] == [(Decimal("3"), Decimal("50"))]
    user.refresh_from_db()
    assert user.cash == Decimal("9850")
    assert user.cash_reserved == Decimal("0")


def test_marketable_limit_sell_fills_at_the_stock_price(place, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("5"))

    resp = place(user, symbol="ACME", side="sell", type="limit", quantity="5", limit_price="45")

    assert resp.status_code == 202, resp.json()
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED
    user.refresh_from_db()
    assert user.cash == Decimal("10250")
    assert Position.objects.get(user=user, stock=acme).quantity == Decimal("0")


def test_fractional_quantity_moves_cash_rounded_once(place, user):
    StockFactory(symbol="FRAC", price=Decimal("33.3333"), amount=Decimal("100"))

    resp = place(user, symbol="FRAC", side="buy", quantity="0.333333")

    assert resp.status_code == 202, resp.json()
    fill = Fill.objects.get()
    assert fill.amount == Decimal("11.1111")  # 0.333333 x 33.3333 = 11.11108889 -> 4 places
    user.refresh_from_db()
    assert user.cash == Decimal("10000") - Decimal("11.1111")
    assert user.cash_reserved == Decimal("0")


def test_non_marketable_limit_buy_rests_then_fills_after_a_price_update(
    place, set_price, user, acme
):
    order = rest_limit_buy(place, user, quantity="4", limit_price="45")
    user.refresh_from_db()
    assert user.cash == Decimal("10000")
    assert user.cash_reserved == Decimal("180")  # 4 x 45
    assert token_client(user).get(f"/api/v1/orders/{order.pk}").json()["status"] == "open"

    set_price("ACME", "44.5")

    body = token_client(user).get(f"/api/v1/orders/{order.pk}").json()
    assert body["status"] == "filled"
    assert body["fills"][0]["price"] == "44.5000"
    assert body["fills"][0]["quantity"] == "4.000000"
    user.refresh_from_db()
    assert user.cash == Decimal("9822")  # 10000 - 4 x 44.5
    assert user.cash_reserved == Decimal("0")
    assert Position.objects.get(user=user, stock=acme).average_cost == Decimal("44.5")


def test_non_marketable_limit_sell_rests_then_fills_after_a_price_update(
    place, set_price, user, acme
):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"), average_cost=Decimal("50"))
    resp = place(user, symbol="ACME", side="sell", type="limit", quantity="4", limit_price="60")
    assert resp.status_code == 202, resp.json()
    order = Order.objects.get()
    assert order.status == OrderStatus.OPEN
    assert Position.objects.get(user=user, stock=acme).quantity_reserved == Decimal("4")

    set_price("ACME", "61")

    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.average_fill_price == Decimal("61")
    user.refresh_from_db()
    assert user.cash == Decimal("10244")
    position = Position.objects.get(user=user, stock=acme)
    assert (position.quantity, position.quantity_reserved) == (Decimal("6"), Decimal("0"))


def test_trailing_slash_is_accepted(place, user, acme):
    with_slash = token_client(user).post(
        "/api/v1/orders/", {"symbol": "ACME", "side": "buy", "quantity": "1"}, format="json"
    )

    assert with_slash.status_code == 202, with_slash.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "filled", "error_code", "cash"),
    [
        # The house has 3 THIN: a market order fills 3 and cancels the rest.
        ({"quantity": "5"}, "cancelled", "3", 2018, "9970"),
        ({"quantity": "5", "time_in_force": "ioc"}, "cancelled", "3", 2018, "9970"),
        ({"quantity": "5", "time_in_force": "fok"}, "cancelled", "0", 2018, "10000"),
        ({"quantity": "3", "time_in_force": "fok"}, "filled", "3", None, "9970"),
        (
            {"quantity": "1", "type": "limit", "limit_price": "9", "time_in_force": "ioc"},
            "cancelled",
            "0",
            2019,
            "10000",
        ),
        (
            {"quantity": "1", "type": "limit", "limit_price": "9", "time_in_force": "day"},
            "open",
            "0",
            None,
            "10000",
        ),
    ],
)
def test_time_in_force_outcomes_read_back(place, user, body, status, filled, error_code, cash):
    StockFactory(symbol="THIN", price=Decimal("10"), amount=Decimal("3"))

    resp = place(user, symbol="THIN", side="buy", **body)

    assert resp.status_code == 202, resp.json()
    detail = token_client(user).get(f"/api/v1/orders/{resp.json()['id']}").json()
    assert detail["status"] == status
    assert Decimal(detail["filled_quantity"]) == Decimal(filled)
    assert detail["error_code"] == error_code
    user.refresh_from_db()
    assert user.cash == Decimal(cash)
    expected_reserved = Decimal("9") if status == "open" else Decimal("0")
    assert user.cash_reserved == expected_reserved


def test_market_buy_past_the_collar_is_rejected_and_cannot_be_cancelled(
    user, acme, set_price, django_capture_on_commit_callbacks
):
    """The price jumps between acceptance and execution: reject, release, 2013 on cancel."""
    with django_capture_on_commit_callbacks(execute=False) as dispatch:
        resp = token_client(user).post(
            "/api/v1/orders", {"symbol": "ACME", "side": "buy", "quantity": "2"}, format="json"
        )
    assert resp.status_code == 202, resp.json()
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("105")  # 2 x 50 x 1.05
    set_price("ACME", "60")  # 2 x 60 = 120 > 105
    for callback in dispatch:
        callback()

    detail = token_client(user).get(f"/api/v1/orders/{resp.json()['id']}").json()
    assert detail["status"] == "rejected"
    assert detail["error_code"] == 2006
    assert detail["fills"] == []
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("10000"), Decimal("0"))

    cancel = token_client(user).post(f"/api/v1/orders/{resp.json()['id']}/cancel")
    assert_error(cancel, 409, 2013)


def test_unauthenticated_submit_is_401_1200(api_client, acme):
    resp = api_client.post(
        "/api/v1/orders", {"symbol": "ACME", "side": "buy", "quantity": "1"}, format="json"
    )

    assert_error(resp, 401, 1200)
    assert not Order.objects.exists()


def test_unauthenticated_list_is_401_1200(api_client):
    assert_error(api_client.get("/api/v1/orders"), 401, 1200)


# --- insufficient funds ---------------------------------------------------------------


def test_insufficient_cash_is_422_2006_and_writes_nothing(place, acme):
    poor = UserFactory(cash=Decimal("100"))
    existing = rest_limit_buy(place, poor, quantity="1", limit_price="45")  # reserves 45

    resp = place(poor, symbol="ACME", side="buy", type="limit", quantity="2", limit_price="30")

    body = assert_error(resp, 422, 2006)
    assert body["error_detail"] == [{"required": "60.0000", "available": "55.0000"}]
    assert list(Order.objects.values_list("pk", flat=True)) == [existing.pk]
    poor.refresh_from_db()
    assert (poor.cash, poor.cash_reserved) == (Decimal("100"), Decimal("45"))


def test_market_buy_reserves_the_collar_so_exact_cash_is_not_enough(place, acme):
    exact = UserFactory(cash=Decimal("100"))

    resp = place(exact, symbol="ACME", side="buy", quantity="2")  # 2 x 50 x 1.05 = 105

    assert_error(resp, 422, 2006)
    assert not Order.objects.exists()
    exact.refresh_from_db()
    assert exact.cash_reserved == Decimal("0")


def test_insufficient_shares_is_422_2007_and_writes_nothing(place, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"), quantity_reserved=Decimal("8"))

    resp = place(user, symbol="ACME", side="sell", quantity="3")

    assert_error(resp, 422, 2007)
    assert not Order.objects.exists()
    position = Position.objects.get(user=user, stock=acme)
    assert (position.quantity, position.quantity_reserved) == (Decimal("10"), Decimal("8"))


def test_sell_without_a_position_is_422_2007(place, user, acme):
    resp = place(user, symbol="ACME", side="sell", quantity="1")

    assert_error(resp, 422, 2007)
    assert not Order.objects.exists()
    assert not Position.objects.exists()


def test_unknown_symbol_is_404_2005(place, user):
    resp = place(user, symbol="NOPE", side="buy", quantity="1")

    assert_error(resp, 404, 2005)
    assert not Order.objects.exists()
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("0")


# --- cancel ---------------------------------------------------------------------------


def test_cancel_resting_buy_releases_the_reservation(place, user, acme):
    order = rest_limit_buy(place, user, quantity="4", limit_price="45")
    assert token_client(user).get(f"/api/v1/users/{user.pk}").json()["available_cash"] == (
        "9820.0000"
    )

    resp = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert resp.status_code == 200, resp.json()
    assert resp.json()["id"] == str(order.pk)
    assert resp.json()["status"] == "cancelled"
    assert resp.json()["cancelled_at"]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.reserved_cash == Decimal("0")
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("10000"), Decimal("0"))
    me = token_client(user).get(f"/api/v1/users/{user.pk}").json()
    assert me["available_cash"] == "10000.0000"


def test_cancel_resting_sell_releases_the_shares(place, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"))
    resp = place(user, symbol="ACME", side="sell", type="limit", quantity="4", limit_price="99")
    order = Order.objects.get(pk=resp.json()["id"])
    assert order.status == OrderStatus.OPEN

    cancel = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert cancel.status_code == 200, cancel.json()
    assert cancel.json()["status"] == "cancelled"
    position = Position.objects.get(user=user, stock=acme)
    assert (position.quantity, position.quantity_reserved) == (Decimal("10"), Decimal("0"))
    order.refresh_from_db()
    assert order.reserved_quantity == Decimal("0")


def test_cancel_partially_filled_releases_the_rest(place, user):
    thin = StockFactory(symbol="THIN", price=Decimal("10"), amount=Decimal("3"))
    resp = place(user, symbol="THIN", side="buy", type="limit", quantity="5", limit_price="12")
    order = Order.objects.get(pk=resp.json()["id"])
    assert order.status == OrderStatus.PARTIALLY_FILLED
    user.refresh_from_db()
    assert user.cash == Decimal("9970")  # 3 x 10 paid
    assert user.cash_reserved == Decimal("24")  # 2 x 12 still held

    cancel = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert cancel.status_code == 200, cancel.json()
    assert cancel.json()["status"] == "cancelled"
    assert cancel.json()["filled_quantity"] == "3.000000"
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("9970"), Decimal("0"))
    assert Position.objects.get(user=user, stock=thin).quantity == Decimal("3")


def test_cancel_filled_is_409_2012(place, user, acme):
    resp = place(user, symbol="ACME", side="buy", quantity="1")
    order = Order.objects.get(pk=resp.json()["id"])
    assert order.status == OrderStatus.FILLED

    cancel = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert_error(cancel, 409, 2012)
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("9950"), Decimal("0"))


def test_cancel_cancelled_is_409_2014(place, user, acme):
    order = rest_limit_buy(place, user)
    assert token_client(user).post(f"/api/v1/orders/{order.pk}/cancel").status_code == 200

    again = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert_error(again, 409, 2014)
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("10000"), Decimal("0"))


def test_cancel_expired_is_409_2014(user, acme):
    order = OrderFactory(user=user, stock=acme, status=OrderStatus.EXPIRED)

    assert_error(token_client(user).post(f"/api/v1/orders/{order.pk}/cancel"), 409, 2014)


def test_cancel_rejected_is_409_2013(user, acme):
    order = OrderFactory(user=user, stock=acme, status=OrderStatus.REJECTED, error_code=2006)

    cancel = token_client(user).post(f"/api/v1/orders/{order.pk}/cancel")

    assert_error(cancel, 409, 2013)
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED


def test_another_users_order_is_404_2011_for_read_and_cancel(place, user, acme):
    owner = UserFactory()
    order = rest_limit_buy(place, owner)
    intruder = token_client(user)

    assert_error(intruder.get(f"/api/v1/orders/{order.pk}"), 404, 2011)
    assert_error(intruder.post(f"/api/v1/orders/{order.pk}/cancel"), 404, 2011)

    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    owner.refresh_from_db()
    assert owner.cash_reserved == Decimal("180")


def test_unknown_order_id_is_404_2011(user):
    missing = uuid.uuid4()

    assert_error(token_client(user).get(f"/api/v1/orders/{missing}"), 404, 2011)
    assert_error(token_client(user).post(f"/api/v1/orders/{missing}/cancel"), 404, 2011)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"])
def test_malformed_order_id_is_400_1000(user, bad_id):
    read = token_client(user).get(f"/api/v1/orders/{bad_id}")
    cancel = token_client(user).post(f"/api/v1/orders/{bad_id}/cancel")

    assert assert_error(read, 400, 1000)["error_detail"][0]["field"] == "id"
    assert assert_error(cancel, 400, 1000)["error_detail"][0]["field"] == "id"


def test_staff_can_read_and_cancel_any_order(place, staff, user, acme):
    order = rest_limit_buy(place, user)

    read = token_client(staff).get(f"/api/v1/orders/{order.pk}")
    assert read.status_code == 200, read.json()
    assert read.json()["user_id"] == str(user.pk)

    cancel = token_client(staff).post(f"/api/v1/orders/{order.pk}/cancel")
    assert cancel.status_code == 200, cancel.json()
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("0")


# --- list -----------------------------------------------------------------------------


def _orders_at(user: User, stock: Stock, count: int, **fields) -> list[Order]:
    """`count` orders, newest first, one minute apart."""
    now = timezone.now()
    return [
        OrderFactory(user=user, stock=stock, created_at=now - timedelta(minutes=i), **fields)
        for i in range(count)
    ]


def test_list_is_cursor_paginated_newest_first(user, acme):
    orders = _orders_at(user, acme, 5)
    api = token_client(user)

    page1 = api.get("/api/v1/orders", {"page_size": 2})
    assert page1.status_code == 200, page1.json()
    assert set(page1.json()) == {"next", "previous", "results"}
    assert page1.json()["previous"] is None
    page2 = api.get(page1.json()["next"])
    page3 = api.get(page2.json()["next"])

    ids = [[o["id"] for o in page.json()["results"]] for page in (page1, page2, page3)]
    expected = [str(o.pk) for o in orders]
    assert ids == [expected[0:2], expected[2:4], expected[4:5]]
    assert page3.json()["next"] is None
    back = api.get(page2.json()["previous"])
    assert [o["id"] for o in back.json()["results"]] == expected[0:2]


def test_list_decimals_are_strings(user, acme):
    OrderFactory(
        user=user,
        stock=acme,
        type="limit",
        quantity=Decimal("1.5"),
        limit_price=Decimal("49.99"),
        filled_quantity=Decimal("1.5"),
        average_fill_price=Decimal("49.5"),
    )

    order = token_client(user).get("/api/v1/orders").json()["results"][0]

    assert order["quantity"] == "1.500000"
    assert order["limit_price"] == "49.9900"
    assert order["filled_quantity"] == "1.500000"
    assert order["average_fill_price"] == "49.5000"


def test_list_shows_a_customer_only_their_own_orders(user, acme):
    mine = _orders_at(user, acme, 2)
    OrderFactory.create_batch(3, stock=acme)

    resp = token_client(user).get("/api/v1/orders")

    assert [o["id"] for o in resp.json()["results"]] == [str(o.pk) for o in mine]


def test_list_filters_by_status_symbol_and_side(user, acme):
    beta = StockFactory(symbol="BETA")
    filled_buy = OrderFactory(user=user, stock=acme, side="buy", status=OrderStatus.FILLED)
    open_buy = OrderFactory(
        user=user,
        stock=acme,
        side="buy",
        type="limit",
        limit_price=Decimal("1"),
        status=OrderStatus.OPEN,
    )
    sell = OrderFactory(user=user, stock=acme, side="sell", status=OrderStatus.FILLED)
    beta_buy = OrderFactory(user=user, stock=beta, side="buy", status=OrderStatus.CANCELLED)
    api = token_client(user)

    def ids(**query) -> set[str]:
        resp = api.get("/api/v1/orders", query)
        assert resp.status_code == 200, resp.json()
        return {o["id"] for o in resp.json()["results"]}

    assert ids(status="open") == {str(open_buy.pk)}
    assert ids(status="filled") == {str(filled_buy.pk), str(sell.pk)}
    assert ids(symbol="BETA") == {str(beta_buy.pk)}
    assert ids(symbol="beta") == {str(beta_buy.pk)}
    assert ids(side="sell") == {str(sell.pk)}
    assert ids(side="buy", symbol="ACME", status="filled") == {str(filled_buy.pk)}
    assert ids(symbol="NOPE") == set()


def test_customer_filtering_by_another_user_id_gets_nothing(user, acme):
    other = UserFactory()
    OrderFactory.create_batch(2, user=other, stock=acme)
    mine = OrderFactory(user=user, stock=acme)
    api = token_client(user)

    others = api.get("/api/v1/orders", {"user_id": str(other.pk)})
    own = api.get("/api/v1/orders", {"user_id": str(user.pk)})

    assert others.status_code == 200, others.json()
    assert others.json()["results"] == []
    assert [o["id"] for o in own.json()["results"]] == [str(mine.pk)]


def test_staff_lists_everyone_and_filters_by_any_user(staff, user, acme):
    other = UserFactory()
    theirs = OrderFactory.create_batch(2, user=other, stock=acme)
    mine = OrderFactory(user=user, stock=acme)
    api = token_client(staff)

    everyone = api.get("/api/v1/orders")
    filtered = api.get("/api/v1/orders", {"user_id": str(other.pk)})

    assert {o["id"] for o in everyone.json()["results"]} == {
        str(mine.pk),
        *(str(o.pk) for o in theirs),
    }
    assert {o["id"] for o in filtered.json()["results"]} == {str(o.pk) for o in theirs}
    assert {o["user_id"] for o in filtered.json()["results"]} == {str(other.pk)}


@pytest.mark.parametrize(
    "query",
    [{"status": "bogus"}, {"side": "hold"}, {"user_id": "not-a-uuid"}],
)
def test_list_bad_filter_is_400_1000(user, query):
    body = assert_error(token_client(user).get("/api/v1/orders", query), 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == list(query)


def test_list_undecodable_cursor_is_400_1000(user):
    resp = token_client(user).get("/api/v1/orders", {"cursor": "garbage"})

    body = assert_error(resp, 400, 1000)
    assert body["error_detail"][0]["field"] == "cursor"


@pytest.mark.parametrize("count", [5, 30])
def test_list_query_count_does_not_grow_with_rows(user, acme, count, django_assert_max_num_queries):
    OrderFactory.create_batch(count, user=user, stock=StockFactory())
    OrderFactory.create_batch(count, user=user, stock=acme)
    api = token_client(user)

    # measured: token+user, its last use (once a minute), one page of orders+stock
    with django_assert_max_num_queries(3):
        resp = api.get("/api/v1/orders", {"page_size": 100})
    assert resp.status_code == 200
    assert len(resp.json()["results"]) == 2 * count


@pytest.mark.parametrize("count", [5, 30])
def test_filtered_list_query_count_does_not_grow_with_rows(
    staff, acme, count, django_assert_max_num_queries
):
    owner = UserFactory()
    OrderFactory.create_batch(count, user=owner, stock=acme)
    api = token_client(staff)

    with django_assert_max_num_queries(3):  # token+user, its last use, orders+stock
        resp = api.get(
            "/api/v1/orders",
            {"user_id": str(owner.pk), "symbol": "acme", "status": "filled", "side": "buy"},
        )
    assert len(resp.json()["results"]) == count


# --- idempotency ----------------------------------------------------------------------

LIMIT_BUY = {
    "symbol": "ACME",
    "side": "buy",
    "type": "limit",
    "quantity": "4",
    "limit_price": "45",
}


def test_same_client_order_id_and_body_returns_the_first_order(place, user, acme):
    first = place(user, **LIMIT_BUY, client_order_id="my-order-1")
    assert first.status_code == 202, first.json()
    assert first.json()["client_order_id"] == "my-order-1"

    second = place(user, **LIMIT_BUY, client_order_id="my-order-1")

    assert second.status_code == 202, second.json()
    assert second.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("180")  # reserved once, not twice


def test_replayed_market_order_is_not_executed_twice(place, user, acme):
    body = {"symbol": "ACME", "side": "buy", "quantity": "2", "client_order_id": "once"}
    first = place(user, **body)

    second = place(user, **{**body, "quantity": "2.000"})

    assert second.status_code == 202, second.json()
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["status"] == "filled"
    assert Fill.objects.count() == 1
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("9900"), Decimal("0"))


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": "5"},
        {"limit_price": "44"},
        {"side": "sell"},
        {"time_in_force": "day"},
        {"type": "market", "limit_price": None},
        {"symbol": "BETA"},
    ],
)
def test_same_client_order_id_with_another_body_is_409_2017(place, user, acme, change):
    StockFactory(symbol="BETA")
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"))
    first = place(user, **LIMIT_BUY, client_order_id="dup-key")
    assert first.status_code == 202, first.json()

    second = place(user, **{**LIMIT_BUY, **change}, client_order_id="dup-key")

    body = assert_error(second, 409, 2017)
    assert body["error_detail"][0]["order_id"] == first.json()["id"]
    assert Order.objects.count() == 1
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("180")
    assert Position.objects.get(user=user, stock=acme).quantity_reserved == Decimal("0")


def test_idempotency_key_header_works_like_client_order_id(place, user, acme):
    first = place(user, headers={"Idempotency-Key": "hdr-key-1"}, **LIMIT_BUY)
    assert first.status_code == 202, first.json()
    assert first.json()["client_order_id"] == "hdr-key-1"

    same = place(user, headers={"Idempotency-Key": "hdr-key-1"}, **LIMIT_BUY)
    via_body = place(user, **LIMIT_BUY, client_order_id="hdr-key-1")
    other = place(user, headers={"Idempotency-Key": "hdr-key-1"}, **{**LIMIT_BUY, "quantity": "1"})

    assert same.status_code == 202
    assert same.json()["id"] == first.json()["id"]
    assert via_body.json()["id"] == first.json()["id"]
    assert_error(other, 409, 2017)
    assert Order.objects.count() == 1
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("180")


def test_client_order_id_in_body_wins_over_the_header(place, user, acme):
    resp = place(user, headers={"Idempotency-Key": "from-header"}, **LIMIT_BUY, client_order_id="b")

    assert resp.status_code == 202, resp.json()
    assert Order.objects.get().client_order_id == "b"


def test_the_same_key_for_two_users_makes_two_orders(place, user, acme):
    other = UserFactory()

    first = place(user, **LIMIT_BUY, client_order_id="shared")
    second = place(other, **LIMIT_BUY, client_order_id="shared")

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert Order.objects.count() == 2


def test_orders_without_a_key_are_never_deduplicated(place, user, acme):
    place(user, **LIMIT_BUY)
    place(user, **LIMIT_BUY)

    assert Order.objects.count() == 2
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("360")


@pytest.mark.parametrize("serializer", [OrderOutputSerializer, OrderDetailSerializer])
def test_orders_are_rendered_by_hand_exactly_as_drf_would(serializer, user, acme):
    stored = OrderFactory(
        user=user,
        stock=acme,
        type="limit",
        quantity=Decimal("1.5"),
        limit_price=Decimal("50.5"),
        status=OrderStatus.FILLED,
        filled_quantity=Decimal("1.5"),
        average_fill_price=Decimal("50.25"),
        error_code=2018,
        client_order_id="pinned",
        filled_at=timezone.now(),
    )
    Fill.objects.create(
        order=stored, quantity=Decimal("1.5"), price=Decimal("50.25"), amount=Decimal("75.375")
    )
    for order in (stored, Order.objects.select_related("stock").get(pk=stored.pk)):
        rendered = serializer(order)
        assert rendered.data == ModelSerializer.to_representation(rendered, order)
