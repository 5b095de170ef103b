"""Request guards that must run before any view reads the body."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from brokerage.api.errors import ErrorCode, error_body


class BodySizeLimitMiddleware:
    """Refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE by Content-Length, unread.

    Django enforces the limit only for `request.body` and form parsing; DRF's parsers
    read the stream directly, so the check has to happen here.
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
            body = error_body(
                ErrorCode.VALIDATION,
                "Request body too large.",
                [
                    {
                        "field": "body",
                        "code": "too_large",
                        "message": f"Limit is {self.limit} bytes.",
                    }
                ],
            )
            return JsonResponse(body, status=413)
        return self.get_response(request)
