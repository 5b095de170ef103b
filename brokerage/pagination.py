from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """Stable paging under inserts: a cursor, not an offset, newest first."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500
