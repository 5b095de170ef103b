"""The OpenAPI schema: valid, tagged by path, and documenting every error answer in the
one error shape (brokerage.api.schema)."""

from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from brokerage.api.errors import ErrorCode, error_body
from brokerage.api.schema import tag_for_path
from tests.helpers import assert_error

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    # --validate checks the result against the OpenAPI 3 meta-schema; warnings fail too.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "ErrorResponse" in out.read_text()


def test_every_operation_has_a_declared_tag(schema):
    declared = {tag["name"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]}
    for path, method, operation in operations(schema):
        tags = operation.get("tags", [])
        assert tags, (method, path)
        assert "api" not in tags, (method, path)
        assert set(tags) <= declared, (method, path, tags)  # describe a new tag in TAGS


def test_tags_are_read_from_the_path():
    assert tag_for_path("/api/v1/auth/token") == "auth"
    assert tag_for_path("/api/v1/auth/logout") == "auth"
    assert tag_for_path("/api/v1/users/{id}/telegram-link") == "accounts"
    assert tag_for_path("/api/v1/orders/{id}/cancel/") == "orders"
    assert tag_for_path("/api/v1/orders:buy") == "legacy"
    assert tag_for_path("/api/v1/positions/") == "positions"
    assert tag_for_path("/api/health") == "health"
    assert tag_for_path("/api/ready") == "health"
    assert tag_for_path("/api/v2/watchlists/{id}") == "watchlists"


def test_every_error_answer_has_the_error_shape(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                content = response["content"]
                assert list(content) == ["application/json"], (method, path, status)
                assert content["application/json"]["schema"] == ERROR_REF, (method, path, status)


def test_generic_errors_are_documented_where_they_can_happen(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        where = (method, path)
        if any(requirement for requirement in operation.get("security", [])):
            assert "401" in codes, where
        if "{" in path:
            assert "404" in codes, where
        if method in UNSAFE:
            assert {"400", "403", "413"} <= codes, where
        if "requestBody" in operation:
            assert {"400", "415"} <= codes, where
        if not path.startswith(("/api/health", "/api/ready")):  # the probes aren't throttled
            assert "429" in codes, where
            assert "Retry-After" in operation["responses"]["429"]["headers"], where


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/v1/orders/", {"404", "409", "422"}),
        ("post", "/api/v1/orders/{id}/cancel/", {"404", "409"}),
        ("post", "/api/v1/orders:buy", {"404", "422"}),
        ("post", "/api/v1/orders:sell", {"404", "422"}),
        ("post", "/api/v1/orders:cancel", {"404", "409"}),
        ("post", "/api/v1/users/", {"409"}),
        ("post", "/api/v1/stocks/", {"409"}),
        ("get", "/api/ready", {"503"}),
    ],
)
def test_domain_errors_are_documented(schema, method, path, statuses):
    assert statuses <= set(schema["paths"][path][method]["responses"])


def validator(schema: dict[str, Any]) -> jsonschema.Draft4Validator:
    # OpenAPI 3.0 schema objects are close to draft 4; refs resolve within the document.
    return jsonschema.Draft4Validator({**ERROR_REF, "components": schema["components"]})


@pytest.mark.parametrize(
    "body",
    [
        error_body(ErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."),
        error_body(
            ErrorCode.VALIDATION,
            "Invalid input.",
            [{"field": "quantity", "code": "required", "message": "This field is required."}],
        ),
        error_body(
            ErrorCode.INSUFFICIENT_CASH,
            "Insufficient cash for this order.",
            [{"required": "500.0000", "available": "10.0000"}],
        ),
        error_body(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "client_order_id was already used for a different order.",
            [{"order_id": "0b7c", "fields": ["quantity"]}],
        ),
    ],
)
def test_error_bodies_match_the_component(schema, body):
    validator(schema).validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"error_code": 1000, "error_message": "x"},  # no error_detail
        {"error_code": 1000, "error_message": "x", "error_detail": [], "detail": "x"},
        {"error_code": 42, "error_message": "x", "error_detail": []},  # not a code
        {"error_code": 1000, "error_message": "x", "error_detail": [{"field": "quantity"}]},
    ],
)
def test_the_component_refuses_other_shapes(schema, body):
    assert not validator(schema).is_valid(body)


def test_a_too_large_body_answers_the_documented_413(schema, api_client, db):
    # The fuzzer doesn't send 64 KiB bodies; the middleware's 413 is checked here.
    resp = api_client.post(
        "/api/v1/orders",
        data="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        content_type="application/json",
    )
    validator(schema).validate(assert_error(resp, 413, ErrorCode.VALIDATION))
