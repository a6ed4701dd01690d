"""Cursor pages: stable under inserts, no total count (a count is derived data too), at most 500 a page."""

from datetime import UTC, datetime

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models.constants import LOOKUP_SEP
from django.utils.timezone import make_aware
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

INVALID_CURSOR = "Not a cursor of this list: give the `next` or `previous` link of an earlier page, unchanged."


class CursorPages(CursorPagination):
    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-pk"

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, refused with a 400 when it does not decode or its position is no value of the ordering
        field (a crafted `p=abc` or `p=1e999` would otherwise reach the database and fail there)."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from exc
        if cursor is None or cursor.position is None:
            return cursor
        position = self._position(cursor.position)
        if position is None:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return cursor._replace(position=position)

    def _position(self, position: str) -> str | None:
        """The position as the database will compare it (a time in UTC), or None when it is no such value."""
        model, field = self.model, None
        try:
            for name in self.ordering[0].lstrip("-").split(LOOKUP_SEP):
                field = model._meta.pk if name == "pk" else model._meta.get_field(name)
                model = field.related_model or model
            value = field.to_python(position)
            field.run_validators(value)
            if isinstance(value, datetime):
                value = (value if value.tzinfo else make_aware(value)).astimezone(UTC)
                position = value.isoformat()
            field.get_db_prep_value(value, connection)
        except (FieldDoesNotExist, DjangoValidationError, ValueError, TypeError, OverflowError):
            return None
        return None if "\x00" in position else position
