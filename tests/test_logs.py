"""Log lines carry their request, user, order and trace; JSON in production."""

import json
import logging
import sys
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider

from brokerage import logs
from tests.factories import UserFactory
from tests.helpers import token_key, wait_until

pytestmark = pytest.mark.django_db


def test_the_callers_request_id_is_echoed_and_on_the_requests_log_lines(client, caplog):
    customer = UserFactory()
    missing = uuid.uuid4()
    response = client.get(
        f"/api/v1/orders/{missing}",
        HTTP_AUTHORIZATION=f"Token {token_key(customer)}",
        HTTP_X_REQUEST_ID="trade-desk-42",
    )

    assert response.status_code == 404
    assert response["X-Request-ID"] == "trade-desk-42"
    answered = [r for r in caplog.records if r.name == "django.request"]  # every 4xx
    assert answered
    assert answered[-1].request_id == "trade-desk-42"
    assert answered[-1].user_id == str(customer.pk)
    assert logs.request_id.get() == ""  # cleared once the response was closed


@pytest.mark.parametrize("forged", ["", "x" * 200, "a b", "new\nline", "<script>"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client, forged):
    response = client.get("/api/health", HTTP_X_REQUEST_ID=forged)

    assert response["X-Request-ID"] != forged
    assert len(response["X-Request-ID"]) == 32


def test_json_lines_hold_the_fields_and_the_context_that_is_set():
    record = logging.getLogger("brokerage.test").makeRecord(
        "brokerage.test", logging.WARNING, __file__, 1, "order %s held", ("A1",), None
    )
    record.request_id, record.user_id, record.order_id = "r1", "u1", ""
    record.trace_id, record.span_id = "ab" * 16, ""

    line = json.loads(logs.Json().format(record))

    assert line["level"] == "WARNING"
    assert line["logger"] == "brokerage.test"
    assert line["message"] == "order A1 held"
    assert line["request_id"] == "r1"
    assert line["user_id"] == "u1"
    assert line["trace_id"] == "ab" * 16
    assert "order_id" not in line  # unset: left out
    assert "span_id" not in line
    assert "timestamp" in line


def test_records_made_inside_a_span_carry_its_trace_and_span_ids():
    tracer = TracerProvider().get_tracer(__name__)  # an SDK tracer: real span contexts
    with tracer.start_as_current_span("work") as span:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
        made = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "m", (), None)
    context = span.get_span_context()
    assert made.trace_id == format(context.trace_id, "032x")
    assert made.span_id == format(context.span_id, "016x")
    assert not hasattr(record, "trace_id")  # the factory adds them, not LogRecord itself


def test_console_lines_append_the_context():
    record = logging.LogRecord("brokerage.x", logging.INFO, __file__, 1, "filled", (), None)
    record.request_id, record.user_id, record.order_id = "r1", "", "o1"

    assert (
        logs.Console().format(record).endswith("INFO brokerage.x filled request_id=r1 order_id=o1")
    )


def test_json_tracebacks_are_redacted_too():
    secret = "0123456789abcdef0123456789abcdef01234567"  # an API token's key
    try:
        raise RuntimeError(f"Authorization: Token {secret}")
    except RuntimeError:
        record = logging.getLogRecordFactory()(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    line = logs.Json().format(record)

    assert "RuntimeError" in line
    assert secret not in line


def test_the_kafka_clients_own_lines_go_through_python_logging(caplog, settings):  # type: ignore[no-untyped-def]
    from confluent_kafka import Producer

    from brokerage.events.producer import kafka_config

    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # nothing listens: librdkafka says so
    producer = Producer(kafka_config())

    def logged() -> bool:
        producer.poll(0.1)  # the client's lines are served by its poll
        return any(record.name == "librdkafka" for record in caplog.records)

    with caplog.at_level(logging.INFO, logger="librdkafka"):
        wait_until(logged, timeout=10, what="a librdkafka line in Python logging")
    assert any("127.0.0.1:1" in record.getMessage() for record in caplog.records)
