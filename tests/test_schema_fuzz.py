"""Schema fuzzing: every operation, called in-process with input generated from the
OpenAPI schema, as a customer, as staff and anonymously, then chains of calls along the
links schemathesis infers (create a stock, trade it, cancel). No answer may be a 5xx, and
each must be what the schema documents: status, content type, headers and body, the
error shape included.

Deterministic (hypothesis derandomized) and bounded, so every run tries the same
examples and the file fits in about a minute.
"""

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import PositionFactory, StockFactory, UserFactory
from tests.helpers import token_key
from users.models import User

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

CUSTOMER_ID = uuid.UUID("00000000-0000-4000-8000-00000000c057")
SYMBOL = "ACME"

# Values that exist, mixed into some generated ones: purely random symbols, ids and
# quantities would almost never get past validation to the services.
CONFIG: dict[str, Any] = {
    "generation": {"deterministic": True, "with-security-parameters": False},
    "dictionaries": {
        "symbols": {"values": [SYMBOL]},
        "customers": {"values": [str(CUSTOMER_ID)]},
        "quantities": {"values": ["1", "2.5", "10"]},
        "prices": {"values": ["40", "50", "60.25"]},
    },
    "parameters": {
        "body.symbol": {"dictionary": "symbols", "probability": 0.5},
        "body.stock_symbol": {"dictionary": "symbols", "probability": 0.5},
        "path.symbol": {"dictionary": "symbols", "probability": 0.5},
        "path.id": {"dictionary": "customers", "probability": 0.3},
        "body.user_id": {"dictionary": "customers", "probability": 0.5},
        "body.quantity": {"dictionary": "quantities", "probability": 0.5},
        "body.amount": {"dictionary": "quantities", "probability": 0.5},
        "body.limit_price": {"dictionary": "prices", "probability": 0.5},
        "body.price": {"dictionary": "prices", "probability": 0.5},
    },
}
# The coverage phase (boundary values, unexpected methods: a fixed few hundred
# requests) runs once, for the customer; the other callers get random examples only.
QUICK = {**CONFIG, "phases": {"coverage": {"enabled": False}}}

# /api/ready probes Kafka and the Celery broker, which unit tests don't run: its 503
# is then the documented answer, not a fault.
EXCLUDED_PATHS = ["/api/ready"]

APP = get_wsgi_application()  # in-process: the whole middleware stack, no socket
GENERATED = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)


def load_schema(config: dict[str, Any]) -> Any:
    loaded = schemathesis.openapi.from_dict(
        copy.deepcopy(GENERATED), config=schemathesis.Config.from_dict(config)
    )
    loaded.app = APP
    return loaded.exclude(path=EXCLUDED_PATHS)


schema = load_schema(CONFIG)
quick_schema = load_schema(QUICK)

FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _app_in_test_transaction() -> Iterator[None]:
    """As Django's test client does: the WSGI handler closes "old" connections around
    each request, and that would end the transaction each test runs in."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def market(db: None, settings: Any, _app_in_test_transaction: None) -> dict[str, User]:
    # Throttles have their own tests; here they would only turn examples into 429s.
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES)
    customer = UserFactory(id=CUSTOMER_ID, cash=Decimal("100000.0000"))
    staff = UserFactory(is_staff=True)
    acme = StockFactory(symbol=SYMBOL, price=Decimal("50.0000"), amount=Decimal("1000"))
    PositionFactory(user=customer, stock=acme, quantity=Decimal("100"))
    return {"customer": customer, "staff": staff}


def token_header(user: User | None) -> dict[str, str]:
    if user is None:
        return {}
    return {"Authorization": f"Token {token_key(user)}"}  # a new one: a fuzzed logout revokes


Capture = Callable[..., AbstractContextManager[Any]]


def call_and_validate(case: Any, capture: Capture, user: User | None) -> None:
    headers = token_header(user)
    # Orders execute after commit: run those callbacks, so fills and later states occur.
    with capture(execute=True):
        response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=12)
def test_operation_as_customer(
    case: Any, market: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    call_and_validate(case, django_capture_on_commit_callbacks, market["customer"])


@quick_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=6)
def test_operation_as_staff(
    case: Any, market: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    call_and_validate(case, django_capture_on_commit_callbacks, market["staff"])


@quick_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=3)
def test_operation_anonymously(
    case: Any, market: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    call_and_validate(case, django_capture_on_commit_callbacks, None)


def test_linked_calls_as_staff(
    market: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    """Chains along the inferred links: an answer's id or symbol feeds the next call."""
    staff = market["staff"]

    class LinkedCalls(quick_schema.as_state_machine()):
        # Every chain starts from the same rows, so a replayed chain gets the same answers
        # (hypothesis requires it) whatever the chains before it did.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": token_header(staff)}

        def call(self, case: Any, **kwargs: Any) -> Any:
            with django_capture_on_commit_callbacks(execute=True):
                return case.call(**kwargs)

        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            case.validate_response(
                response, checks=CHECKS, headers=kwargs["headers"], transport_kwargs=kwargs
            )

    LinkedCalls.run(settings=settings(FUZZ_SETTINGS, max_examples=25, stateful_step_count=6))
