"""Bad input never answers 500 and never half-writes: every error has its 4xx and code.

Every error answer has exactly `error_code`, `error_message`, `error_detail`; validation
errors list the fields as `[{field, code, message}]`.
"""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from stocks.models import Stock
from tests.factories import StockFactory, UserFactory
from tests.helpers import ERROR_KEYS, assert_error, token_client
from users.models import User

pytestmark = pytest.mark.django_db

FIELD_ERROR_KEYS = {"field", "code", "message"}

VALID = {"symbol": "ACME", "side": "buy", "quantity": "1"}
LIMIT = {**VALID, "type": "limit", "limit_price": "50"}


def assert_field_errors(body: dict, field: str) -> None:
    assert body["error_detail"], body
    for item in body["error_detail"]:
        assert set(item) == FIELD_ERROR_KEYS, item
    assert field in {item["field"] for item in body["error_detail"]}, body


def assert_nothing_written(user: User) -> None:
    assert not Order.objects.exists()
    user.refresh_from_db()
    assert user.cash == Decimal("10000")
    assert user.cash_reserved == Decimal("0")


@pytest.fixture
def api(user, acme) -> APIClient:
    client = token_client(user)
    return client


# --- bad JSON bodies for POST /api/v1/orders ------------------------------------------

BAD_ORDER_BODIES = [
    # quantity
    pytest.param({**VALID, "quantity": "-1"}, "quantity", id="quantity-negative"),
    pytest.param({**VALID, "quantity": "0"}, "quantity", id="quantity-zero"),
    pytest.param({**VALID, "quantity": "-0"}, "quantity", id="quantity-minus-zero"),
    pytest.param({**VALID, "quantity": 0}, "quantity", id="quantity-zero-number"),
    pytest.param({**VALID, "quantity": -3}, "quantity", id="quantity-negative-number"),
    pytest.param({**VALID, "quantity": "abc"}, "quantity", id="quantity-text"),
    pytest.param({**VALID, "quantity": ""}, "quantity", id="quantity-blank"),
    pytest.param({**VALID, "quantity": None}, "quantity", id="quantity-null"),
    pytest.param({**VALID, "quantity": True}, "quantity", id="quantity-bool"),
    pytest.param({**VALID, "quantity": [1]}, "quantity", id="quantity-list"),
    pytest.param({**VALID, "quantity": {"v": 1}}, "quantity", id="quantity-object"),
    pytest.param({**VALID, "quantity": "NaN"}, "quantity", id="quantity-NaN-string"),
    pytest.param({**VALID, "quantity": "nan"}, "quantity", id="quantity-nan-string"),
    pytest.param({**VALID, "quantity": "sNaN"}, "quantity", id="quantity-sNaN-string"),
    pytest.param({**VALID, "quantity": "Infinity"}, "quantity", id="quantity-Infinity-string"),
    pytest.param({**VALID, "quantity": "-Infinity"}, "quantity", id="quantity-neg-inf-string"),
    pytest.param({**VALID, "quantity": "inf"}, "quantity", id="quantity-inf-string"),
    pytest.param({**VALID, "quantity": "1e999"}, "quantity", id="quantity-1e999-string"),
    pytest.param({**VALID, "quantity": "0.0000001"}, "quantity", id="quantity-7-places"),
    pytest.param({**VALID, "quantity": 0.0000001}, "quantity", id="quantity-7-places-number"),
    pytest.param({**VALID, "quantity": "1.1234567"}, "quantity", id="quantity-7-places-big"),
    pytest.param({**VALID, "quantity": "1000000001"}, "quantity", id="quantity-over-max"),
    pytest.param({**VALID, "quantity": "1" * 1001}, "quantity", id="quantity-very-long"),
    pytest.param({"symbol": "ACME", "side": "buy"}, "quantity", id="quantity-missing"),
    # limit_price
    pytest.param({**LIMIT, "limit_price": "NaN"}, "limit_price", id="price-NaN-string"),
    pytest.param({**LIMIT, "limit_price": "Infinity"}, "limit_price", id="price-inf-string"),
    pytest.param({**LIMIT, "limit_price": "-Infinity"}, "limit_price", id="price-neg-inf"),
    pytest.param({**LIMIT, "limit_price": "1e999"}, "limit_price", id="price-1e999-string"),
    pytest.param({**LIMIT, "limit_price": "50.00001"}, "limit_price", id="price-5-places"),
    pytest.param({**LIMIT, "limit_price": 50.00001}, "limit_price", id="price-5-places-number"),
    pytest.param({**LIMIT, "limit_price": "0"}, "limit_price", id="price-zero"),
    pytest.param({**LIMIT, "limit_price": "-1"}, "limit_price", id="price-negative"),
    pytest.param({**LIMIT, "limit_price": "fifty"}, "limit_price", id="price-text"),
    pytest.param({**LIMIT, "limit_price": [50]}, "limit_price", id="price-list"),
    # shape
    pytest.param({**VALID, "side": "hold"}, "side", id="side-unknown"),
    pytest.param({**VALID, "side": ""}, "side", id="side-blank"),
    pytest.param({**VALID, "side": None}, "side", id="side-null"),
    pytest.param({**VALID, "side": ["buy"]}, "side", id="side-list"),
    pytest.param({"symbol": "ACME", "quantity": "1"}, "side", id="side-missing"),
    pytest.param({**VALID, "type": "stop"}, "type", id="type-unknown"),
    pytest.param({**VALID, "type": ""}, "type", id="type-blank"),
    pytest.param({**VALID, "time_in_force": "gtd"}, "time_in_force", id="tif-unknown"),
    pytest.param({**VALID, "time_in_force": ""}, "time_in_force", id="tif-blank"),
    pytest.param({**VALID, "type": "limit"}, "limit_price", id="limit-without-price"),
    pytest.param({**LIMIT, "limit_price": None}, "limit_price", id="limit-with-null-price"),
    pytest.param({**VALID, "limit_price": "50"}, "limit_price", id="market-with-price"),
    pytest.param({**VALID, "symbol": "AC ME"}, "symbol", id="symbol-malformed"),
    pytest.param({**VALID, "symbol": "1ACME"}, "symbol", id="symbol-leading-digit"),
    pytest.param({**VALID, "symbol": "TOOLONGSYMB"}, "symbol", id="symbol-too-long"),
    pytest.param({**VALID, "symbol": ""}, "symbol", id="symbol-blank"),
    pytest.param({**VALID, "symbol": None}, "symbol", id="symbol-null"),
    pytest.param({**VALID, "symbol": {"a": 1}}, "symbol", id="symbol-object"),
    pytest.param({"side": "buy", "quantity": "1"}, "symbol", id="symbol-missing"),
    pytest.param({**VALID, "client_order_id": "has space"}, "client_order_id", id="coid-space"),
    pytest.param({**VALID, "client_order_id": "x" * 65}, "client_order_id", id="coid-too-long"),
    pytest.param({**VALID, "client_order_id": ""}, "client_order_id", id="coid-blank"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ORDER_BODIES)
def test_bad_order_body_is_400_1000(api, user, body, field):
    resp = api.post("/api/v1/orders", body, format="json")

    body = assert_error(resp, 400, 1000)
    assert_field_errors(body, field)
    assert_nothing_written(user)


def test_unknown_symbol_is_404_2005(api, user):
    body = assert_error(
        api.post("/api/v1/orders", {**VALID, "symbol": "NOPE"}, format="json"), 404, 2005
    )

    assert body["error_message"] == "Stock NOPE not found."
    assert_nothing_written(user)


# --- raw bodies: what a JSON encoder would not produce --------------------------------

RAW_BAD_BODIES = [
    pytest.param(b'{"symbol": "ACME", "side": "buy", "quantity": NaN}', id="NaN-literal"),
    pytest.param(b'{"symbol": "ACME", "side": "buy", "quantity": Infinity}', id="Infinity-literal"),
    pytest.param(b'{"symbol": "ACME", "side": "buy", "quantity": -Infinity}', id="-Infinity-lit"),
    pytest.param(b'{"symbol": "ACME", "side": "buy", "quantity": 1e999}', id="quantity-1e999"),
    pytest.param(b'{"symbol": "ACME", "side": "buy", "quantity": -1e999}', id="quantity--1e999"),
    pytest.param(
        b'{"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 1, "limit_price": NaN}',
        id="price-NaN-literal",
    ),
    pytest.param(
        b'{"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 1, "limit_price": 1e999}',
        id="price-1e999",
    ),
    pytest.param(
        b'{"symbol": "ACME", "side": "buy", "quantity": 1' + b"0" * 5000 + b"}",
        id="quantity-5000-digit-integer",
    ),
    pytest.param(b'{"symbol": "ACME", "side": "buy",', id="truncated-json"),
    pytest.param(b"{'symbol': 'ACME'}", id="single-quotes"),
    pytest.param(b"not json at all", id="not-json"),
    pytest.param(b'{"symbol": "\xff\xfe"}', id="invalid-utf8"),
    pytest.param(b"[]", id="empty-list"),
    pytest.param(b'[{"symbol": "ACME", "side": "buy", "quantity": "1"}]', id="list-of-orders"),
    pytest.param(b'"buy ACME"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"true", id="boolean"),
    pytest.param(b"null", id="null"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"[" * 5000 + b"]" * 5000, id="deeply-nested-list"),
    pytest.param(b'{"a":' * 3000 + b"1" + b"}" * 3000, id="deeply-nested-object"),
]


@pytest.mark.parametrize("raw", RAW_BAD_BODIES)
def test_raw_bad_json_body_is_400_1000(api, user, raw):
    resp = api.post("/api/v1/orders", raw, content_type="application/json")

    body = assert_error(resp, 400, 1000)
    for item in body["error_detail"]:
        assert set(item) == FIELD_ERROR_KEYS, item
    assert_nothing_written(user)


def test_nan_literal_is_a_parse_error_on_the_body(api, user):
    resp = api.post(
        "/api/v1/orders",
        b'{"symbol": "ACME", "side": "buy", "quantity": NaN}',
        content_type="application/json",
    )

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["body"]
    assert body["error_detail"][0]["code"] == "parse_error"


def test_body_that_is_not_an_object_names_non_field_errors(api, user):
    resp = api.post("/api/v1/orders", b"[1, 2]", content_type="application/json")

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["non_field_errors"]
    assert body["error_detail"][0]["code"] == "invalid"


def test_validation_errors_list_every_bad_field(api, user):
    resp = api.post(
        "/api/v1/orders",
        {"symbol": "ACME", "side": "hold", "quantity": "-1", "time_in_force": "x"},
        format="json",
    )

    body = assert_error(resp, 400, 1000)
    assert {item["field"]: item["code"] for item in body["error_detail"]} == {
        "side": "invalid_choice",
        "quantity": "min_value",
        "time_in_force": "invalid_choice",
    }
    assert_nothing_written(user)


@pytest.mark.parametrize(
    ("path", "method", "as_staff"),
    [
        ("/api/v1/users", "post", False),
        ("/api/v1/stocks", "post", True),
        ("/api/v1/orders", "post", False),
        ("/api/v1/orders:buy", "post", False),
        ("/api/v1/orders:sell", "post", False),
        ("/api/v1/orders:cancel", "post", False),
        ("/api/v1/stocks/ACME", "patch", True),
        ("/api/v1/users/{me}", "patch", False),
    ],
)
@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"{bad json"])
def test_every_write_endpoint_answers_400_1000_to_non_object_bodies(
    user, staff, acme, path, method, as_staff, raw
):
    caller = staff if as_staff else user
    client = token_client(caller)
    users_before = User.objects.count()

    resp = getattr(client, method)(path.format(me=caller.pk), raw, content_type="application/json")

    assert_error(resp, 400, 1000)
    assert not Order.objects.exists()
    assert User.objects.count() == users_before
    acme.refresh_from_db()
    assert acme.price == Decimal("50")


