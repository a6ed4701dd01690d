"""STIX 2.1 exports: one object, a query (any list's filters), or everything the caller may see."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.stix import FLAVOURS, export_bundle
from partners import services
from partners.addresses import client_address
from partners.api.authentication import principal_of

QUERY_EXPORT_LIMIT = 10_000
BUNDLE = inline_serializer(
    "StixBundle",
    fields={
        "type": serializers.CharField(),
        "id": serializers.CharField(),
        "objects": serializers.ListField(child=serializers.DictField()),
    },
)
MARKINGS = OpenApiParameter(
    "markings",
    OpenApiTypes.STR,
    enum=list(FLAVOURS),
    description="Marking-definition ids: OASIS TLP 2.0 (default) or OpenCTI's ids for the same levels.",
)


OPENCTI_TYPES = OpenApiParameter(
    "opencti_types",
    OpenApiTypes.BOOL,
    description="Include OpenCTI's narrative and channel objects (default true; false for MISP).",
)
PARAMETERS = [MARKINGS, OPENCTI_TYPES]


def _flavour(request) -> str:
    flavour = request.query_params.get("markings", "oasis")
    return flavour if flavour in FLAVOURS else "oasis"


def stix_response(request, records) -> Response:
    principal = principal_of(request)
    custom_types = request.query_params.get("opencti_types", "true").lower() not in ("false", "0", "no")
    bundle, exported = export_bundle(principal, records, flavour=_flavour(request), custom_types=custom_types)
    services.audit_reads(
        principal=principal,
        objects=exported,
        path=request.get_full_path(),
        address=client_address(request),
        export=True,
    )
    return Response(bundle)


class StixExportMixin:
    """Adds `<item>/stix/` (one object and its visible neighbours) and `stix/` (the filtered list) to a viewset."""

    @extend_schema(summary="STIX 2.1 bundle of this object", parameters=PARAMETERS, responses=BUNDLE)
    @action(detail=True, methods=["get"], url_path="stix", url_name="stix")
    def stix_one(self, request, pk=None):
        return stix_response(request, [self.get_object()])

    @extend_schema(summary="STIX 2.1 bundle of the objects this query lists", parameters=PARAMETERS, responses=BUNDLE)
    @action(detail=False, methods=["get"], url_path="stix", url_name="stix-query", pagination_class=None)
    def stix_query(self, request):
        records = list(self.filter_queryset(self.get_queryset())[:QUERY_EXPORT_LIMIT])
        return stix_response(request, records)


class StixCatalogueView(APIView):
    """Everything the caller may see, as one STIX 2.1 bundle."""

    @extend_schema(summary="STIX 2.1 bundle of everything you may see", parameters=PARAMETERS, responses=BUNDLE)
    def get(self, request):
        return stix_response(request, None)
