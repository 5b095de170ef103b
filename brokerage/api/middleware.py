"""Request guards that must run before any view reads the request."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from brokerage.api.errors import ErrorCode, error_body


def _refuse(status: int, message: str, field: str, code: str, detail: str) -> JsonResponse:
    body = error_body(
        ErrorCode.VALIDATION, message, [{"field": field, "code": code, "message": detail}]
    )
    return JsonResponse(body, status=status)


class RequestGuardMiddleware:
    """Refuse, before any view runs:

    - bodies over DATA_UPLOAD_MAX_MEMORY_SIZE by Content-Length, unread (413). Django
      enforces the limit only for `request.body` and form parsing; DRF's parsers read
      the stream directly, so the check has to happen here;
    - a NUL character in the query string (400): PostgreSQL text cannot hold one, so a
      filter carrying it would fail in the database (body fields refuse it themselves).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if self.limit is not None and length > self.limit:
            detail = f"Limit is {self.limit} bytes."
            return _refuse(413, "Request body too large.", "body", "too_large", detail)
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            detail = "Query parameters cannot contain NUL characters."
            return _refuse(400, "Invalid input.", "query", "null_characters_not_allowed", detail)
        return self.get_response(request)