# --- request-level errors -------------------------------------------------------------


def test_oversized_body_is_413_1000(api, user, settings):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    resp = api.post("/api/v1/orders", {**VALID, "note": padding}, format="json")

    body = assert_error(resp, 413, 1000)
    assert body["error_detail"] == [
        {
            "field": "body",
            "code": "too_large",
            "message": f"Limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        }
    ]
    assert_nothing_written(user)


@pytest.mark.parametrize(
    "query", ["symbol=%00", "status=filled&symbol=A%00", "%00=1", "cursor=%00", "side=buy&side=%00"]
)
def test_a_nul_in_the_query_is_400_1000(api, user, query):
    body = assert_error(api.get(f"/api/v1/orders?{query}"), 400, 1000)

    assert body["error_detail"][0]["field"] == "query"


def test_oversized_sign_up_is_413_1000(api_client, settings):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    resp = api_client.post(
        "/api/v1/users", {"email": "big@example.com", "name": padding}, format="json"
    )

    assert_error(resp, 413, 1000)
    assert not User.objects.filter(email="big@example.com").exists()


def test_form_body_with_too_many_fields_is_400_1000(api, user, settings):
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    raw = "symbol=ACME&side=buy&quantity=1&" + "&".join(f"f{i}=1" for i in range(fields))
    assert len(raw) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    resp = api.post(
        "/api/v1/orders", raw.encode(), content_type="application/x-www-form-urlencoded"
    )

    assert_error(resp, 400, 1000)
    assert_nothing_written(user)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/csv"])
def test_wrong_content_type_is_415_1004(api, user, content_type):
    resp = api.post(
        "/api/v1/orders",
        b'{"symbol": "ACME", "side": "buy", "quantity": "1"}',
        content_type=content_type,
    )

    assert_error(resp, 415, 1004)
    assert_nothing_written(user)


def test_overlong_idempotency_key_header_is_400_1000(api, user):
    """client_order_id allows 64 characters; the header must not get past that into the DB."""
    resp = api.post("/api/v1/orders", VALID, format="json", headers={"Idempotency-Key": "k" * 65})

    assert_error(resp, 400, 1000)
    assert_nothing_written(user)


@pytest.mark.parametrize("key", ["has space", "semi;colon", "slash/key"])
def test_malformed_idempotency_key_header_is_400_1000(api, user, key):
    """The header works like client_order_id, so it takes the same `[A-Za-z0-9._:-]{1,64}`."""
    resp = api.post("/api/v1/orders", VALID, format="json", headers={"Idempotency-Key": key})

    assert_error(resp, 400, 1000)
    assert_nothing_written(user)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nope", "/api/v2/orders", "/nope", "/api/v1/orders/a.b", "/api/v1/orders/x/y/z"],
)
def test_unknown_url_is_404_1001(api, path):
    body = assert_error(api.get(path), 404, 1001)
    assert body["error_detail"] == []


