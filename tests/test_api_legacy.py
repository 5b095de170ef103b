"""The original-compatible endpoints: POST /api/v1/orders:buy, :sell and :cancel."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus
from tests.factories import OrderFactory, PositionFactory, UserFactory
from tests.helpers import assert_error, assert_order_json, token_client
from users.models import Position, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """POST to an original endpoint as `caller` (None: anonymous) and run the dispatch."""

    def post(caller: User | None, action: str, body: dict):
        client = token_client(caller) if caller else APIClient()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/api/v1/orders:{action}", body, format="json")

    return post


def order_body(user: User, **change) -> dict:
    return {
        "user_id": str(user.pk),
        "stock_symbol": "ACME",
        "price": "45",
        "amount": "4",
        **change,
    }


# --- orders:buy / orders:sell ---------------------------------------------------------


def test_legacy_buy_is_a_gtc_limit_order_at_price(legacy, user, acme):
    resp = legacy(user, "buy", order_body(user))

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
        type="limit",
        time_in_force="gtc",
        limit_price="45.0000",
        quantity="4.000000",
    )
    assert order.status == OrderStatus.OPEN  # 45 < ACME's 50: it rests
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("180")


def test_legacy_buy_at_or_above_the_price_fills_at_the_price(legacy, user, acme):
    resp = legacy(user, "buy", order_body(user, price="60", amount="2"))

    assert resp.status_code == 202, resp.json()
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED
    assert order.average_fill_price == Decimal("50")
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("9900"), Decimal("0"))
    assert Position.objects.get(user=user, stock=acme).quantity == Decimal("2")


def test_legacy_sell_is_a_limit_sell_at_price(legacy, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"), average_cost=Decimal("40"))

    resp = legacy(user, "sell", order_body(user, price="45", amount="3"))

    assert resp.status_code == 202, resp.json()
    assert resp.json()["side"] == "sell"
    assert resp.json()["type"] == "limit"
    assert resp.json()["limit_price"] == "45.0000"
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED  # 50 >= 45
    user.refresh_from_db()
    assert user.cash == Decimal("10150")
    assert Position.objects.get(user=user, stock=acme).quantity == Decimal("7")


def test_legacy_sell_above_the_price_rests(legacy, user, acme):
    PositionFactory(user=user, stock=acme, quantity=Decimal("10"))

    resp = legacy(user, "sell", order_body(user, price="70", amount="3"))

    assert resp.status_code == 202, resp.json()
    assert Order.objects.get().status == OrderStatus.OPEN
    assert Position.objects.get(user=user, stock=acme).quantity_reserved == Decimal("3")


@pytest.mark.parametrize("action", ["buy", "sell"])
def test_legacy_order_needs_a_token(legacy, user, acme, action):
    resp = legacy(None, action, order_body(user))

    assert_error(resp, 401, 1200)
    assert not Order.objects.exists()


@pytest.mark.parametrize("action", ["buy", "sell"])
def test_legacy_order_for_another_user_by_a_customer_is_400_1000(legacy, user, acme, action):
    victim = UserFactory()
    PositionFactory(user=victim, stock=acme)

    resp = legacy(user, action, order_body(victim))

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["user_id"]
    assert not Order.objects.exists()
    victim.refresh_from_db()
    assert victim.cash_reserved == Decimal("0")


def test_staff_may_place_a_legacy_order_for_another_user(legacy, staff, acme):
    customer = UserFactory()

    resp = legacy(staff, "buy", order_body(customer))

    assert resp.status_code == 202, resp.json()
    assert resp.json()["user_id"] == str(customer.pk)
    order = Order.objects.get()
    assert order.user_id == customer.pk
    customer.refresh_from_db()
    assert customer.cash_reserved == Decimal("180")
    staff.refresh_from_db()
    assert staff.cash_reserved == Decimal("0")


def test_staff_legacy_order_for_an_unknown_user_is_404_2003(legacy, staff, acme):
    resp = legacy(staff, "buy", {**order_body(staff), "user_id": str(uuid.uuid4())})

    assert_error(resp, 404, 2003)
    assert not Order.objects.exists()


def test_legacy_buy_without_cash_is_422_2006(legacy, acme):
    poor = UserFactory(cash=Decimal("10"))

    resp = legacy(poor, "buy", order_body(poor))

    assert_error(resp, 422, 2006)
    assert not Order.objects.exists()


def test_legacy_sell_without_shares_is_422_2007(legacy, user, acme):
    assert_error(legacy(user, "sell", order_body(user)), 422, 2007)
    assert not Order.objects.exists()


def test_legacy_order_for_an_unknown_stock_is_404_2005(legacy, user, acme):
    assert_error(legacy(user, "buy", order_body(user, stock_symbol="NOPE")), 404, 2005)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"user_id": None}, "user_id"),
        ({"price": "0"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "Infinity"}, "price"),
        ({"price": "1.00001"}, "price"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-2"}, "amount"),
        ({"amount": "many"}, "amount"),
        ({"amount": "0.0000001"}, "amount"),
        ({"stock_symbol": "bad symbol"}, "stock_symbol"),
    ],
)
def test_legacy_order_bad_input_is_400_1000(legacy, user, acme, change, field):
    resp = legacy(user, "buy", order_body(user, **change))

    body = assert_error(resp, 400, 1000)
    assert field in {item["field"] for item in body["error_detail"]}
    assert not Order.objects.exists()


@pytest.mark.parametrize("missing", ["user_id", "stock_symbol", "price", "amount"])
def test_legacy_order_missing_field_is_400_1000(legacy, user, acme, missing):
    body = {k: v for k, v in order_body(user).items() if k != missing}

    resp = legacy(user, "buy", body)

    detail = assert_error(resp, 400, 1000)["error_detail"]
    assert {"field": missing, "code": "required", "message": "This field is required."} in detail
    assert not Order.objects.exists()


# --- orders:cancel --------------------------------------------------------------------


def test_legacy_cancel_is_202_with_the_cancelled_order(legacy, user, acme):
    placed = legacy(user, "buy", order_body(user)).json()

    resp = legacy(user, "cancel", {"order_id": placed["id"]})

    assert resp.status_code == 202, resp.json()
    assert resp.json()["id"] == placed["id"]
    assert resp.json()["status"] == "cancelled"
    assert Order.objects.get().status == OrderStatus.CANCELLED
    user.refresh_from_db()
    assert (user.cash, user.cash_reserved) == (Decimal("10000"), Decimal("0"))


def test_legacy_cancel_needs_a_token(legacy, user, acme):
    placed = legacy(user, "buy", order_body(user)).json()

    assert_error(legacy(None, "cancel", {"order_id": placed["id"]}), 401, 1200)
    assert Order.objects.get().status == OrderStatus.OPEN


def test_legacy_cancel_of_another_users_order_is_404_2011(legacy, user, acme):
    owner = UserFactory()
    placed = legacy(owner, "buy", order_body(owner)).json()

    resp = legacy(user, "cancel", {"order_id": placed["id"]})

    assert_error(resp, 404, 2011)
    assert Order.objects.get().status == OrderStatus.OPEN
    owner.refresh_from_db()
    assert owner.cash_reserved == Decimal("180")


def test_staff_legacy_cancel_of_a_customer_order(legacy, staff, user, acme):
    placed = legacy(user, "buy", order_body(user)).json()

    resp = legacy(staff, "cancel", {"order_id": placed["id"]})

    assert resp.status_code == 202, resp.json()
    user.refresh_from_db()
    assert user.cash_reserved == Decimal("0")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (OrderStatus.FILLED, 2012),
        (OrderStatus.REJECTED, 2013),
        (OrderStatus.CANCELLED, 2014),
        (OrderStatus.EXPIRED, 2014),
    ],
)
def test_legacy_cancel_of_a_finished_order_is_409(legacy, user, acme, status, code):
    order = OrderFactory(user=user, stock=acme, status=status)

    assert_error(legacy(user, "cancel", {"order_id": str(order.pk)}), 409, code)
    order.refresh_from_db()
    assert order.status == status


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"order_id": str(uuid.UUID(int=1))}, 404, 2011),
        ({"order_id": "not-a-uuid"}, 400, 1000),
        ({"order_id": None}, 400, 1000),
        ({}, 400, 1000),
    ],
)
def test_legacy_cancel_bad_order_id(legacy, user, body, status, code):
    assert_error(legacy(user, "cancel", body), status, code)
