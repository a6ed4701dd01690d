import csv

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from detection.engine.readers import FORMATS

from . import services
from .models import ImportStatus, Post, RejectedRow, Sample, SampleImport, SocialAccount


class _Echo:
    def write(self, value: str) -> str:
        return value


class SampleImportInline(admin.TabularInline):
    model = SampleImport
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "original_name",
        "format",
        "status",
        "progress_bar",
        "rows_done",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Progress")
    def progress_bar(self, obj: SampleImport) -> str:
        return _progress_bar(obj)


def _progress_bar(job: SampleImport) -> str:
    percent = round(job.progress * 100)
    return format_html(
        '<progress value="{}" max="100" title="{}%"></progress> {}% <span class="import-status">{}</span>',
        percent,
        percent,
        percent,
        job.get_status_display(),
    )


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "status",
        "posts_count",
        "accounts_count",
        "platform_list",
        "collection_method",
        "tlp",
        "owner",
        "created_at",
    ]
    list_filter = ["status", "tlp", "collection_method", ("owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["owner"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "posts_count", "accounts_count", "platforms", "created_by", "created_at"]
    autocomplete_fields = ["owner"]
    inlines = [SampleImportInline]

    @admin.display(description="Platforms")
    def platform_list(self, obj: Sample) -> str:
        return ", ".join(obj.platforms)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class SampleImportForm(forms.ModelForm):
    upload = forms.FileField(help_text="CSV, JSONL or their .gz; the layout is detected from the header.")
    format = forms.ChoiceField(choices=[("", "Detect from the header")] + [(k, k) for k in FORMATS], required=False)

    class Meta:
        model = SampleImport
        fields = ["sample", "format", "platform"]


@admin.register(SampleImport)
class SampleImportAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "format",
        "status",
        "progress_bar",
        "rows_done",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "created_at",
    ]
    list_filter = ["status", "format"]
    list_select_related = ["sample"]
    search_fields = ["original_name", "sample__name"]
    autocomplete_fields = ["sample"]
    readonly_fields = [
        "sample",
        "original_name",
        "format",
        "platform",
        "status",
        "progress_bar",
        "error",
        "rows_done",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "duplicates",
        "accounts_seen",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "rejected_rows_table",
    ]
    exclude = ["file", "source_path", "bytes_total", "bytes_done"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = SampleImportForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_exclude(self, request, obj=None):
        return self.exclude if obj else None

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["sample", "upload", "format", "platform"]
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        job = services.sample_import_create(
            sample=form.cleaned_data["sample"],
            upload=form.cleaned_data["upload"],
            format=form.cleaned_data["format"],
            platform=form.cleaned_data["platform"],
            created_by=request.user,
        )
        services.sample_import_enqueue(job=job)
        obj.pk = job.pk
        messages.info(request, "The import is queued; this page shows its progress.")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="Progress")
    def progress_bar(self, obj: SampleImport) -> str:
        refresh = ""
        if obj.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            refresh = format_html("<script>setTimeout(function () {{ location.reload(); }}, 2000);</script>")
        return format_html("{}{}", _progress_bar(obj), refresh)

    @admin.display(description="Rejected rows (first 100)")
    def rejected_rows_table(self, obj: SampleImport) -> str:
        rows = list(obj.rejected_rows.all()[:100])
        if not rows:
            return "None."
        download = reverse("admin:detection_sampleimport_rejects", args=[obj.pk])
        body = format_html(
            "".join("<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>" for _ in rows),
            *[value for row in rows for value in (row.line, row.field, row.reason, row.raw[:120])],
        )
        return format_html(
            '<p><a href="{}">Download all {} rejected rows as CSV</a></p><table><thead><tr><th>Line</th>'
            "<th>Field</th><th>Reason</th><th>Row</th></tr></thead><tbody>{}</tbody></table>",
            download,
            obj.rejected,
            body,
        )

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/rejected.csv",
                self.admin_site.admin_view(self.rejects_csv),
                name="detection_sampleimport_rejects",
            ),
        ]
        return urls + super().get_urls()

    def rejects_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(SampleImport, pk=pk)
        if not self.has_view_permission(request, job):
            return HttpResponse(status=403)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in services.rejected_rows_csv(job=job)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        return response


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = ["account_id", "platform", "handle", "display_name", "created_at", "followers", "following"]
    list_filter = ["platform"]
    search_fields = ["=account_id", "handle", "display_name"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["post_id", "platform", "account", "created_at", "short_text", "reshare_of", "lang"]
    list_filter = ["platform", "lang"]
    list_select_related = ["account"]
    search_fields = ["=post_id", "=account__account_id", "=reshare_of"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Text")
    def short_text(self, obj: Post) -> str:
        return obj.text[:140]


@admin.register(RejectedRow)
class RejectedRowAdmin(admin.ModelAdmin):
    list_display = ["sample_import", "line", "field", "reason"]
    list_select_related = ["sample_import"]
    search_fields = ["reason", "field"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
