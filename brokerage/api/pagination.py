"""Cursor pagination, the one kind every list uses: stable under inserts, unlike offsets."""

from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """Newest first; a list in another order subclasses this and sets `ordering`."""

    ordering: str | tuple[str, ...] = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500
