"""Read endpoints of published threat reports and their rendered files. Every queryset goes through visible_to."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer

from campaigns.api.stix import BUNDLE
from partners.api.views import PartnerReadViewSet
from reports import models as r
from reports.selectors import reports_visible_to

from . import filters, serializers

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
