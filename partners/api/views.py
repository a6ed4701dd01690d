"""Read endpoints of the partner API and sample submission. Every queryset goes through visible_to."""

from django.db.models import F, Prefetch
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from campaigns import models as c
from detection import models as d
from detection.engine import BudgetExceeded
from detection.engine.output import CSV_MEDIA_TYPE, csv_lines
from detection.ingest import selectors as detection_selectors
from partners import services
from partners.addresses import client_address
from partners.selectors import visible_to
from reports import models as r
from reports.selectors import reports_visible_to

from . import exceptions, filters, serializers
from .authentication import principal_of
from .pagination import CursorPages
from .permissions import CanSubmitSamples, HasPrincipal
from .stix_views import BUNDLE


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

    @extend_schema(
        summary="The rejected rows of an import as CSV (UTF-8 with a byte-order mark): line, field, reason, raw",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such import, or not one you may see"),
        },
    )
    @action(detail=True, url_path="rejected", filterset_class=None, pagination_class=None)
    def rejected(self, request, pk=None):
        job = self.get_object()
        self.audit([job], export=True)
        rows = csv_lines(detection_selectors.rejected_rows_csv(job=job))
        response = StreamingHttpResponse(rows, content_type=CSV_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def perform_content_negotiation(self, request, force=False):
        if self.action == "rejected":
            return JSONRenderer(), JSONRenderer.media_type  # the CSV is not rendered; only an error is, as JSON
        return super().perform_content_negotiation(request, force=force)


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
        if self.action in ("create", "imports", "runs") and self.request.method == "POST":
            return [HasPrincipal(), CanSubmitSamples()]
        return super().get_permissions()

    def _accepted(self, sample, job) -> Response:
        body = serializers.SubmissionSerializer({"sample": sample, "job": job}, context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_202_ACCEPTED, headers=_location(body.data["job"]["url"]))

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
        if not _may_submit_to(principal, sample):
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

    @extend_schema(
        methods=["GET"], summary="The scoring runs of a sample", responses=serializers.ScoringRunSerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        summary="Score one of your samples (202 with the run's URL)",
        request=serializers.ScoringRunRequestSerializer,
        responses={
            202: serializers.ScoringRunSerializer,
            400: OpenApiResponse(
                description="Invalid parameters, or the run would build more co-action pairs than the server "
                "allows (code too_many_pairs: shorten window_s or leave behaviours out)"
            ),
            403: OpenApiResponse(description="Not your sample"),
            409: OpenApiResponse(description="The sample's previous run has not finished"),
        },
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, search_fields=[], ordering_fields=[])
    def runs(self, request, pk=None):
        sample = self.get_object()
        principal = principal_of(request)
        context = self.get_serializer_context()
        if request.method == "GET":
            runs = visible_to(principal, d.ScoringRun.objects.filter(sample=sample).select_related("sample"))
            page = self.paginate_queryset(runs.annotate(tlp=F("sample__tlp")).order_by("-pk"))
            data = serializers.ScoringRunSerializer(page, many=True, context=context).data
            self.audit(page)
            return self.get_paginated_response(data)
        if not _may_submit_to(principal, sample):
            raise PermissionDenied("Only the owner organisation scores a sample.")
        form = serializers.ScoringRunRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            run = services.sample_score(
                principal=principal,
                sample=sample,
                params=form.validated_data,
                user=_db_user(request),
                address=client_address(request),
            )
        except services.RunUnfinished as exc:
            raise exceptions.Conflict(str(exc)) from exc
        except BudgetExceeded as exc:
            raise exceptions.TooManyPairs(str(exc)) from exc
        body = serializers.ScoringRunSerializer(run, context=context).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=_location(body["url"]))


class StrongestEdgesFirst(CursorPages):
    ordering = ("-weight", "-pk")


class ResultReadViewSet(PartnerReadViewSet):
    """Scoring results: each row carries the marking of its run's sample as `tlp`, which the audit log records."""

    marking_path = "run__sample__tlp"

    def get_queryset(self):
        return super().get_queryset().annotate(tlp=F(self.marking_path))


@extend_schema_view(
    list=extend_schema(summary="Scoring runs of your samples and of those shared with you"),
    retrieve=extend_schema(summary="A scoring run"),
)
class ScoringRunViewSet(ResultReadViewSet):
    model = d.ScoringRun
    serializer_class = serializers.ScoringRunSerializer
    filterset_class = filters.ScoringRunFilterSet
    visible_prefetch = ("sample",)
    ordering_fields = ["created_at", "finished_at"]
    marking_path = "sample__tlp"


