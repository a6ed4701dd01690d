from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline

from campaigns import codes
from campaigns.models import Asset, Campaign, Technique, TechniqueUse
from detection.engine import BudgetExceeded
from detection.engine.output import CSV_MEDIA_TYPE, csv_lines
from detection.engine.readers import FORMATS

from . import run_tables, scoring, selectors, triage
from .ingest import selectors as ingest_selectors
from .ingest import services as ingest_services
from .models import (
    CoordinatedGroup,
    GroupStatus,
    ImportStatus,
    Post,
    RejectedRow,
    RunShard,
    RunStatus,
    Sample,
    SampleImport,
    ScoringRun,
    SocialAccount,
)

IMPORT_COLUMNS = ["format", "status", "progress_bar", *SampleImport.COUNTERS[:5], "created_at"]


class SampleImportInline(TabularInline):
    model = SampleImport
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["original_name", *IMPORT_COLUMNS]
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
class SampleAdmin(ModelAdmin):
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
    readonly_fields = ["status", "posts_count", "accounts_count", "platform_list", "created_by", "created_at"]
    exclude = ["platforms"]  # the imports set it; shown by name (platform_list)
    autocomplete_fields = ["owner"]
    inlines = [SampleImportInline]
    actions = ["score_samples"]

    @admin.display(description="Platforms")
    def platform_list(self, obj: Sample) -> str:
        return ", ".join(codes.platform_label(code) for code in obj.platforms)

    def get_readonly_fields(self, request, obj=None):
        """A sample's owner is fixed once it exists: its posts and accounts live in that owner's scope."""
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "owner"] if obj is not None else fields

    def has_score_permission(self, request: HttpRequest) -> bool:
        """Scoring adds a run to the ledger, which no admin form adds, so the permission to add runs is the one."""
        return request.user.has_perm(f"detection.{get_permission_codename('add', ScoringRun._meta)}")

    @admin.action(description="Score the selected samples", permissions=["score"])
    def score_samples(self, request, queryset):
        for sample in queryset:
            try:
                run = scoring.scoring_run_start(sample=sample, requested_by=request.user)
            except BudgetExceeded as exc:
                messages.error(request, f"{sample.name}: {exc}")
                continue
            url = reverse("admin:detection_scoringrun_change", args=[run.pk])
            messages.info(request, format_html('Scoring {}: <a href="{}">run {}</a>', sample.name, url, run.pk))

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
class SampleImportAdmin(ModelAdmin):
    list_display = ["__str__", *IMPORT_COLUMNS]
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
        job = ingest_services.sample_import_create(
            sample=form.cleaned_data["sample"],
            upload=form.cleaned_data["upload"],
            format=form.cleaned_data["format"],
            platform=form.cleaned_data["platform"],
            created_by=request.user,
        )
        ingest_services.sample_import_enqueue(job=job)
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
        rows = ingest_selectors.rejected_rows_csv(job=job)
        response = StreamingHttpResponse(csv_lines(rows), content_type=CSV_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        return response


@admin.register(SocialAccount)
class SocialAccountAdmin(ModelAdmin):
    list_display = ["account_id", "platform", "handle", "display_name", "created_at", "followers", "following"]
    list_filter = ["platform"]
    search_fields = ["=account_id", "handle", "display_name"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Post)
class PostAdmin(ModelAdmin):
    list_display = ["post_id", "platform", "account", "created_at", "short_text", "reshare_of", "lang"]
    list_filter = ["platform", "lang"]
    list_select_related = ["account"]
    search_fields = ["=post_id", "=account__account_id", "=reshare_of"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    # The JSON lists, shown as text by the display methods below.
    exclude = ["urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes"]
    readonly_fields = [
        "url_list",
        "normalised_url_list",
        "domain_list",
        "hashtag_list",
        "mention_list",
        "media_hash_list",
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Text")
    def short_text(self, obj: Post) -> str:
        return obj.text[:140]

    @admin.display(description="URLs")
    def url_list(self, obj: Post) -> str:
        return _lines(obj.urls)

    @admin.display(description="Normalised URLs")
    def normalised_url_list(self, obj: Post) -> str:
        return _lines(obj.normalised_urls)

    @admin.display(description="Domains")
    def domain_list(self, obj: Post) -> str:
        return ", ".join(obj.domains) or "-"

    @admin.display(description="Hashtags")
    def hashtag_list(self, obj: Post) -> str:
        return " ".join(f"#{tag}" for tag in obj.hashtags) or "-"

    @admin.display(description="Mentions")
    def mention_list(self, obj: Post) -> str:
        return " ".join(f"@{name}" for name in obj.mentions) or "-"

    @admin.display(description="Media hashes")
    def media_hash_list(self, obj: Post) -> str:
        return _lines(obj.media_hashes)


def _lines(values: list[str]) -> str:
    """One value a line, escaped, as plain text (a post's links are the operation's: never made clickable)."""
    if not values:
        return "-"
    return format_html_join(format_html("<br>"), "{}", ((value,) for value in values))


@admin.register(RejectedRow)
class RejectedRowAdmin(ModelAdmin):
    list_display = ["sample_import", "line", "field", "reason"]
    list_select_related = ["sample_import"]
    search_fields = ["reason", "field"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class RunShardInline(TabularInline):
    model = RunShard
    extra = 0
    can_delete = False
    fields = ["shard", "status", "attempts", "started_at", "finished_at", "duration"]
    readonly_fields = fields

    @admin.display(description="Time")
    def duration(self, obj: RunShard) -> str:
        return run_tables.seconds_text(obj.seconds)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(ModelAdmin):
    list_display = ["__str__", "status", "run_progress", "group_count", "flagged_count", "created_at"]
    list_filter = [
        "status",
        ("sample", admin.RelatedOnlyFieldListFilter),
        "engine_version",
        ("requested_by", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["sample", "requested_by"]
    search_fields = ["sample__name"]
    readonly_fields = [
        "sample",
        "status",
        "run_progress",
        "error",
        "params_table",
        "engine_version",
        "n_shards",
        "shards_done",
        "summary_table",
        "timings_table",
        "files_table",
        "result_hash",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "heartbeat_at",
        "lease_expires_at",
        "resumed_at",
        "group_links",
    ]
    exclude = ["params", "summary", "timings", "files"]  # shown as tables (params_table, ...) instead of JSON
    inlines = [RunShardInline]

    class Media:
        css = {"all": ["detection/ledger.css"]}

    @admin.display(description="Parameters")
    def params_table(self, obj: ScoringRun) -> str:
        return _table(("Parameter", "Value", "Default?"), run_tables.param_rows(obj.params), table_id="run-params")

    @admin.display(description="Summary")
    def summary_table(self, obj: ScoringRun) -> str:
        if not obj.summary:
            return "Not finished."
        figures = _table(("Figure", "Value"), run_tables.summary_rows(obj.summary), table_id="run-summary")
        columns = ("Behaviour", *(label for _, label in run_tables.BEHAVIOUR_COLUMNS))
        behaviours = _table(columns, run_tables.behaviour_rows(obj.summary), table_id="run-behaviours")
        return format_html("{}{}", figures, behaviours)

    @admin.display(description="Timings")
    def timings_table(self, obj: ScoringRun) -> str:
        return _table(("Step", "Time"), run_tables.timing_rows(obj.timings), table_id="run-timings")

    @admin.display(description="Working files")
    def files_table(self, obj: ScoringRun) -> str:
        if not obj.files:
            return "None kept (they are deleted once the run ends)."
        return _table(("File", "Size", "SHA-256 (start)"), run_tables.file_rows(obj.files), table_id="run-files")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Progress")
    def run_progress(self, obj: ScoringRun) -> str:
        percent = round(obj.progress * 100)
        refresh = ""
        if obj.status not in (RunStatus.DONE, RunStatus.FAILED):
            refresh = format_html("<script>setTimeout(function () {{ location.reload(); }}, 2000);</script>")
        return format_html(
            '<progress value="{}" max="100"></progress> {}% <span class="run-status">{}</span> ({}/{} shards){}',
            percent,
            percent,
            obj.get_status_display(),
            obj.shards_done,
            obj.n_shards,
            refresh,
        )

    @admin.display(description="Groups")
    def group_count(self, obj: ScoringRun) -> int:
        return obj.summary.get("groups", 0)

    @admin.display(description="Flagged accounts")
    def flagged_count(self, obj: ScoringRun) -> int:
        return obj.summary.get("flagged_accounts", 0)

    @admin.display(description="Groups found")
    def group_links(self, obj: ScoringRun) -> str:
        url = reverse("admin:detection_coordinatedgroup_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{} groups, best first</a>', url, obj.groups.count())


def _table(headings: tuple[str, ...], rows: list[tuple[str, ...]], *, table_id: str) -> str:
    """A small read-only table of text cells, escaped."""
    if not rows:
        return "None."
    head = format_html_join("", "<th>{}</th>", ((heading,) for heading in headings))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html(
        '<table id="{}" class="ledger"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', table_id, head, body
    )


class ScoreRangeFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "score"
    RANGES = {"0.9": (0.9, 1.01), "0.7": (0.7, 0.9), "0.5": (0.5, 0.7), "0": (0.0, 0.5)}

    def lookups(self, request, model_admin):
        return [("0.9", "0.9 and above"), ("0.7", "0.7 to 0.9"), ("0.5", "0.5 to 0.7"), ("0", "below 0.5")]

    def queryset(self, request, queryset):
        if self.value() in self.RANGES:
            low, high = self.RANGES[self.value()]
            return queryset.filter(score__gte=low, score__lt=high)
        return queryset


class BehaviourFilter(admin.SimpleListFilter):
    title = "behaviour"
    parameter_name = "behaviour"

    def lookups(self, request, model_admin):
        from detection.engine import BEHAVIOURS

        return [(b, b) for b in BEHAVIOURS]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(edges__behaviour=self.value()).distinct()
        return queryset


@admin.register(CoordinatedGroup)
class CoordinatedGroupAdmin(ModelAdmin):
    list_display = ["__str__", "rounded_score", "behaviour_list", "status", "campaign"]
    list_filter = [
        "status",
        ScoreRangeFilter,
        BehaviourFilter,
        ("run__sample", admin.RelatedOnlyFieldListFilter),
        ("campaign", admin.RelatedOnlyFieldListFilter),
        "run",
    ]
    list_select_related = ["run__sample", "campaign"]
    search_fields = ["reasons", "members__account__account_id", "members__account__handle"]
    change_form_template = "admin/detection/coordinatedgroup/triage.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Score", ordering="score")
    def rounded_score(self, obj: CoordinatedGroup) -> str:
        return f"{obj.score:.3f}"

    @admin.display(description="Behaviours")
    def behaviour_list(self, obj: CoordinatedGroup) -> str:
        return ", ".join(obj.behaviours)

    def get_urls(self):
        return [
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="detection_coordinatedgroup_review",
            ),
            path(
                "<int:pk>/attach/",
                self.admin_site.admin_view(self.attach_view),
                name="detection_coordinatedgroup_attach",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        group = selectors.group_detail(group_id=int(object_id)) if str(object_id).isdigit() else None
        if group is None:
            return super().change_view(request, object_id, form_url, extra_context)
        context = {
            "title": f"Group {group.number} of run {group.run_id}",
            "subtitle": None,
            "group": group,
            "members": group.members.all(),
            "network": selectors.group_network(group=group),
            "evidence": selectors.group_evidence(group=group),
            "timeline": _timeline_bars(selectors.group_timeline(group=group)),
            "suggestions": triage.technique_suggestions(group=group),
            "campaigns": Campaign.objects.order_by("name").only("pk", "name"),
            "statuses": GroupStatus.choices,
            "may_review": self.has_change_permission(request, group),
            "may_attach": self.has_attach_permission(request, group),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def has_attach_permission(self, request: HttpRequest, group: CoordinatedGroup | None = None) -> bool:
        """Attaching changes the group and adds assets and technique uses to the campaign."""
        return self.has_change_permission(request, group) and all(
            self.admin_site.get_model_admin(model).has_add_permission(request) for model in (Asset, TechniqueUse)
        )

    def review_view(self, request: HttpRequest, pk: int):
        group = get_object_or_404(CoordinatedGroup, pk=pk)
        if not self.has_change_permission(request, group):
            raise PermissionDenied
        if request.method == "POST":
            try:
                triage.group_review(
                    group=group,
                    status=request.POST.get("status", ""),
                    note=request.POST.get("note", ""),
                    reviewer=request.user,
                )
                messages.success(request, f"Group {group.number} marked {group.get_status_display().lower()}.")
            except ValueError as exc:
                messages.error(request, str(exc))
        return redirect("admin:detection_coordinatedgroup_change", pk)

    def attach_view(self, request: HttpRequest, pk: int):
        group = get_object_or_404(CoordinatedGroup.objects.select_related("run__sample"), pk=pk)
        if not self.has_attach_permission(request, group):
            raise PermissionDenied
        if request.method == "POST":
            campaign = Campaign.objects.filter(pk=request.POST.get("campaign") or 0).first()
            techniques = list(Technique.objects.filter(pk__in=request.POST.getlist("techniques")))
            if campaign is None:
                messages.error(request, "Choose a campaign.")
            else:
                try:
                    created = triage.group_attach_to_campaign(
                        group=group, campaign=campaign, techniques=techniques, reviewer=request.user
                    )
                    messages.success(
                        request, f"Attached to {campaign}: {created} new assets, {len(techniques)} techniques."
                    )
                except ValueError as exc:
                    messages.error(request, str(exc))
        return redirect("admin:detection_coordinatedgroup_change", pk)


def _timeline_bars(rows: list[dict], width: int = 720, height: int = 120) -> dict:
    """Bar geometry for the timeline picture (posts per hour), computed here so the template only draws."""
    if not rows:
        return {"bars": [], "width": width, "height": height}
    peak = max(r["posts"] for r in rows)
    start, end = rows[0]["hour"], rows[-1]["hour"]
    hours = max(1, int((end - start).total_seconds() // 3600) + 1)
    bar_width = max(1.0, width / hours)
    bars = [
        {
            "x": round((r["hour"] - start).total_seconds() / 3600 * bar_width, 1),
            "y": round(height - r["posts"] / peak * (height - 14), 1),
            "h": round(r["posts"] / peak * (height - 14), 1),
            "w": round(max(1.0, bar_width - 1), 1),
            "label": f"{r['hour']:%Y-%m-%d %H:00} UTC: {r['posts']} posts",
        }
        for r in rows
    ]
    return {"bars": bars, "width": width, "height": height, "start": start, "end": end, "peak": peak}
