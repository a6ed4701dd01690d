"""Read endpoints of the partner API and sample submission. Every queryset goes through visible_to."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from campaigns import models as c
from detection import models as d
from partners import services
from partners.selectors import visible_to

from . import filters, serializers
from .authentication import client_address, principal_of
from .permissions import CanSubmitSamples, HasPrincipal


class PartnerReadViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only collection of one model: visible rows only, related objects only when visible,
    and AMBER-or-above reads by partners written to the audit log. Scoring results (runs, groups,
    account scores) plug in as one subclass each."""

    model = None
    visible_prefetch: tuple[str, ...] = ()  # related fields (FK, M2M, reverse FK) rendered from visible rows only
    prefetch_querysets: dict = {}  # optional base querysets for some of those relations
    select_public: tuple[str, ...] = ()  # relations to unmarked reference data (platforms, techniques)

    def get_queryset(self):
        principal = principal_of(self.request)
        prefetches = []
        for name in self.visible_prefetch:
            field = self.model._meta.get_field(name)
            base = self.prefetch_querysets.get(name, field.related_model._default_manager.all())
            prefetches.append(Prefetch(name, queryset=visible_to(principal, base)))
        queryset = self.model._default_manager.select_related(*self.select_public).prefetch_related(*prefetches)
        return visible_to(principal, queryset)

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


@extend_schema_view(list=extend_schema(summary="Threat actors"), retrieve=extend_schema(summary="A threat actor"))
class ThreatActorViewSet(PartnerReadViewSet):
    model = c.ThreatActor
    serializer_class = serializers.ThreatActorSerializer
    filterset_class = filters.ThreatActorFilterSet
    visible_prefetch = ("parent", "aliases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Operations"), retrieve=extend_schema(summary="An operation"))
class OperationViewSet(PartnerReadViewSet):
    model = c.Operation
    serializer_class = serializers.OperationSerializer
    filterset_class = filters.OperationFilterSet
    visible_prefetch = ("actor", "sources", "aliases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Elections"), retrieve=extend_schema(summary="An election"))
class ElectionViewSet(PartnerReadViewSet):
    model = c.Election
    serializer_class = serializers.ElectionSerializer
    filterset_class = filters.ElectionFilterSet
    visible_prefetch = ("rounds", "phases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "election_day", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Campaigns"), retrieve=extend_schema(summary="A campaign"))
