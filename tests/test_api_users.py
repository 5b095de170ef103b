"""API tests for accounts: sign-up, read, update, auth, positions."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.factories import OrderFactory, PositionFactory, StockFactory, UserFactory
from tests.helpers import assert_error, assert_order_json
from users.authentication import digest_of
from users.models import Position, User

pytestmark = pytest.mark.django_db


def signup(client: APIClient, **fields):
    body = {"name": "Ada", "surname": "Lovelace", "email": "ada@example.com", **fields}
    return client.post("/api/v1/users", body, format="json")


# --- sign-up --------------------------------------------------------------------------


def test_signup_returns_201_with_a_working_token(api_client):
    resp = signup(api_client)

    assert resp.status_code == 201, resp.json()
    body = resp.json()
    user = User.objects.get(email="ada@example.com")
    assert body["id"] == str(user.pk)
    assert body["name"] == "Ada"
    assert body["surname"] == "Lovelace"
    assert body["email"] == "ada@example.com"
    (token,) = user.api_tokens.all()  # stored as its hash only
    assert token.digest == digest_of(body["token"]) != body["token"]
    assert body["is_staff"] is False

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = fresh.get(f"/api/v1/users/{body['id']}")
    assert me.status_code == 200, me.json()
    assert me.json()["email"] == "ada@example.com"


def test_signup_default_balance_is_default_user_balance(api_client, settings):
    resp = signup(api_client)

    assert resp.status_code == 201, resp.json()
    assert Decimal("37000") == settings.DEFAULT_USER_BALANCE
    assert resp.json()["cash"] == "37000.0000"
    assert resp.json()["available_cash"] == "37000.0000"
    user = User.objects.get()
    assert user.cash == Decimal("37000")
    assert user.cash_reserved == Decimal("0")


def test_signup_default_balance_follows_the_setting(api_client, settings):
    settings.DEFAULT_USER_BALANCE = Decimal("123.45")

    resp = signup(api_client)

    assert resp.status_code == 201, resp.json()
    assert resp.json()["cash"] == "123.4500"
    assert User.objects.get().cash == Decimal("123.45")


def test_signup_with_custom_balance(api_client):
    resp = signup(api_client, balance="1234.5")

    assert resp.status_code == 201, resp.json()
    assert resp.json()["cash"] == "1234.5000"
    assert resp.json()["available_cash"] == "1234.5000"
    assert User.objects.get().cash == Decimal("1234.5")


def test_signup_with_zero_balance_is_allowed(api_client):
    resp = signup(api_client, balance="0")

    assert resp.status_code == 201, resp.json()
    assert User.objects.get().cash == Decimal("0")


def test_signup_with_password_sets_it(api_client):
    resp = signup(api_client, password="s3cret-pass")

    assert resp.status_code == 201, resp.json()
    user = User.objects.get()
    assert user.check_password("s3cret-pass")


def test_signup_grants_starter_positions_at_each_stock_price(api_client, settings):
    settings.DEFAULT_USER_STOCK_AMOUNT = 10
    StockFactory(symbol="ACME", price=Decimal("50.0000"), amount=Decimal("1000"))
    StockFactory(symbol="BETA", price=Decimal("12.3456"), amount=Decimal("5"))

    resp = signup(api_client)

    assert resp.status_code == 201, resp.json()
    user = User.objects.get()
    held = {
        p.stock.symbol: (p.quantity, p.quantity_reserved, p.average_cost)
        for p in Position.objects.filter(user=user).select_related("stock")
    }
    assert held == {
        "ACME": (Decimal("10"), Decimal("0"), Decimal("50.0000")),
        "BETA": (Decimal("10"), Decimal("0"), Decimal("12.3456")),
    }


def test_signup_grants_nothing_when_stock_amount_is_zero(api_client, settings):
    settings.DEFAULT_USER_STOCK_AMOUNT = 0
    StockFactory(symbol="ACME")

    resp = signup(api_client)

    assert resp.status_code == 201, resp.json()
    assert not Position.objects.exists()


def test_signup_duplicate_email_is_409_2020(api_client):
    UserFactory(email="ada@example.com")

    resp = signup(api_client)

    assert_error(resp, 409, 2020)
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_signup_duplicate_email_differing_in_case_is_409_2020(api_client):
    assert signup(api_client).status_code == 201

    resp = signup(api_client, email="ADA@Example.COM")

    assert_error(resp, 409, 2020)
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": None}, "email"),
        ({"balance": "-1"}, "balance"),
        ({"balance": "-0.0001"}, "balance"),
        ({"balance": "abc"}, "balance"),
        ({"balance": "NaN"}, "balance"),
        ({"balance": "Infinity"}, "balance"),
        ({"balance": "1.00001"}, "balance"),
        ({"password": "short"}, "password"),
    ],
)
def test_signup_bad_input_is_400_1000(api_client, fields, bad_field):
    resp = signup(api_client, **fields)

    body = assert_error(resp, 400, 1000)
    assert bad_field in {item["field"] for item in body["error_detail"]}
    for item in body["error_detail"]:
        assert set(item) == {"field", "code", "message"}
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"surname": "Lovelace"}, "name"),
        ({"name": "Ada"}, "surname"),
        ({"name": " ", "surname": "Lovelace"}, "name"),
        ({"name": "Ada", "surname": ""}, "surname"),
    ],
)
def test_signup_without_a_name_or_surname_is_400_naming_it(api_client, fields, named):
    body = {"email": "ada@example.com", **fields}

    resp = api_client.post("/api/v1/users", body, format="json")

    error = assert_error(resp, 400, 1000)
    assert [detail["field"] for detail in error["error_detail"]] == [named]
    assert not User.objects.exists()


def test_signup_without_email_is_400_1000(api_client):
    resp = api_client.post("/api/v1/users", {"name": "Ada", "surname": "Lovelace"}, format="json")

    body = assert_error(resp, 400, 1000)
    assert body["error_detail"] == [
        {"field": "email", "code": "required", "message": "This field is required."}
    ]
    assert not User.objects.exists()


# --- authentication -------------------------------------------------------------------


def test_unauthenticated_user_read_is_401_1200(api_client, user):
    assert_error(api_client.get(f"/api/v1/users/{user.pk}"), 401, 1200)


def test_unauthenticated_user_patch_is_401_1200(api_client, user):
    resp = api_client.patch(f"/api/v1/users/{user.pk}", {"name": "X"}, format="json")

    assert_error(resp, 401, 1200)
    user.refresh_from_db()
    assert user.name == "Test"


def test_unauthenticated_positions_is_401_1200(api_client):
    assert_error(api_client.get("/api/v1/positions"), 401, 1200)


def test_bad_token_is_401_1200(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(api_client.get(f"/api/v1/users/{user.pk}"), 401, 1200)


# --- read -----------------------------------------------------------------------------


def test_get_self_has_cash_positions_and_latest_orders(client_for, user, acme):
    user.cash_reserved = Decimal("100")
    user.save(update_fields=["cash_reserved"])
    PositionFactory(user=user, stock=acme, quantity=Decimal("4"), average_cost=Decimal("40"))
    order = OrderFactory(user=user, stock=acme, quantity=Decimal("3"), status=OrderStatus.FILLED)

    resp = client_for(user).get(f"/api/v1/users/{user.pk}")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["id"] == str(user.pk)
    assert body["email"] == user.email
    assert body["cash"] == "10000.0000"
    assert body["available_cash"] == "9900.0000"
    assert "token" not in body
    assert body["positions"] == [
        {
            "symbol": "ACME",
            "quantity": "4.000000",
            "available_quantity": "4.000000",
            "average_cost": "40.0000",
            "market_value": "200.0000",
            "unrealized_pnl": "40.0000",
            "realized_pnl": "0.0000",
        }
    ]
    assert [o["id"] for o in body["orders"]] == [str(order.pk)]
    assert_order_json(body["orders"][0], symbol="ACME", quantity="3.000000")
    assert body["orders"][0]["status"] == "filled"


def test_get_self_lists_only_the_ten_latest_orders_newest_first(client_for, user, acme):
    now = timezone.now()
    orders = [
        OrderFactory(user=user, stock=acme, created_at=now - timedelta(minutes=i))
        for i in range(12)
    ]
    OrderFactory(stock=acme, created_at=now + timedelta(minutes=1))  # someone else's

    resp = client_for(user).get(f"/api/v1/users/{user.pk}")

    assert resp.status_code == 200, resp.json()
    assert [o["id"] for o in resp.json()["orders"]] == [str(o.pk) for o in orders[:10]]


def test_get_another_users_id_is_404_2003(client_for, user):
    other = UserFactory()

    resp = client_for(user).get(f"/api/v1/users/{other.pk}")

    body = assert_error(resp, 404, 2003)
    assert other.email not in resp.content.decode()
    assert body["error_message"] == "User not found."


def test_get_unknown_user_id_is_404_2003(client_for, user):
    assert_error(client_for(user).get(f"/api/v1/users/{uuid.uuid4()}"), 404, 2003)


def test_staff_can_read_any_user(client_for, staff, acme):
    other = UserFactory(cash=Decimal("5.5"))
    PositionFactory(user=other, stock=acme, quantity=Decimal("2"))
    OrderFactory(user=other, stock=acme)

    resp = client_for(staff).get(f"/api/v1/users/{other.pk}")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["id"] == str(other.pk)
    assert body["cash"] == "5.5000"
    assert [p["symbol"] for p in body["positions"]] == ["ACME"]
    assert len(body["orders"]) == 1


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0000"])
def test_get_malformed_user_id_is_400_1000(client_for, user, bad_id):
    body = assert_error(client_for(user).get(f"/api/v1/users/{bad_id}"), 400, 1000)
    assert body["error_detail"][0]["field"] == "id"


def test_user_detail_query_count_is_flat(client_for, user, acme, django_assert_max_num_queries):
    stocks = [StockFactory() for _ in range(5)]
    for stock in stocks:
        PositionFactory(user=user, stock=stock)
    OrderFactory.create_batch(10, user=user, stock=acme)
    api = client_for(user)

    # token+user, its last use (once a minute), user, positions+stock, orders+stock
    with django_assert_max_num_queries(5):
        resp = api.get(f"/api/v1/users/{user.pk}")
    assert resp.status_code == 200
    assert len(resp.json()["positions"]) == 5


# --- update ---------------------------------------------------------------------------


def test_patch_names(client_for, user):
    resp = client_for(user).patch(
        f"/api/v1/users/{user.pk}", {"name": "Grace", "surname": "Hopper"}, format="json"
    )

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert (body["name"], body["surname"]) == ("Grace", "Hopper")
    user.refresh_from_db()
    assert (user.name, user.surname) == ("Grace", "Hopper")


def test_patch_only_changes_given_fields(client_for, user):
    user.telegram_chat_id = "42"
    user.save()

    resp = client_for(user).patch(f"/api/v1/users/{user.pk}", {"name": "Only"}, format="json")

    assert resp.status_code == 200, resp.json()
    user.refresh_from_db()
    assert user.name == "Only"
    assert user.telegram_chat_id == "42"
    assert user.surname.startswith("User")


def test_patch_cannot_touch_cash(client_for, user):
    resp = client_for(user).patch(
        f"/api/v1/users/{user.pk}", {"cash": "999999", "is_staff": True}, format="json"
    )

    assert resp.status_code == 200, resp.json()
    user.refresh_from_db()
    assert user.cash == Decimal("10000")
    assert user.is_staff is False


@pytest.mark.parametrize("chat_id", ["-100123456", "", "not a chat"])
def test_a_typed_telegram_chat_id_is_refused_400_1000(client_for, user, chat_id):
    user.telegram_chat_id = "42"
    user.save()
    name = user.name

    resp = client_for(user).patch(
        f"/api/v1/users/{user.pk}", {"name": "X", "telegram_chat_id": chat_id}, format="json"
    )

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["telegram_chat_id"]
    user.refresh_from_db()
    assert (user.telegram_chat_id, user.name) == ("42", name)  # nothing half-written


def test_patch_another_user_is_404_2003(client_for, user):
    other = UserFactory(name="Other")

    resp = client_for(user).patch(f"/api/v1/users/{other.pk}", {"name": "Hacked"}, format="json")

    assert_error(resp, 404, 2003)
    other.refresh_from_db()
    assert other.name == "Other"


def test_staff_can_patch_another_user(client_for, staff):
    other = UserFactory()

    resp = client_for(staff).patch(f"/api/v1/users/{other.pk}", {"name": "Ada"}, format="json")

    assert resp.status_code == 200, resp.json()
    other.refresh_from_db()
    assert other.name == "Ada"


def test_patch_malformed_user_id_is_400_1000(client_for, user):
    resp = client_for(user).patch("/api/v1/users/nope", {"name": "X"}, format="json")

    assert_error(resp, 400, 1000)


# --- positions ------------------------------------------------------------------------


def test_positions_lists_own_only_with_decimal_strings(client_for, user, acme):
    beta = StockFactory(symbol="BETA", price=Decimal("10.0000"))
    PositionFactory(
        user=user,
        stock=acme,
        quantity=Decimal("3"),
        quantity_reserved=Decimal("1"),
        average_cost=Decimal("40.1234"),
    )
    PositionFactory(user=user, stock=beta, quantity=Decimal("0.5"), average_cost=Decimal("12"))
    PositionFactory(stock=acme, quantity=Decimal("99"))  # another user's

    resp = client_for(user).get("/api/v1/positions")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["next"] is None
    assert body["previous"] is None
    by_symbol = {p["symbol"]: p for p in body["results"]}
    assert set(by_symbol) == {"ACME", "BETA"}
    assert by_symbol["ACME"] == {
        "symbol": "ACME",
        "quantity": "3.000000",
        "available_quantity": "2.000000",
        "average_cost": "40.1234",
        "market_value": "150.0000",  # 3 x 50
        "unrealized_pnl": "29.6298",  # 3 x (50 - 40.1234)
        "realized_pnl": "0.0000",
    }
    assert by_symbol["BETA"]["market_value"] == "5.0000"
    assert by_symbol["BETA"]["unrealized_pnl"] == "-1.0000"


def test_positions_are_empty_for_a_user_without_any(client_for, user, acme):
    PositionFactory(stock=acme)

    resp = client_for(user).get("/api/v1/positions")

    assert resp.status_code == 200, resp.json()
    assert resp.json()["results"] == []


def test_positions_query_count_is_flat(client_for, user, django_assert_max_num_queries):
    for _ in range(15):
        PositionFactory(user=user)
    api = client_for(user)

    # token+user, its last use (once a minute), positions+stock
    with django_assert_max_num_queries(3):
        resp = api.get("/api/v1/positions")
    assert len(resp.json()["results"]) == 15


def test_user_list_is_paged_all_for_staff_and_only_self_for_customers(client_for, staff):
    customers = [UserFactory() for _ in range(3)]

    mine = client_for(customers[0]).get("/api/v1/users")
    assert mine.status_code == 200, mine.content
    assert [u["id"] for u in mine.json()["results"]] == [str(customers[0].pk)]

    everyone = client_for(staff).get("/api/v1/users?page_size=2")
    assert everyone.status_code == 200, everyone.content
    assert len(everyone.json()["results"]) == 2
    assert everyone.json()["next"]


def test_accounts_are_rendered_by_hand_exactly_as_drf_would(user, acme):
    from rest_framework.serializers import ModelSerializer

    from orders.selectors import latest_orders
    from orders.serializers import AccountDetailSerializer
    from users.selectors import get_user_detail
    from users.serializers import (
        PositionOutputSerializer,
        UserCreatedSerializer,
        UserDetailSerializer,
        UserOutputSerializer,
    )

    PositionFactory(
        user=user,
        stock=acme,
        quantity=Decimal("2.5"),
        quantity_reserved=Decimal("0.5"),
        average_cost=Decimal("40.1234"),
        realized_pnl=Decimal("-3.2"),
    )
    OrderFactory(user=user, stock=acme, filled_at=timezone.now())
    detail = get_user_detail(actor=user, user_id=user.pk)
    detail.latest_orders = latest_orders(user_id=user.pk)

    serializers = (
        UserOutputSerializer,
        UserCreatedSerializer,
        UserDetailSerializer,
        AccountDetailSerializer,
    )
    for serializer in serializers:
        rendered = serializer(detail, context={"token": "0123456789abcdef0123456789abcdef01234567"})
        assert rendered.data == ModelSerializer.to_representation(rendered, detail)
    (position,) = detail.position_list
    rendered = PositionOutputSerializer(position)
    assert rendered.data == ModelSerializer.to_representation(rendered, position)
    assert len(AccountDetailSerializer(detail).data["orders"]) == 1
