"""Cursor pages: stable under inserts, no total count (a count is derived data too), at most 500 a page."""

from rest_framework.pagination import CursorPagination


class CursorPages(CursorPagination):
    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-pk"
