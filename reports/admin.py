from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminSingleDateWidget

from detection.admin import RELOAD_WHILE_RUNNING

from . import render, selectors, services
from .models import Report, ReportStatus, Subscription

DOWNLOADS = {"html": "html_file", "pdf": "pdf_file", "json": "json_file", "stix": "stix_file"}


def _last_month() -> tuple:
    first_of_this = timezone.localdate().replace(day=1)
    end = first_of_this - timedelta(days=1)
    return end.replace(day=1), end


class ReportBuildForm(forms.Form):
    """What a report build takes: a scope, a period (both days included) and an audience."""

    scope = forms.ChoiceField(
        widget=UnfoldAdminSelectWidget, help_text="Global, or one election, threat actor or operation."
    )
    period_start = forms.DateField(widget=UnfoldAdminSingleDateWidget, help_text="First day of the period.")
    period_end = forms.DateField(widget=UnfoldAdminSingleDateWidget, help_text="Last day of the period (included).")
    audience = forms.ChoiceField(
        widget=UnfoldAdminSelectWidget,
        help_text="Who the report is for: nothing marked above this TLP ceiling (or beyond what this organisation "
        "may see) goes into it. AMBER+STRICT and RED go to named recipients only, never into a report.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = selectors.scope_choices()
        self.fields["audience"].choices = selectors.audience_choices()
        start, end = _last_month()
        self.fields["period_start"].initial = start
        self.fields["period_end"].initial = end

    def clean(self):
        data = super().clean()
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            raise forms.ValidationError("The period ends before it starts.")
        return data

    def request(self) -> services.ReportRequest:
        data = self.cleaned_data
        return services.ReportRequest(
            data["scope"], data["period_start"].isoformat(), data["period_end"].isoformat(), data["audience"]
        )

    def labels(self) -> dict:
        choices = {
            field: dict(value for group in self.fields[field].choices for value in _flat(group))
            for field in ("scope", "audience")
        }
        return {field: choices[field].get(self.cleaned_data[field], "") for field in choices}


def _flat(choice) -> list:
    key, value = choice
    return value if isinstance(value, list | tuple) else [(key, value)]


@admin.register(Report)
class ReportAdmin(ModelAdmin):
    list_display = ["title", "scope", "audience_name", "tlp", "status", "period_start", "period_end", "built_at"]
    list_filter = ["status", "scope", "tlp", "audience_clearance", "audience_organisation", "period_end"]
    list_select_related = ["election", "actor", "operation", "audience_organisation"]
    search_fields = ["title", "summary"]
    date_hierarchy = "period_end"
    fields = [
        "title",
        "scope_name",
        "period_start",
        "period_end",
        "audience_name",
        "status",
        "tlp",
        "summary",
        "summary_edited",
        "links",
        "build_state",
        "built_at",
        "build_seconds",
        "published_at",
        "published_by",
    ]
    readonly_fields = [f for f in fields if f != "summary"]
    actions = ["publish", "submit_for_review", "rebuild"]
    actions_detail = ["rebuild_this_report"]

    def add_view(self, request, form_url="", extra_context=None):
        """The report builder: a form, then a page that says what will be built, then the build is queued."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ReportBuildForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Build a report",
            "subtitle": None,
            "form": form,
            "confirming": False,
        }
        if request.method == "POST" and form.is_valid() and "_edit" not in request.POST:
            build = form.request()
            if request.POST.get("confirmed") == "yes":
                try:
                    report = services.report_build_request(build)
                except services.ReportError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, f"The build of '{report.title}' is queued; this page shows its status.")
                    return redirect("admin:reports_report_change", report.pk)
            else:
                scope, _ = services.scope_parse(build.scope)
                audience = services.audience_parse(build.audience)
                context.update(
                    confirming=True,
                    labels=form.labels(),
                    existing=selectors.report_for(
                        scope_key=build.scope,
                        start=form.cleaned_data["period_start"],
                        end=form.cleaned_data["period_end"],
                        audience_key=audience.key,
                    ),
                    scope_kind=scope,
                )
        return TemplateResponse(request, "admin/reports/report/build.html", context)

    @admin.display(description="Scope")
    def scope_name(self, obj: Report) -> str:
        subject = obj.election or obj.actor or obj.operation
        return f"{obj.get_scope_display()}: {subject}" if subject else obj.get_scope_display()

    @admin.display(description="Audience", ordering="audience_key")
    def audience_name(self, obj: Report) -> str:
        return obj.audience_label

    @admin.display(description="Build")
    def build_state(self, obj: Report) -> str:
        if obj.build_error:
            return format_html('<span class="build-state text-red-600">Failed: {}</span>', obj.build_error)
        if obj.build_pending:
            return format_html(
                '<span class="build-state">Queued {} and building; this page refreshes until it is done.</span>{}',
                timezone.localtime(obj.build_requested_at).strftime("%Y-%m-%d %H:%M:%S"),
                RELOAD_WHILE_RUNNING,
            )
        if obj.built_at:
            return format_html('<span class="build-state">Built; {} seconds.</span>', obj.build_seconds or 0)
        return format_html('<span class="build-state">{}</span>', "Not built yet.")

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
        """Asks first (a page like the delete confirmation), then queues one build per report."""
        if request.POST.get("confirmed") != "yes":
            return self._rebuild_confirmation(request, queryset)
        self._rebuild_queue(request, queryset.exclude(status=ReportStatus.PUBLISHED))

    @action(description="Rebuild", url_path="rebuild", permissions=["change"], icon="refresh")
    def rebuild_this_report(self, request, object_id: str):
        """GET asks first (the Rebuild action's confirmation page); POST queues the rebuild."""
        report = get_object_or_404(Report, pk=object_id)
        reports = Report.objects.filter(pk=report.pk)
        if request.method != "POST":
            return self._rebuild_confirmation(request, reports)
        self._rebuild_queue(request, reports.exclude(status=ReportStatus.PUBLISHED))
        return redirect("admin:reports_report_change", report.pk)

    def _rebuild_confirmation(self, request, queryset):
        return TemplateResponse(
            request,
            "admin/reports/report/rebuild_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Rebuild these reports?",
                "subtitle": None,
                "reports": queryset.exclude(status=ReportStatus.PUBLISHED),
                "published": queryset.filter(status=ReportStatus.PUBLISHED),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def _rebuild_queue(self, request, buildable) -> None:
        queued = 0
        for report in buildable:
            request_ = services.ReportRequest(
                report.scope_key, str(report.period_start), str(report.period_end), report.audience_key
            )
            try:
                services.report_build_request(request_)
                queued += 1
            except services.ReportError as exc:
                messages.error(request, f"{report.title}: {exc}")
        self.message_user(request, f"Queued {queued} rebuild(s); each report's page shows its status.", messages.INFO)


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
