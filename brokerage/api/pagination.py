"""Cursor pagination, the one kind every list uses: stable under inserts, unlike offsets."""

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from brokerage.api.errors import InvalidInput


def _bad_cursor() -> InvalidInput:
    return InvalidInput("The cursor is not one this list gave out.", field="cursor")


class NewestFirstCursorPagination(CursorPagination):
    """Newest first; a list in another order subclasses this and sets `ordering`.

    A tampered or foreign cursor is bad input (400, code 1000): DRF answers an
    undecodable one 404, and one that decodes to a position of the wrong type fails
    only when the page is read.
    """

    ordering: str | tuple[str, ...] = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise _bad_cursor() from exc

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            if request.query_params.get(self.cursor_query_param) is None:
                raise  # not the cursor's fault
            raise _bad_cursor() from exc
