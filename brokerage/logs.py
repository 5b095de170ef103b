"""Every log line says where it comes from: the request, the user, the order, the trace.

The context lives in contextvars: the request id (RequestIdMiddleware), the user id
(the API's token authentication), the order id (the order views and tasks). A record
factory copies them, with the current span's trace and span ids, onto every record,
whatever logger creates it and whatever handler writes it (Celery's included).
LOG_FORMAT picks the rendering: `json`, one object per line (production, compose), or
`console`, a readable line with the context appended (make run, the suite).
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from brokerage.redaction import redact, redact_record

request_id: ContextVar[str] = ContextVar("request_id", default="")
user_id: ContextVar[str] = ContextVar("user_id", default="")
order_id: ContextVar[str] = ContextVar("order_id", default="")

CONTEXT = ("request_id", "user_id", "order_id", "trace_id", "span_id")
REQUEST_ID_HEADER = "X-Request-ID"
# An inbound id is kept only if it is short and plain: it is echoed and logged.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_installed = False


def _add_context(record: logging.LogRecord) -> None:
    record.request_id = request_id.get()
    record.user_id = user_id.get()
    record.order_id = order_id.get()
    span = trace.get_current_span().get_span_context()
    record.trace_id = format(span.trace_id, "032x") if span.is_valid else ""
    record.span_id = format(span.span_id, "016x") if span.is_valid else ""


def install() -> None:
    """Redact every log record this process creates from now on, and give it the
    context (idempotent)."""
    global _installed
    if _installed:
        return
    make: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redact_record(record)
        _add_context(record)
        return record

    logging.setLogRecordFactory(with_context)
    _installed = True


def _redacted(text: str | list[str]) -> str:
    return redact(text if isinstance(text, str) else "\n".join(text))


class Json(JsonFormatter):
    """timestamp, level, logger, message, then the context fields that are set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )

    def formatException(self, ei: Any) -> str:
        # python-json-logger formats exc_info itself, not the redacted exc_text.
        return _redacted(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _redacted(super().formatStack(stack_info))

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        for name in CONTEXT:
            value = getattr(record, name, "")
            if value:
                log_record[name] = value
            else:
                log_record.pop(name, None)


class Console(logging.Formatter):
    """`time level logger message key=value ...`, the context that is set appended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT[:3] if getattr(record, name, "")
        )
        return f"{line} {context}" if context else line


class RequestIdMiddleware:
    """Tag the request's log lines with its id: the caller's X-Request-ID if plain, else a
    new one; returned in the response's X-Request-ID either way."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        inbound = request.headers.get(REQUEST_ID_HEADER, "")
        rid = inbound if _VALID_REQUEST_ID.match(inbound) else uuid.uuid4().hex
        request_id.set(rid)
        user_id.set("")
        order_id.set("")
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = rid
        return response


@receiver(request_finished)
def _forget_request(**kwargs: Any) -> None:
    # Cleared when the response is closed, not when the middleware returns: Django logs
    # a 4xx or 5xx answer (django.request) after the middleware chain, for this request.
    for var in (request_id, user_id, order_id):
        var.set("")
