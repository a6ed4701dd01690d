"""Serializers of the reports API: a published report and the links to its rendered files."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners.api.serializers import Ref
from reports import models as r

# Rendered files of a report, by the name of their download route.
REPORT_DOWNLOADS = {"html": "html_file", "pdf": "pdf_file", "json": "json_file", "stix": "stix_file"}


class ReportDownloadsSerializer(serializers.Serializer):
    html = serializers.URLField()
    pdf = serializers.URLField()
    json = serializers.URLField()
    stix = serializers.URLField()


class ReportSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:report-detail")
    election = Ref()
    actor = Ref()
    operation = Ref()
    audience = serializers.CharField(source="audience_label", read_only=True)
    downloads = serializers.SerializerMethodField()

    class Meta:
        model = r.Report
        fields = (
            "id",
            "url",
            "title",
            "scope",
            "election",
            "actor",
            "operation",
            "period_start",
            "period_end",
            "audience",
            "tlp",
            "status",
            "summary",
            "built_at",
            "published_at",
            "downloads",
        )

    @extend_schema_field(ReportDownloadsSerializer)
    def get_downloads(self, report) -> dict:
        request = self.context["request"]
        return {
            fmt: request.build_absolute_uri(reverse(f"api:report-{fmt}", args=[report.pk])) for fmt in REPORT_DOWNLOADS
        }
