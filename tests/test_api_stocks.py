"""API tests for listed stocks: public reads, staff-only writes, price moves that match."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderStatus
from stocks.models import Stock
from tests.factories import StockFactory, UserFactory
from tests.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

NEW_STOCK = {
    "symbol": "NEWCO",
    "name": "New Co",
    "currency": "EUR",
    "price": "12.5",
    "amount": "300",
}


# --- reads ----------------------------------------------------------------------------


def test_list_is_public_and_sorted_by_symbol(api_client):
    StockFactory(symbol="ZED", price=Decimal("1.5"))
    StockFactory(symbol="ACME", price=Decimal("50"))
    StockFactory(symbol="MID", price=Decimal("7"))

    resp = api_client.get("/api/v1/stocks")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert [s["symbol"] for s in body["results"]] == ["ACME", "MID", "ZED"]
    assert body["next"] is None
    assert body["previous"] is None


def test_list_pages_with_a_cursor(api_client):
    for symbol in ["AAA", "BBB", "CCC", "DDD", "EEE"]:
        StockFactory(symbol=symbol)

    first = api_client.get("/api/v1/stocks", {"page_size": 2})
    assert first.status_code == 200
    assert [s["symbol"] for s in first.json()["results"]] == ["AAA", "BBB"]
    second = api_client.get(first.json()["next"])
    assert [s["symbol"] for s in second.json()["results"]] == ["CCC", "DDD"]
    third = api_client.get(second.json()["next"])
    assert [s["symbol"] for s in third.json()["results"]] == ["EEE"]
    assert third.json()["next"] is None
    assert third.json()["previous"] is not None


def test_retrieve_is_public_with_contract_fields(api_client):
    StockFactory(
        symbol="ACME",
        name="Acme Corp",
        currency="USD",
        price=Decimal("51.25"),
        first_price=Decimal("50"),
        amount=Decimal("1000"),
    )

    resp = api_client.get("/api/v1/stocks/ACME")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert {
        key: body[key] for key in ("symbol", "name", "currency", "price", "first_price", "amount")
    } == {
        "symbol": "ACME",
        "name": "Acme Corp",
        "currency": "USD",
        "price": "51.2500",
        "first_price": "50.0000",
        "amount": "1000.000000",
    }
    assert body["updated_at"]


def test_retrieve_is_case_insensitive(api_client, acme):
    resp = api_client.get("/api/v1/stocks/acme")

    assert resp.status_code == 200, resp.json()
    assert resp.json()["symbol"] == "ACME"


def test_retrieve_unknown_symbol_is_404_2005(api_client):
    body = assert_error(api_client.get("/api/v1/stocks/NOPE"), 404, 2005)
    assert body["error_message"] == "Stock NOPE not found."


def test_stock_list_query_count_is_flat(api_client, django_assert_max_num_queries):
    for _ in range(20):
        StockFactory()

    with django_assert_max_num_queries(1):
        resp = api_client.get("/api/v1/stocks")
    assert len(resp.json()["results"]) == 20


# --- create ---------------------------------------------------------------------------


def test_staff_creates_a_stock(client_for, staff):
    resp = client_for(staff).post("/api/v1/stocks", NEW_STOCK, format="json")

    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["symbol"] == "NEWCO"
    assert body["currency"] == "EUR"
    assert body["price"] == "12.5000"
    assert body["first_price"] == "12.5000"
    assert body["amount"] == "300.000000"
    stock = Stock.objects.get(symbol="NEWCO")
    assert (stock.price, stock.first_price, stock.amount) == (
        Decimal("12.5"),
        Decimal("12.5"),
        Decimal("300"),
    )


@pytest.mark.parametrize("missing", ["symbol", "name", "currency", "price", "amount"])
def test_create_without_a_required_field_is_400_naming_it(client_for, staff, missing):
    body = {"symbol": "NEW", "name": "New", "currency": "USD", "price": "10", "amount": "5"}
    del body[missing]

    resp = client_for(staff).post("/api/v1/stocks", body, format="json")

    error = assert_error(resp, 400, 1000)
    assert [detail["field"] for detail in error["error_detail"]] == [missing]
    assert not Stock.objects.filter(symbol="NEW").exists()


def test_create_accepts_first_price_as_in_the_original(client_for, staff):
    resp = client_for(staff).post(
        "/api/v1/stocks",
        {
            "symbol": "OLD",
            "name": "Old Style",
            "currency": "USD",
            "first_price": "33.3333",
            "amount": "10",
        },
        format="json",
    )

    assert resp.status_code == 201, resp.json()
    assert resp.json()["price"] == "33.3333"
    assert resp.json()["first_price"] == "33.3333"
    assert resp.json()["currency"] == "USD"
    stock = Stock.objects.get(symbol="OLD")
    assert stock.price == Decimal("33.3333")


def test_create_uppercases_the_symbol(client_for, staff):
    resp = client_for(staff).post(
        "/api/v1/stocks", {**NEW_STOCK, "symbol": " brk.b "}, format="json"
    )

    assert resp.status_code == 201, resp.json()
    assert Stock.objects.filter(symbol="BRK.B").exists()


def test_create_by_customer_is_403_1201(client_for, user):
    resp = client_for(user).post("/api/v1/stocks", NEW_STOCK, format="json")

    assert_error(resp, 403, 1201)
    assert not Stock.objects.filter(symbol="NEWCO").exists()


def test_create_anonymous_is_401_1200(api_client):
    resp = api_client.post("/api/v1/stocks", NEW_STOCK, format="json")

    assert_error(resp, 401, 1200)
    assert not Stock.objects.filter(symbol="NEWCO").exists()


def test_create_duplicate_symbol_is_409_2004(client_for, staff, acme):
    resp = client_for(staff).post(
        "/api/v1/stocks", {**NEW_STOCK, "symbol": "acme", "price": "1"}, format="json"
    )

    assert_error(resp, 409, 2004)
    acme.refresh_from_db()
    assert acme.price == Decimal("50")
    assert Stock.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "bad_field"),
    [
        ({"symbol": "1ABC"}, "symbol"),
        ({"symbol": "TOOLONGSYMB"}, "symbol"),
        ({"symbol": "AC ME"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": None}, "symbol"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "DOLLAR"}, "currency"),
        ({"currency": "U1D"}, "currency"),
        ({"price": "0"}, "price"),
        ({"price": "-5"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "Infinity"}, "price"),
        ({"price": "1.00001"}, "price"),
        ({"price": None}, "price"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "0.0000001"}, "amount"),
        ({"name": ""}, "name"),
    ],
)
def test_create_bad_input_is_400_1000(client_for, staff, change, bad_field):
    resp = client_for(staff).post("/api/v1/stocks", {**NEW_STOCK, **change}, format="json")

    body = assert_error(resp, 400, 1000)
    assert bad_field in {item["field"] for item in body["error_detail"]}
    assert not Stock.objects.exists()


def test_create_without_any_price_is_400_1000(client_for, staff):
    body = {key: value for key, value in NEW_STOCK.items() if key != "price"}

    resp = client_for(staff).post("/api/v1/stocks", body, format="json")

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["price"]
    assert not Stock.objects.exists()


# --- update ---------------------------------------------------------------------------


def test_staff_patches_price_and_amount(client_for, staff, acme):
    resp = client_for(staff).patch(
        "/api/v1/stocks/ACME", {"price": "55.5", "amount": "10"}, format="json"
    )

    assert resp.status_code == 200, resp.json()
    assert resp.json()["price"] == "55.5000"
    assert resp.json()["first_price"] == "50.0000"
    assert resp.json()["amount"] == "10.000000"
    acme.refresh_from_db()
    assert (acme.price, acme.first_price, acme.amount) == (
        Decimal("55.5"),
        Decimal("50"),
        Decimal("10"),
    )


def test_patch_by_customer_is_403_1201(client_for, user, acme):
    resp = client_for(user).patch("/api/v1/stocks/ACME", {"price": "1"}, format="json")

    assert_error(resp, 403, 1201)
    acme.refresh_from_db()
    assert acme.price == Decimal("50")


def test_patch_anonymous_is_401_1200(api_client, acme):
    resp = api_client.patch("/api/v1/stocks/ACME", {"price": "1"}, format="json")

    assert_error(resp, 401, 1200)
    acme.refresh_from_db()
    assert acme.price == Decimal("50")


def test_patch_unknown_symbol_is_404_2005(client_for, staff):
    resp = client_for(staff).patch("/api/v1/stocks/NOPE", {"price": "1"}, format="json")

    assert_error(resp, 404, 2005)


@pytest.mark.parametrize(
    "change",
    [{"price": "0"}, {"price": "-1"}, {"price": "NaN"}, {"price": "x"}, {"amount": "-1"}],
)
def test_patch_bad_input_is_400_1000(client_for, staff, acme, change):
    resp = client_for(staff).patch("/api/v1/stocks/ACME", change, format="json")

    assert_error(resp, 400, 1000)
    acme.refresh_from_db()
    assert (acme.price, acme.amount) == (Decimal("50"), Decimal("1000"))


def _rest_limit_buy(user, quantity: str, limit_price: str, capture) -> dict:
    api = token_client(user)
    with capture(execute=True):
        resp = api.post(
            "/api/v1/orders",
            {
                "symbol": "ACME",
                "side": "buy",
                "type": "limit",
                "quantity": quantity,
                "limit_price": limit_price,
            },
            format="json",
        )
    assert resp.status_code == 202, resp.json()
    return resp.json()


def test_staff_price_patch_fills_a_resting_limit_buy(
    client_for, staff, acme, django_capture_on_commit_callbacks
):
    buyer = UserFactory(cash=Decimal("1000"))
    placed = _rest_limit_buy(buyer, "4", "45", django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=placed["id"])
    assert order.status == OrderStatus.OPEN
    buyer.refresh_from_db()
    assert buyer.cash_reserved == Decimal("180")  # 4 x 45

    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(staff).patch("/api/v1/stocks/ACME", {"price": "44"}, format="json")

    assert resp.status_code == 200, resp.json()
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.filled_quantity == Decimal("4")
    assert order.average_fill_price == Decimal("44")
    buyer.refresh_from_db()
    assert buyer.cash == Decimal("824")  # 1000 - 4 x 44
    assert buyer.cash_reserved == Decimal("0")
    assert buyer.positions.get(stock=acme).quantity == Decimal("4")
    acme.refresh_from_db()
    assert acme.amount == Decimal("996")


def test_price_patch_that_is_not_marketable_leaves_the_order_open(
    client_for, staff, acme, django_capture_on_commit_callbacks
):
    buyer = UserFactory(cash=Decimal("1000"))
    placed = _rest_limit_buy(buyer, "4", "45", django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(staff).patch("/api/v1/stocks/ACME", {"price": "46"}, format="json")

    assert resp.status_code == 200, resp.json()
    order = Order.objects.get(pk=placed["id"])
    assert order.status == OrderStatus.OPEN
    assert order.filled_quantity == Decimal("0")
    buyer.refresh_from_db()
    assert (buyer.cash, buyer.cash_reserved) == (Decimal("1000"), Decimal("180"))


def test_amount_patch_fills_the_rest_of_a_partially_filled_buy(
    client_for, staff, django_capture_on_commit_callbacks
):
    stock = StockFactory(symbol="THIN", price=Decimal("10"), amount=Decimal("3"))
    buyer = UserFactory(cash=Decimal("1000"))
    api = token_client(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        placed = api.post(
            "/api/v1/orders",
            {
                "symbol": "THIN",
                "side": "buy",
                "type": "limit",
                "quantity": "5",
                "limit_price": "10",
            },
            format="json",
        ).json()
    order = Order.objects.get(pk=placed["id"])
    assert order.status == OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == Decimal("3")

    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(staff).patch("/api/v1/stocks/THIN", {"amount": "10"}, format="json")

    assert resp.status_code == 200, resp.json()
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.filled_quantity == Decimal("5")
    buyer.refresh_from_db()
    assert buyer.cash == Decimal("950")
    assert buyer.cash_reserved == Decimal("0")
    stock.refresh_from_db()
    assert stock.amount == Decimal("8")
