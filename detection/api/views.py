"""Read endpoints of samples, imports and scoring results, and sample submission. Every queryset goes through
visible_to."""

from django.db.models import F, Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from detection import models as d
from detection import submissions
from detection.engine import BudgetExceeded, MemoryBudgetExceeded
from detection.engine.output import CSV_MEDIA_TYPE, csv_lines
from detection.ingest import selectors as ingest_selectors
from partners.addresses import client_address
from partners.api import exceptions
from partners.api.authentication import principal_of
from partners.api.pagination import CursorPages
from partners.api.permissions import CanSubmitSamples, HasPrincipal
from partners.api.views import PartnerReadViewSet
from partners.selectors import visible_to

from . import filters, serializers


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
        rows = csv_lines(ingest_selectors.rejected_rows_csv(job=job))
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
        fields = _valid(serializers.SampleSubmitSerializer, request)
        sample, job = submissions.sample_submit(**_submitted_by(request), **fields)
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
            page = self.paginate_queryset(_of_sample(request, d.SampleImport, sample).order_by("-pk"))
            data = serializers.SampleImportSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        _owner_only(request, sample, "Only the owner organisation adds files to a sample.")
        fields = _valid(serializers.SampleImportRequestSerializer, request)
        job = submissions.sample_file_add(sample=sample, **_submitted_by(request), **fields)
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
        context = self.get_serializer_context()
        if request.method == "GET":
            runs = _of_sample(request, d.ScoringRun, sample)
            page = self.paginate_queryset(runs.annotate(tlp=F("sample__tlp")).order_by("-pk"))
            data = serializers.ScoringRunSerializer(page, many=True, context=context).data
            self.audit(page)
            return self.get_paginated_response(data)
        _owner_only(request, sample, "Only the owner organisation scores a sample.")
        params = _valid(serializers.ScoringRunRequestSerializer, request)
        try:
            run = submissions.sample_score(sample=sample, params=params, **_submitted_by(request))
        except submissions.RunUnfinished as exc:
            raise exceptions.Conflict(str(exc)) from exc
        except BudgetExceeded as exc:
            raise exceptions.TooManyPairs(str(exc)) from exc
        except MemoryBudgetExceeded as exc:
            raise exceptions.OverMemoryBudget(str(exc)) from exc
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


def _of_sample(request, model, sample: d.Sample):
    """The sample's import jobs or scoring runs that the caller may see."""
    return visible_to(principal_of(request), model.objects.filter(sample=sample).select_related("sample"))


def _owner_only(request, sample: d.Sample, refusal: str) -> None:
    """Files and scoring runs are added by the sample's owner organisation (or a researcher), not by recipients."""
    principal = principal_of(request)
    if not (principal.is_researcher or (sample.owner_id is not None and sample.owner_id == principal.organisation_id)):
        raise PermissionDenied(refusal)


def _valid(form_class, request) -> dict:
    form = form_class(data=request.data)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _submitted_by(request) -> dict:
    """Who submits: the principal, the signed-in user (none for a key) and the client's address."""
    user = getattr(request, "user", None)
    return {
        "principal": principal_of(request),
        "user": user if getattr(user, "pk", None) else None,
        "address": client_address(request),
    }


def _location(url) -> dict[str, str]:
    """A Location header as a plain str: DRF's Hyperlink is a str subclass, which WSGI servers refuse."""
    return {"Location": str(url)}