def test_unknown_url_is_404_1001_for_anonymous_posts(api_client):
    assert_error(api_client.post("/api/v1/nothing-here", {}, format="json"), 404, 1001)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/orders/{order}"),
        ("patch", "/api/v1/orders/{order}"),
        ("delete", "/api/v1/orders/{order}"),
        ("delete", "/api/v1/orders"),
        ("get", "/api/v1/orders/{order}/cancel"),
        ("get", "/api/v1/orders:buy"),
        ("get", "/api/v1/orders:cancel"),
        ("put", "/api/v1/users/{me}"),
        ("delete", "/api/v1/users/{me}"),
        ("delete", "/api/v1/positions"),
    ],
)
def test_method_not_allowed_is_405_1002(api, user, method, path):
    url = path.format(order=uuid.uuid4(), me=user.pk)

    resp = getattr(api, method)(url, {}, format="json")

    assert_error(resp, 405, 1002)
    assert not Order.objects.exists()


def test_staff_delete_of_a_stock_is_405_1002(client_for, staff, acme):
    resp = client_for(staff).delete("/api/v1/stocks/ACME")

    assert_error(resp, 405, 1002)
    assert Stock.objects.filter(symbol="ACME").exists()


def test_errors_from_a_fresh_user_have_the_same_shape(api_client):
    """A smoke pass over one error of each family, through real tokens."""
    user = UserFactory()
    StockFactory(symbol="ACME")
    api_client = token_client(user)

    answers = [
        api_client.get(f"/api/v1/orders/{uuid.uuid4()}"),  # 2011
        api_client.post("/api/v1/orders", {**VALID, "side": "sell"}, format="json"),  # 2007
        api_client.post("/api/v1/stocks", {"symbol": "X"}, format="json"),  # 1201
        api_client.get("/api/v1/users/not-a-uuid"),  # 1000
    ]

    assert [(r.status_code, r.json()["error_code"]) for r in answers] == [
        (404, 2011),
        (422, 2007),
        (403, 1201),
        (400, 1000),
    ]
    for resp in answers:
        assert set(resp.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    "cursor",
    [
        "cD1nYXJiYWdl",  # p=garbage: decodes, but is no position of this list
        "not-base64!",
        "cj0xJnA9MjAyNi0xMy0zMQ==",  # r=1&p=2026-13-31: an impossible time
        "bz0tMSZwPXg=",  # o=-1&p=x: a negative offset
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/users", "/api/v1/notifications"])
def test_a_tampered_cursor_is_bad_input_not_a_server_error(staff, path, cursor):
    resp = token_client(staff).get(path, {"cursor": cursor})

    body = assert_error(resp, 400, 1000)
    assert body["error_detail"][0]["field"] == "cursor"


def test_any_text_is_a_position_in_the_symbol_ordered_stock_list(staff):
    # p=garbage is a valid place among symbols: an empty page, not an error.
    resp = token_client(staff).get("/api/v1/stocks", {"cursor": "cD1nYXJiYWdl"})
    assert resp.status_code == 200, resp.content
    assert token_client(staff).get("/api/v1/stocks", {"cursor": "not-base64!"}).status_code == 400
