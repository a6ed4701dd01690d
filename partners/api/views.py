"""The base of every app's read endpoints: visible rows only, related objects only when visible, reads audited."""

from django.db.models import Prefetch
from rest_framework import viewsets
from rest_framework.response import Response

from partners import services
from partners.addresses import client_address
from partners.selectors import visible_to

from .authentication import principal_of


class PartnerReadViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only collection of one model: visible rows only, related objects only when visible,
    and AMBER-or-above reads by partners written to the audit log."""

    model = None
    visible_prefetch: tuple[str, ...] = ()  # related fields (FK, M2M, reverse FK) rendered from visible rows only
    prefetch_querysets: dict = {}  # optional base querysets for some of those relations
    select_public: tuple[str, ...] = ()  # relations to unmarked reference data (platforms, techniques)

    def visible_rows(self, principal):
        return visible_to(principal, self.model._default_manager.all())

    def get_queryset(self):
        principal = principal_of(self.request)
        prefetches = []
        for name in self.visible_prefetch:
            field = self.model._meta.get_field(name)
            base = self.prefetch_querysets.get(name, field.related_model._default_manager.all())
            prefetches.append(Prefetch(name, queryset=visible_to(principal, base)))
        return self.visible_rows(principal).select_related(*self.select_public).prefetch_related(*prefetches)

    def audit(self, objects, *, export: bool = False) -> None:
        """Log the AMBER-or-above records read, the related ones shown with them included."""
        read = list(objects)
        for obj in objects:
            for name in self.visible_prefetch:
                value = getattr(obj, name, None)
                read += list(value.all()) if hasattr(value, "all") else [value] if value is not None else []
        services.audit_reads(
            principal=principal_of(self.request),
            objects=read,
            path=self.request.get_full_path(),
            address=client_address(self.request),
            export=export,
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = self.get_serializer(page, many=True).data
        self.audit(page)
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        data = self.get_serializer(obj).data
        self.audit([obj])
        return Response(data)
