"""The one registry of error codes and the one place that builds error JSON.

Every 4xx/5xx answer is `{"error_code": int, "error_message": str, "error_detail": [...]}`.
Services raise `BrokerageError` subclasses; DRF's own exceptions and anything
unexpected are mapped here too.
"""

import logging
import math
import sys
from enum import IntEnum
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ErrorCode(IntEnum):
    """Public contract: append, never renumber. 1xxx request, 2xxx domain."""

    VALIDATION = 1000
    NOT_FOUND = 1001
    METHOD_NOT_ALLOWED = 1002
    THROTTLED = 1003
    UNSUPPORTED_MEDIA_TYPE = 1004
    NOT_ACCEPTABLE = 1005
    NOT_AUTHENTICATED = 1200
    PERMISSION_DENIED = 1201
    SERVICE_UNAVAILABLE = 1500
    UNHANDLED = 1999
    USER_NOT_FOUND = 2003
    STOCK_EXISTS = 2004
    STOCK_NOT_FOUND = 2005
    INSUFFICIENT_CASH = 2006
    INSUFFICIENT_SHARES = 2007
    ORDER_NOT_FOUND = 2011
    ORDER_ALREADY_COMPLETED = 2012
    ORDER_FAILED = 2013
    ORDER_ALREADY_CANCELLED = 2014
    TELEGRAM_ERROR = 2016
    IDEMPOTENCY_CONFLICT = 2017
    INSUFFICIENT_LIQUIDITY = 2018
    ORDER_NOT_MARKETABLE = 2019
    USER_EXISTS = 2020
    ORDER_TOO_SMALL = 2021
    EXECUTION_FAILED = 2022
    TOKEN_NOT_FOUND = 2023


class BrokerageError(Exception):
    code: ClassVar[ErrorCode]
    http_status: ClassVar[int] = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(BrokerageError):
    code = ErrorCode.VALIDATION

    def __init__(self, message: str, *, field: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.detail = {"field": field, "code": code, "message": message}


class UserNotFound(BrokerageError):
    code = ErrorCode.USER_NOT_FOUND
    http_status = status.HTTP_404_NOT_FOUND


class TokenNotFound(BrokerageError):
    code = ErrorCode.TOKEN_NOT_FOUND
    http_status = status.HTTP_404_NOT_FOUND


class UserExists(BrokerageError):
    code = ErrorCode.USER_EXISTS
    http_status = status.HTTP_409_CONFLICT


class StockExists(BrokerageError):
    code = ErrorCode.STOCK_EXISTS
    http_status = status.HTTP_409_CONFLICT


class StockNotFound(BrokerageError):
    code = ErrorCode.STOCK_NOT_FOUND
    http_status = status.HTTP_404_NOT_FOUND


class InsufficientCash(BrokerageError):
    code = ErrorCode.INSUFFICIENT_CASH
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class InsufficientShares(BrokerageError):
    code = ErrorCode.INSUFFICIENT_SHARES
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class OrderTooSmall(BrokerageError):
    code = ErrorCode.ORDER_TOO_SMALL
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class OrderNotFound(BrokerageError):
    code = ErrorCode.ORDER_NOT_FOUND
    http_status = status.HTTP_404_NOT_FOUND


class OrderAlreadyCompleted(BrokerageError):
    code = ErrorCode.ORDER_ALREADY_COMPLETED
    http_status = status.HTTP_409_CONFLICT


class OrderFailed(BrokerageError):
    code = ErrorCode.ORDER_FAILED
    http_status = status.HTTP_409_CONFLICT


class OrderAlreadyCancelled(BrokerageError):
    code = ErrorCode.ORDER_ALREADY_CANCELLED
    http_status = status.HTTP_409_CONFLICT


class IdempotencyConflict(BrokerageError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    http_status = status.HTTP_409_CONFLICT


def error_body(code: ErrorCode, message: str, detail: list[Any] | None = None) -> dict[str, Any]:
    return {"error_code": int(code), "error_message": message, "error_detail": detail or []}


def _field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested ValidationError detail into `[{field, code, message}]`."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            field = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_field_errors(value, "" if field == "non_field_errors" else field))
        return out
    if isinstance(detail, list):
        return [item for value in detail for item in _field_errors(value, prefix)]
    code = getattr(detail, "code", "invalid")
    return [{"field": prefix or "non_field_errors", "code": str(code), "message": str(detail)}]


_DRF_CODES: list[tuple[type[drf_exceptions.APIException], ErrorCode]] = [
    (drf_exceptions.NotAuthenticated, ErrorCode.NOT_AUTHENTICATED),
    (drf_exceptions.AuthenticationFailed, ErrorCode.NOT_AUTHENTICATED),
    (drf_exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (drf_exceptions.NotFound, ErrorCode.NOT_FOUND),
    (drf_exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (drf_exceptions.Throttled, ErrorCode.THROTTLED),
    (drf_exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (drf_exceptions.NotAcceptable, ErrorCode.NOT_ACCEPTABLE),
    (drf_exceptions.ParseError, ErrorCode.VALIDATION),
    (drf_exceptions.ValidationError, ErrorCode.VALIDATION),
]


# A database that is down, or a statement or lock wait past its timeout: try again soon.
RETRY_AFTER_SECONDS = 1
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry shortly."


def _unavailable(exc: OperationalError, where: str) -> dict[str, Any]:
    # The SQLSTATE says which (57014 statement timeout, 55P03 lock timeout, none: no
    # connection); the text stays in the log, as it may name hosts and queries.
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    logger.warning("database unavailable in %s: sqlstate=%s %s", where, sqlstate, exc)
    return error_body(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error answer of the API is built here."""
    if isinstance(exc, OperationalError):
        view = context.get("view")
        return Response(
            _unavailable(exc, type(view).__name__ if view else "view"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, BrokerageError):
        detail = [exc.detail] if exc.detail else []
        return Response(error_body(exc.code, exc.message, detail), status=exc.http_status)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many form fields
        exc = drf_exceptions.ParseError(str(exc) or "Malformed request.")
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), ErrorCode.VALIDATION)
        if isinstance(exc, drf_exceptions.ValidationError):
            body = error_body(code, "Invalid input.", _field_errors(exc.detail))
        else:
            body = error_body(code, str(exc.detail))
            if isinstance(exc, drf_exceptions.ParseError):
                body["error_detail"] = [
                    {"field": "body", "code": "parse_error", "message": str(exc.detail)}
                ]
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(exc.wait))  # type: ignore[attr-defined]
        return Response(body, status=exc.status_code, headers=headers)
    view = context.get("view")
    logger.exception("unhandled error in %s", type(view).__name__ if view else "view")
    return Response(
        error_body(ErrorCode.UNHANDLED, "Internal server error."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def not_found_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """handler404 for URLs no view matched."""
    return JsonResponse(error_body(ErrorCode.NOT_FOUND, "Not found."), status=404)


def server_error_view(request: HttpRequest) -> JsonResponse:
    """handler500 for errors outside DRF (Django logs the traceback): the database's
    outage is a 503 there too."""
    exc = sys.exc_info()[1]  # handler500 runs inside Django's except block
    if isinstance(exc, OperationalError):
        body = _unavailable(exc, request.path)
        return JsonResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return JsonResponse(error_body(ErrorCode.UNHANDLED, "Internal server error."), status=500)