class CampaignViewSet(PartnerReadViewSet):
    model = c.Campaign
    serializer_class = serializers.CampaignSerializer
    filterset_class = filters.CampaignFilterSet
    visible_prefetch = ("actor", "operation", "elections", "narratives", "sources", "technique_uses")
    prefetch_querysets = {"technique_uses": c.TechniqueUse.objects.select_related("technique")}
    select_public = ("owner",)
    search_fields = ["name", "summary", "objective"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("tools", "platforms")


@extend_schema_view(list=extend_schema(summary="Narratives"), retrieve=extend_schema(summary="A narrative"))
class NarrativeViewSet(PartnerReadViewSet):
    model = c.Narrative
    serializer_class = serializers.NarrativeSerializer
    filterset_class = filters.NarrativeFilterSet
    visible_prefetch = ("parent",)
    search_fields = ["name", "summary"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(
    list=extend_schema(summary="Techniques (DISARM, Meta kill chain)"), retrieve=extend_schema(summary="A technique")
)
class TechniqueViewSet(PartnerReadViewSet):
    model = c.Technique
    serializer_class = serializers.TechniqueSerializer
    filterset_class = filters.TechniqueFilterSet
    select_public = ("parent",)
    search_fields = ["external_id", "name", "summary"]
    ordering_fields = ["external_id", "name"]


@extend_schema_view(list=extend_schema(summary="Sources"), retrieve=extend_schema(summary="A source"))
class SourceViewSet(PartnerReadViewSet):
    model = c.Source
    serializer_class = serializers.SourceSerializer
    filterset_class = filters.SourceFilterSet
    search_fields = ["title", "publisher", "author"]
    ordering_fields = ["title", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Attribution claims"), retrieve=extend_schema(summary="A claim"))
class AttributionClaimViewSet(PartnerReadViewSet):
    model = c.AttributionClaim
    serializer_class = serializers.AttributionClaimSerializer
    filterset_class = filters.AttributionClaimFilterSet
    visible_prefetch = ("actor", "campaign", "operation", "source")
    search_fields = ["claimant", "title", "summary"]
    ordering_fields = ["claimant", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Takedowns"), retrieve=extend_schema(summary="A takedown"))
class TakedownViewSet(PartnerReadViewSet):
    model = c.Takedown
    serializer_class = serializers.TakedownSerializer
    filterset_class = filters.TakedownFilterSet
    visible_prefetch = ("actor", "operation", "campaign", "source")
    select_public = ("platform",)
    search_fields = ["notes"]
    ordering_fields = ["announced_on", "created_at", "updated_at"]


@extend_schema_view(
    list=extend_schema(summary="Import jobs of your samples"), retrieve=extend_schema(summary="An import job")
)
class SampleImportViewSet(PartnerReadViewSet):
    model = d.SampleImport
    serializer_class = serializers.SampleImportSerializer
    filterset_class = filters.SampleImportFilterSet
    visible_prefetch = ("sample",)
    ordering_fields = ["created_at"]


@extend_schema_view(
    list=extend_schema(summary="Your organisation's samples and those shared with you"),
    retrieve=extend_schema(summary="A sample"),
)
class SampleViewSet(PartnerReadViewSet):
    model = d.Sample
    serializer_class = serializers.SampleSerializer
    filterset_class = filters.SampleFilterSet
    select_public = ("owner",)
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_permissions(self):
        if self.action in ("create", "imports") and self.request.method == "POST":
            return [HasPrincipal(), CanSubmitSamples()]
        return super().get_permissions()

    def get_parser_classes(self):
        return [MultiPartParser]

    def _accepted(self, sample, job) -> Response:
        body = serializers.SubmissionSerializer({"sample": sample, "job": job}, context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_202_ACCEPTED, headers={"Location": body.data["job"]["url"]})

    @extend_schema(
        summary="Submit a sample: a new sample with its first file (202 with the import job's URL)",
        request={"multipart/form-data": serializers.SampleSubmitSerializer},
        responses={202: serializers.SubmissionSerializer},
    )
    def create(self, request, *args, **kwargs):
        form = serializers.SampleSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        sample, job = services.sample_submit(
            principal=principal_of(request),
            user=_db_user(request),
            address=client_address(request),
            **form.validated_data,
        )
        return self._accepted(sample, job)

    @extend_schema(
        methods=["GET"], summary="The import jobs of a sample", responses=serializers.SampleImportSerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a file to one of your samples (202 with the import job's URL)",
        request={"multipart/form-data": serializers.SampleImportRequestSerializer},
        responses={202: serializers.SubmissionSerializer, 403: OpenApiResponse(description="Not your sample")},
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, search_fields=[], ordering_fields=[])
    def imports(self, request, pk=None):
        sample = self.get_object()
        if request.method == "GET":
            principal = principal_of(request)
            jobs = visible_to(principal, d.SampleImport.objects.filter(sample=sample).select_related("sample"))
            page = self.paginate_queryset(jobs.order_by("-pk"))
            data = serializers.SampleImportSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        principal = principal_of(request)
        if not principal.is_researcher and sample.owner_id != principal.organisation_id:
            raise PermissionDenied("Only the owner organisation adds files to a sample.")
        form = serializers.SampleImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = services.sample_file_add(
            principal=principal,
            sample=sample,
            user=_db_user(request),
            address=client_address(request),
            **form.validated_data,
        )
        return self._accepted(sample, job)


def _db_user(request):
    user = getattr(request, "user", None)
    return user if getattr(user, "pk", None) else None
