"""TAXII 2.1 read endpoints: discovery, one API root, a collection per TLP level the caller may hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC

from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.stix import catalogue_graph
from partners import services
from partners.addresses import client_address
from partners.api.authentication import principal_of
from partners.markings import Tlp
from partners.selectors import Principal, PrincipalKind, tlp_ladder
from partners.stix import NAMESPACE, custom_sdo_extension, marking_definition, ts

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
MAX_PAGE = 500


class TaxiiRenderer(JSONRenderer):
    media_type = TAXII_MEDIA_TYPE
    format = "taxii"
    charset = None


def collection_id(tlp: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"taxii-collection:{tlp}"))


COLLECTIONS = {collection_id(t): Tlp(t) for t in Tlp}


def levels_for(principal: Principal) -> list[str]:
    """The TLP levels whose collection the caller may open (its content is still filtered per object)."""
    if principal.is_researcher:
        return [t.value for t in Tlp]
    levels = [*tlp_ladder(principal.ceiling), Tlp.AMBER_STRICT.value]
    if principal.kind == PrincipalKind.PERSON:
        levels.append(Tlp.RED.value)
    return levels


def _collection(tlp: str) -> dict:
    return {
        "id": collection_id(tlp),
        "title": f"TLP:{tlp}",
        "description": f"Objects marked TLP:{tlp} that you may see.",
        "can_read": True,
        "can_write": False,
        "media_types": [STIX_MEDIA_TYPE],
    }


def _date_added(obj: dict) -> str:
    return obj.get("modified") or obj.get("created")


def collection_objects(principal: Principal, tlp: str):
    """The STIX objects of one collection, oldest first: visible objects carrying exactly this marking."""
    graph = catalogue_graph(principal)
    objects = [o for i, o in graph.objects.items() if graph.markings[i] == tlp]
    objects.append(marking_definition(tlp))
    if tlp == Tlp.CLEAR:  # always: whether it came would tell of narratives or channels in other collections
        objects.append(custom_sdo_extension())
    objects.sort(key=lambda o: (_date_added(o), o["id"]))
    return objects, graph


def taxii_doc(operation_id: str, summary: str, **kwargs):
    return extend_schema(operation_id=operation_id, summary=summary, tags=["taxii"], **kwargs)


class TaxiiView(APIView):
    renderer_classes = [TaxiiRenderer, JSONRenderer]
    pagination_class = None

    def collection(self, request, collection: str) -> str:
        tlp = COLLECTIONS.get(str(collection))
        if tlp is None or tlp.value not in levels_for(principal_of(request)):
            raise NotFound()
        return tlp.value


DISCOVERY = inline_serializer(
    "TaxiiDiscovery",
    fields={
        "title": serializers.CharField(),
        "description": serializers.CharField(),
        "default": serializers.CharField(),
        "api_roots": serializers.ListField(child=serializers.CharField()),
    },
)
API_ROOT = inline_serializer(
    "TaxiiApiRoot",
    fields={
        "title": serializers.CharField(),
        "versions": serializers.ListField(child=serializers.CharField()),
        "max_content_length": serializers.IntegerField(),
    },
)
COLLECTION = inline_serializer(
    "TaxiiCollection",
    fields={
        "id": serializers.CharField(),
        "title": serializers.CharField(),
        "description": serializers.CharField(),
        "can_read": serializers.BooleanField(),
        "can_write": serializers.BooleanField(),
        "media_types": serializers.ListField(child=serializers.CharField()),
    },
)
COLLECTIONS_SCHEMA = inline_serializer("TaxiiCollections", fields={"collections": COLLECTION.__class__(many=True)})
ENVELOPE = inline_serializer(
    "TaxiiEnvelope",
    fields={
        "more": serializers.BooleanField(),
        "next": serializers.CharField(required=False),
        "objects": serializers.ListField(child=serializers.DictField()),
    },
)
MANIFEST = inline_serializer(
    "TaxiiManifest",
    fields={
        "more": serializers.BooleanField(),
        "next": serializers.CharField(required=False),
        "objects": serializers.ListField(child=serializers.DictField()),
    },
)
PAGE_PARAMETERS = [
    OpenApiParameter("added_after", OpenApiTypes.DATETIME, description="Only objects added after this time"),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most this many objects (max {MAX_PAGE})"),
    OpenApiParameter("next", OpenApiTypes.STR, description="The `next` value of the previous page"),
    OpenApiParameter("match[type]", OpenApiTypes.STR, description="Comma-separated STIX types"),
    OpenApiParameter("match[id]", OpenApiTypes.STR, description="Comma-separated STIX ids"),
]


class DiscoveryView(TaxiiView):
    @taxii_doc("taxii_discovery", "TAXII 2.1 discovery", responses=DISCOVERY)
    def get(self, request):
        root = request.build_absolute_uri(reverse("api:taxii-root"))
        return Response(
            {
                "title": "Election-interference tracker",
                "description": "STIX 2.1 objects filtered by your TLP 2.0 clearance.",
                "default": root,
                "api_roots": [root],
            }
        )


class ApiRootView(TaxiiView):
    @taxii_doc("taxii_api_root", "TAXII 2.1 API root", responses=API_ROOT)
    def get(self, request):
        return Response(
            {
                "title": "Catalogue",
                "description": "Actors, operations, campaigns, narratives, techniques, claims and takedowns.",
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": 0,
            }
        )


class CollectionsView(TaxiiView):
    @extend_schema(
        operation_id="taxii_collections",
        summary="TAXII 2.1 collections you may read",
        responses=COLLECTIONS_SCHEMA,
        tags=["taxii"],
    )
    def get(self, request):
        return Response({"collections": [_collection(t) for t in levels_for(principal_of(request))]})


class CollectionView(TaxiiView):
    @extend_schema(
        operation_id="taxii_collection", summary="A TAXII 2.1 collection", responses=COLLECTION, tags=["taxii"]
    )
    def get(self, request, collection):
        return Response(_collection(self.collection(request, collection)))


def _added_after(value: str) -> str:
    """An RFC 3339 time as the STIX timestamp it is compared with; a 400 for anything else (a 30 February,
    an offset of 99 hours, a time that leaves the calendar once in UTC)."""
    try:
        cutoff = parse_datetime(value)
        if cutoff is not None:
            return ts(cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC))
    except (ValueError, OverflowError):
        pass
    raise ValidationError({"added_after": ["Give an RFC 3339 timestamp, e.g. 2024-01-13T00:00:00Z."]})


def _whole_number(params, name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except ValueError as exc:
        raise ValidationError({name: ["Give a whole number."]}) from exc


@dataclass(frozen=True)
class PageRequest:
    """The filters and window a caller asked for, checked before any object is read."""

    added_after: str | None
    types: list[str]
    ids: list[str]
    limit: int
    start: int


def _page_request(request) -> PageRequest:
    params = request.query_params
    added_after = params.get("added_after")
    return PageRequest(
        added_after=_added_after(added_after) if added_after else None,
        types=[t for t in params.get("match[type]", "").split(",") if t],
        ids=[i for i in params.get("match[id]", "").split(",") if i],
        limit=min(max(_whole_number(params, "limit", MAX_PAGE), 1), MAX_PAGE),
        start=max(_whole_number(params, "next", 0), 0),
    )


def _page(wanted: PageRequest, objects: list[dict]) -> tuple[list[dict], bool, str | None]:
    if wanted.added_after:
        objects = [o for o in objects if _date_added(o) > wanted.added_after]
    if wanted.types:
        objects = [o for o in objects if o["type"] in wanted.types]
    if wanted.ids:
        objects = [o for o in objects if o["id"] in wanted.ids]
    start, limit = wanted.start, wanted.limit
    page = objects[start : start + limit]
    more = start + limit < len(objects)
    return page, more, str(start + limit) if more else None


def _headers(page: list[dict]) -> dict:
    if not page:
        return {}
    return {"X-TAXII-Date-Added-First": _date_added(page[0]), "X-TAXII-Date-Added-Last": _date_added(page[-1])}


class ObjectsView(TaxiiView):
    @extend_schema(
        summary="Objects of a TAXII 2.1 collection", parameters=PAGE_PARAMETERS, responses=ENVELOPE, tags=["taxii"]
    )
    def get(self, request, collection):
        principal = principal_of(request)
        tlp = self.collection(request, collection)
        wanted = _page_request(request)
        objects, graph = collection_objects(principal, tlp)
        page, more, next_ = _page(wanted, objects)
        services.audit_reads(
            principal=principal,
            objects=[graph.records[o["id"]] for o in page if o["id"] in graph.records],
            path=request.get_full_path(),
            address=client_address(request),
            export=True,
        )
        body = {"more": more, "objects": page}
        if next_:
            body["next"] = next_
        return Response(body, headers=_headers(page))


class ObjectView(TaxiiView):
    @extend_schema(
        operation_id="taxii_object", summary="One object of a TAXII 2.1 collection", responses=ENVELOPE, tags=["taxii"]
    )
    def get(self, request, collection, object_id):
        principal = principal_of(request)
        objects, graph = collection_objects(principal, self.collection(request, collection))
        page = [o for o in objects if o["id"] == object_id]
        if not page:
            raise NotFound()
        services.audit_reads(
            principal=principal,
            objects=[graph.records[o["id"]] for o in page if o["id"] in graph.records],
            path=request.get_full_path(),
            address=client_address(request),
            export=True,
        )
        return Response({"more": False, "objects": page}, headers=_headers(page))


class ManifestView(TaxiiView):
    @extend_schema(
        summary="Manifest of a TAXII 2.1 collection", parameters=PAGE_PARAMETERS, responses=MANIFEST, tags=["taxii"]
    )
    def get(self, request, collection):
        tlp = self.collection(request, collection)
        wanted = _page_request(request)
        objects, _ = collection_objects(principal_of(request), tlp)
        page, more, next_ = _page(wanted, objects)
        entries = [
            {"id": o["id"], "date_added": _date_added(o), "version": _date_added(o), "media_type": STIX_MEDIA_TYPE}
            for o in page
        ]
        body = {"more": more, "objects": entries}
        if next_:
            body["next"] = next_
        return Response(body, headers=_headers(page))