@extend_schema_view(
    list=extend_schema(summary="Coordinated groups found by the runs you may see"),
    retrieve=extend_schema(summary="A coordinated group"),
)
class CoordinatedGroupViewSet(ResultReadViewSet):
    model = d.CoordinatedGroup
    serializer_class = serializers.CoordinatedGroupSerializer
    filterset_class = filters.CoordinatedGroupFilterSet
    visible_prefetch = ("campaign",)
    select_public = ("run__sample", "leader")
    search_fields = ["reasons", "leader__handle"]
    ordering_fields = ["score", "size", "first_activity", "last_activity"]

    @extend_schema(
        summary="The edges of a group, strongest first, each with up to 5 evidence post pairs",
        responses=serializers.CoordinationEdgeSerializer(many=True),
    )
    @action(
        detail=True,
        filterset_class=None,
        search_fields=[],
        ordering_fields=[],
        pagination_class=StrongestEdgesFirst,
    )
    def edges(self, request, pk=None):
        group = self.get_object()
        principal = principal_of(request)
        evidence = d.EdgeEvidence.objects.select_related("post_source__account", "post_target__account")
        evidence = visible_to(principal, evidence).order_by("dt", "pk")
        edges = d.CoordinationEdge.objects.filter(group=group).select_related("source", "target")
        edges = visible_to(principal, edges).prefetch_related(Prefetch("evidence", queryset=evidence))
        page = self.paginate_queryset(edges)
        data = serializers.CoordinationEdgeSerializer(page, many=True, context=self.get_serializer_context()).data
        self.audit([group])
        return self.get_paginated_response(data)


@extend_schema_view(
    list=extend_schema(summary="Account scores of the runs you may see"),
    retrieve=extend_schema(summary="An account's score in a run, with its reasons"),
)
class AccountScoreViewSet(ResultReadViewSet):
    model = d.AccountScore
    serializer_class = serializers.AccountScoreSerializer
    filterset_class = filters.AccountScoreFilterSet
    select_public = ("run__sample", "group", "account")
    search_fields = ["account__handle", "account__display_name"]
    ordering_fields = ["score", "lead", "follow"]


REPORT_MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
    "stix": "application/stix+json;version=2.1",
}
REPORT_SCHEMAS = {"html": OpenApiTypes.BINARY, "pdf": OpenApiTypes.BINARY, "json": OpenApiTypes.OBJECT, "stix": BUNDLE}
# The rendered HTML may show its inlined charts and styles, and load or run nothing.
REPORT_HTML_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _report_download(fmt: str):
    """The action that serves one rendered file of a report (the audience's version, built for it)."""

    def download(self, request, pk=None):
        report = self.get_object()
        field = getattr(report, serializers.REPORT_DOWNLOADS[fmt])
        try:
            handle = field.open("rb") if field.name else None
        except FileNotFoundError:
            handle = None
        if handle is None:
            raise NotFound
        self.audit([report], export=True)
        filename = f"report-{report.pk}.{'stix.json' if fmt == 'stix' else fmt}"
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type=REPORT_MEDIA_TYPES[fmt])
        response["X-Content-Type-Options"] = "nosniff"
        if fmt == "html":
            response["Content-Security-Policy"] = REPORT_HTML_POLICY
        return response

    download.__name__ = f"download_{fmt}"
    documented = extend_schema(
        summary=f"The report as {fmt.upper()}",
        responses={
            (200, REPORT_MEDIA_TYPES[fmt].split(";")[0]): REPORT_SCHEMAS[fmt],
            404: OpenApiResponse(description="No such report, not one for you, or not rendered"),
        },
    )
    routed = action(detail=True, url_path=fmt, url_name=fmt, filterset_class=None, pagination_class=None)
    return documented(routed(download))


@extend_schema_view(
    list=extend_schema(summary="Published threat reports made for your organisation or your clearance"),
    retrieve=extend_schema(summary="A threat report, with the links to its files"),
)
class ReportViewSet(PartnerReadViewSet):
    model = r.Report
    serializer_class = serializers.ReportSerializer
    filterset_class = filters.ReportFilterSet
    visible_prefetch = ("election", "actor", "operation")
    search_fields = ["title", "summary"]
    ordering_fields = ["period_end", "published_at"]

    download_html = _report_download("html")
    download_pdf = _report_download("pdf")
    download_json = _report_download("json")
    download_stix = _report_download("stix")

    def visible_rows(self, principal):
        # the scope objects come from the visible-only prefetches, never from a join
        return reports_visible_to(principal).select_related(None).select_related("audience_organisation")

    def perform_content_negotiation(self, request, force=False):
        if self.action and self.action.startswith("download_"):
            # The path names the format; only an error is rendered, as JSON like every other.
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force=force)


def _may_submit_to(principal, sample: d.Sample) -> bool:
    """Files and scoring runs are added by the sample's owner organisation (or a researcher), not by recipients."""
    return principal.is_researcher or (sample.owner_id is not None and sample.owner_id == principal.organisation_id)


def _location(url) -> dict[str, str]:
    """A Location header as a plain str: DRF's Hyperlink is a str subclass, which WSGI servers refuse."""
    return {"Location": str(url)}


def _db_user(request):
    user = getattr(request, "user", None)
    return user if getattr(user, "pk", None) else None
