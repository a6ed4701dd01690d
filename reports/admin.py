from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask
from unfold.admin import ModelAdmin

from . import render, services
from .models import Report, ReportStatus, Subscription

DOWNLOADS = {"html": "html_file", "pdf": "pdf_file", "json": "json_file", "stix": "stix_file"}


@admin.register(Report)
class ReportAdmin(ModelAdmin):
    list_display = ["title", "scope", "audience_key", "tlp", "status", "period_start", "period_end", "built_at"]
    list_filter = ["status", "scope", "tlp", "audience_clearance", "audience_organisation", "period_end"]
    search_fields = ["title", "summary"]
    date_hierarchy = "period_end"
    fields = [
        "title",
        "scope_key",
        "period_start",
        "period_end",
        "audience_key",
        "status",
        "tlp",
        "summary",
        "summary_edited",
        "links",
        "built_at",
        "build_seconds",
        "published_at",
        "published_by",
    ]
    readonly_fields = [f for f in fields if f != "summary"]
    actions = ["publish", "submit_for_review", "rebuild"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == ReportStatus.PUBLISHED:
            return self.fields
        return self.readonly_fields

    @admin.display(description="Files")
    def links(self, obj: Report):
        if obj.pk is None:
            return "-"
        preview = reverse("admin:reports_report_preview", args=[obj.pk])
        downloads = [
            (reverse("admin:reports_report_download", args=[obj.pk, fmt]), fmt.upper())
            for fmt, field in DOWNLOADS.items()
            if getattr(obj, field).name
        ]
        parts = [format_html('<a href="{}" target="_blank" rel="noopener">Preview</a>', preview)]
        parts += [format_html('<a href="{}">{}</a>', url, label) for url, label in downloads]
        return format_html(" · ".join(["{}"] * len(parts)), *parts)

    def get_urls(self):
        own = [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview), name="reports_report_preview"),
            path(
                "<int:pk>/download/<str:fmt>/",
                self.admin_site.admin_view(self.download),
                name="reports_report_download",
            ),
        ]
        return own + super().get_urls()

    def preview(self, request, pk: int):
        report = get_object_or_404(Report, pk=pk)
        if not self.has_view_permission(request, report):
            raise Http404
        response = HttpResponse(render.report_html(report))
        response["Content-Security-Policy"] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        return response

    def download(self, request, pk: int, fmt: str):
        report = get_object_or_404(Report, pk=pk)
        field = getattr(report, DOWNLOADS.get(fmt, ""), None) if fmt in DOWNLOADS else None
        if not self.has_view_permission(request, report) or field is None or not field.name:
            raise Http404
        return FileResponse(field.open("rb"), as_attachment=True, filename=field.name.rsplit("/", 1)[-1])

    def save_model(self, request, obj, form, change):
        if "summary" in form.changed_data:
            services.report_summary_update(report=obj, summary=form.cleaned_data["summary"])

    @admin.action(description="Publish and e-mail subscribers", permissions=["change"])
    def publish(self, request, queryset):
        base_url = request.build_absolute_uri("/")
        sent = sum(services.report_publish(report=r, user=request.user, base_url=base_url) for r in queryset)
        self.message_user(request, f"Published {queryset.count()} report(s); {sent} e-mail(s) sent.", messages.SUCCESS)

    @admin.action(description="Submit for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        for report in queryset:
            services.report_submit_for_review(report=report)

    @admin.action(description="Rebuild from the current data (drafts and reports in review)", permissions=["change"])
    def rebuild(self, request, queryset):
        for report in queryset.exclude(status=ReportStatus.PUBLISHED):
            start, end = report.period_start, report.period_end
            services.report_build_from(
                services.ReportRequest(report.scope_key, str(start), str(end), report.audience_key)
            )


@admin.register(Subscription)
class SubscriptionAdmin(ModelAdmin):
    list_display = ["__str__", "organisation", "user", "scope", "active"]
    list_filter = ["active", "scope", "organisation"]
    search_fields = ["email", "organisation__name", "user__username", "user__email"]
    autocomplete_fields = ["organisation"]
    raw_id_fields = ["user"]


admin.site.unregister(PeriodicTask)


def _with_change_permission(name: str):
    """The beat admin's action of this name, offered only to those who may change periodic tasks."""
    inherited = getattr(beat_admin.PeriodicTaskAdmin, name)

    def run(self, request, queryset):
        inherited(self, request, queryset)

    run.__name__ = run.__qualname__ = name
    return admin.action(description=inherited.short_description, permissions=["change"])(run)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    """django-celery-beat's admin, whose actions (the report schedules among them) need the change permission."""

    enable_tasks = _with_change_permission("enable_tasks")
    disable_tasks = _with_change_permission("disable_tasks")
    toggle_tasks = _with_change_permission("toggle_tasks")
    run_tasks = _with_change_permission("run_tasks")
