from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from campaigns import codes
from campaigns.models import Asset, Campaign, Narrative, Technique, TechniqueUse
from detection.engine import RunRefused
from detection.engine.output import CSV_MEDIA_TYPE, csv_lines
from detection.engine.readers import FORMATS, layout_columns

from . import narratives, run_tables, scoring, selectors, triage
from .ingest import selectors as ingest_selectors
from .ingest import services as ingest_services
from .learning import selectors as learning_selectors
from .models import (
    ClassifierModel,
    CoordinatedGroup,
    GroupStatus,
    ImportStatus,
    NarrativeCluster,
    Post,
    RejectedRow,
    RunPart,
    RunShard,
    RunStatus,
    Sample,
    SampleImport,
    ScoringRun,
    SocialAccount,
)

IMPORT_COLUMNS = ["format", "status", "progress_bar", *SampleImport.COUNTERS[:5], "created_at"]

# A page of a job still running reloads itself every 2 s, unless the researcher is already leaving it: a reload
# fired while another page loads would cancel that navigation.
RELOAD_WHILE_RUNNING = mark_safe(
    "<script>(function () { var leaving = false;"
    " addEventListener('beforeunload', function () { leaving = true; });"
    " setTimeout(function () { if (!leaving) { location.reload(); } }, 2000); })();</script>"
)


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
    readonly_fields = [
        "status",
        "posts_count",
        "accounts_count",
        "platform_list",
        "runs_and_groups",
        "created_by",
        "created_at",
    ]
    exclude = ["platforms"]  # the imports set it; shown by name (platform_list)
    autocomplete_fields = ["owner"]
    inlines = [SampleImportInline]
    actions = ["score_samples"]
    actions_detail = ["score_this_sample", "add_a_file"]

    @admin.display(description="Runs and groups")
    def runs_and_groups(self, obj: Sample) -> str:
        if obj.pk is None:
            return "-"
        runs = reverse("admin:detection_scoringrun_changelist") + f"?sample__id__exact={obj.pk}"
        groups = reverse("admin:detection_coordinatedgroup_changelist") + f"?run__sample__id__exact={obj.pk}"
        to_review = groups + "&status__exact=new"
        counts = selectors.sample_work_counts(sample=obj)
        return format_html(
            '<a class="sample-runs" href="{}">{} scoring runs</a> · <a class="sample-groups" href="{}">{} groups'
            '</a> · <a class="sample-groups-to-review" href="{}">{} to review</a>',
            runs,
            counts["runs"],
            groups,
            counts["groups"],
            to_review,
            counts["to_review"],
        )

    @action(description="Score this sample", url_path="score", permissions=["score"], icon="play_circle")
    def score_this_sample(self, request: HttpRequest, object_id: str):
        """GET asks for confirmation; POST starts the run and opens its page."""
        sample = get_object_or_404(Sample, pk=object_id)
        if request.method != "POST":
            return TemplateResponse(
                request,
                "admin/detection/sample/score_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": f"Score {sample.name}?",
                    "subtitle": None,
                    "sample": sample,
                    "original": sample,
                },
            )
        try:
            run = scoring.scoring_run_start(sample=sample, requested_by=request.user)
        except RunRefused as exc:
            messages.error(request, f"{sample.name}: {exc}")
            return redirect("admin:detection_sample_change", sample.pk)
        messages.info(request, f"Scoring {sample.name}: this page shows the run's progress.")
        return redirect("admin:detection_scoringrun_change", run.pk)

    @action(description="Add a file", url_path="add-file", permissions=["add_file"], icon="upload")
    def add_a_file(self, request: HttpRequest, object_id: str):
        """The upload page with this sample chosen."""
        sample = get_object_or_404(Sample, pk=object_id)
        return redirect(reverse("admin:detection_sampleimport_add") + f"?sample={sample.pk}")

    @admin.display(description="Platforms")
    def platform_list(self, obj: Sample) -> str:
        return (
            ", ".join(codes.platform_label(code) for code in obj.platforms) or "None yet (seen in the imported posts)"
        )

    def get_readonly_fields(self, request, obj=None):
        """A sample's owner is fixed once it exists: its posts and accounts live in that owner's scope."""
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "owner"] if obj is not None else fields

    def has_add_file_permission(self, request: HttpRequest, obj=None) -> bool:
        """Adding a file to a sample is adding an import (a method, not "detection.add_sampleimport": unfold's
        check of a dotted permission queries the database, which fails `manage.py check` before migrate)."""
        return request.user.has_perm(f"detection.{get_permission_codename('add', SampleImport._meta)}")

    def has_score_permission(self, request: HttpRequest, obj=None) -> bool:
        """Scoring adds a run to the ledger, which no admin form adds, so the permission to add runs is the one."""
        return request.user.has_perm(f"detection.{get_permission_codename('add', ScoringRun._meta)}")

    @admin.action(description="Score the selected samples", permissions=["score"])
    def score_samples(self, request, queryset):
        for sample in queryset:
            try:
                run = scoring.scoring_run_start(sample=sample, requested_by=request.user)
            except RunRefused as exc:
                messages.error(request, f"{sample.name}: {exc}")
                continue
            url = reverse("admin:detection_scoringrun_change", args=[run.pk])
            messages.info(request, format_html('Scoring {}: <a href="{}">run {}</a>', sample.name, url, run.pk))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


def _upload_help() -> str:
    required, optional = layout_columns("canonical-csv")
    return format_html(
        "CSV, JSONL or their .gz; the layout is detected from the header. "
        '<span id="canonical-columns">The canonical posts CSV has the columns <code>{}</code> (required) and '
        "<code>{}</code>; lists (urls, hashtags, mentions, media_hashes) space-separated or as a JSON array; "
        "created_at in ISO 8601, UTC; platform as a column or chosen below.</span> Also read: the X/Twitter "
        "information-operations archive, CooRTweet, coordination-network-toolkit CSVs, canonical accounts CSV "
        "and JSON Lines. Columns a layout does not read are ignored and named on the import's page.",
        ", ".join(required),
        ", ".join(optional),
    )


class SampleImportForm(forms.ModelForm):
    upload = forms.FileField(help_text=_upload_help())
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
        "ignored_columns",
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
    exclude = ["file", "source_path", "bytes_total", "bytes_done", "unknown_columns"]

    @admin.display(description="Ignored columns")
    def ignored_columns(self, obj: SampleImport) -> str:
        if not obj.unknown_columns:
            return "None: the layout reads every column of the header."
        return format_html(
            '<span class="unknown-columns-warning text-red-600">Warning: the {} layout does not read {} column(s), '
            "which were ignored: {}. Rename a column if it was meant as one the layout reads.</span>",
            obj.format,
            len(obj.unknown_columns),
            format_html_join(", ", "<code>{}</code>", ((name,) for name in obj.unknown_columns)),
        )

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
        messages.info(request, "The file is handed to a worker; this page shows the import's progress.")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="Progress")
    def progress_bar(self, obj: SampleImport) -> str:
        refresh = ""
        if obj.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            refresh = RELOAD_WHILE_RUNNING
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
    fields = ["shard", "current_pass", "status", "attempts", "started_at", "finished_at", "duration"]
    readonly_fields = fields

    @admin.display(description="Pass")
    def current_pass(self, obj: RunShard) -> str:
        return obj.current_pass

    @admin.display(description="Sweep time")
    def duration(self, obj: RunShard) -> str:
        return run_tables.seconds_text(obj.seconds)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RunPartInline(TabularInline):
    model = RunPart
    extra = 0
    can_delete = False
    fields = ["part", "status", "attempts", "started_at", "heartbeat_at", "lease_expires_at", "finished_at", "seconds"]
    readonly_fields = fields

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
        "n_parts",
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
        "narrative_links",
    ]
    exclude = ["params", "summary", "timings", "files"]  # shown as tables (params_table, ...) instead of JSON
    inlines = [RunPartInline, RunShardInline]
    actions = ["cluster_narratives"]

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
            refresh = RELOAD_WHILE_RUNNING
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
        network = reverse("admin:detection_scoringrun_network", args=[obj.pk])
        return format_html(
            '<a href="{}">{} groups, best first</a> &middot; '
            '<a href="{}" id="run-network-link">all groups in one network</a>',
            url,
            obj.groups.count(),
            network,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/network/",
                self.admin_site.admin_view(self.network_view),
                name="detection_scoringrun_network",
            ),
            path(
                "<int:pk>/narratives/",
                self.admin_site.admin_view(self.narratives_view),
                name="detection_scoringrun_narratives",
            ),
        ] + super().get_urls()

    def network_view(self, request: HttpRequest, pk: int):
        run = get_object_or_404(ScoringRun.objects.select_related("sample"), pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        max_accounts = selectors.RUN_NETWORK_MAX_ACCOUNTS
        network = selectors.run_network(run=run, max_accounts=max_accounts)
        for group in network["groups"]:
            group["url"] = reverse("admin:detection_coordinatedgroup_change", args=[group["pk"]])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Network of run {run.pk}",
            "run": run,
            "network": network,
            "max_accounts": max_accounts,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/detection/scoringrun/network.html", context)

    @admin.display(description="Narratives")
    def narrative_links(self, obj: ScoringRun) -> str:
        url = reverse("admin:detection_narrativecluster_changelist") + f"?run__id__exact={obj.pk}"
        again = reverse("admin:detection_scoringrun_narratives", args=[obj.pk])
        ledger = getattr(obj, "narrative_discovery", None)
        last = (
            f"last clustered {ledger.finished_at:%Y-%m-%d %H:%M} UTC: {ledger.posts} posts, "
            f"{ledger.clusters} clusters, {ledger.noise} posts in none, {ledger.seconds} s"
            if ledger and ledger.finished_at
            else "not clustered yet"
        )
        return format_html(
            '<a href="{}">{} narrative clusters, largest first</a> ({}) '
            '<button type="submit" formaction="{}" formmethod="post" class="narratives-cluster">Cluster again</button>',
            url,
            obj.narrative_clusters.count(),
            last,
            again,
        )

    def has_narratives_permission(self, request: HttpRequest) -> bool:
        """Clustering replaces the clusters still to review, so the permission to change clusters is the one."""
        return request.user.has_perm(f"detection.{get_permission_codename('change', NarrativeCluster._meta)}")

    @admin.action(description="Cluster the narratives of the selected runs", permissions=["narratives"])
    def cluster_narratives(self, request, queryset):
        for run in queryset:
            self._narratives_request(request, run)

    def _narratives_request(self, request: HttpRequest, run: ScoringRun) -> None:
        try:
            narratives.run_narratives_request(run=run, requested_by=request.user)
            messages.info(request, f"Clustering the narratives of run {run.pk}.")
        except ValueError as exc:
            messages.error(request, f"Run {run.pk}: {exc}")

    def narratives_view(self, request: HttpRequest, pk: int):
        run = get_object_or_404(ScoringRun, pk=pk)
        if not self.has_narratives_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            self._narratives_request(request, run)
        return redirect("admin:detection_scoringrun_change", pk)


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
    list_display = ["__str__", "rounded_score", "classifier_probability", "behaviour_list", "status", "campaign"]
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

    def get_queryset(self, request: HttpRequest):
        return learning_selectors.groups_with_prediction(super().get_queryset(request))

    @admin.display(description="Classifier", ordering="classifier_probability")
    def classifier_probability(self, obj: CoordinatedGroup) -> str:
        """The current classifier's probability that the group is inauthentic, beside the engine's score."""
        if obj.classifier_probability is None:
            return "-"
        return f"{obj.classifier_probability:.2f} (v{obj.classifier_version})"

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
            "evidence": selectors.group_evidence_pairs(group=group),
            "timeline": _timeline_bars(selectors.group_timeline(group=group)),
            "suggestions": triage.technique_suggestions(group=group),
            "campaigns": Campaign.objects.order_by("name").only("pk", "name"),
            "statuses": GroupStatus.choices,
            "may_review": self.has_change_permission(request, group),
            "may_attach": self.has_attach_permission(request, group),
            "classifier": learning_selectors.group_classifier(group=group),
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


@admin.register(ClassifierModel)
class ClassifierModelAdmin(ModelAdmin):
    """The versions of the classifier of groups and their cross-validated figures; trained by the hourly task or
    `manage.py train_classifier`, never edited here."""

    list_display = [
        "__str__",
        "created_at",
        "is_current",
        "seeds",
        "archive_groups",
        "verdicts",
        "mean_precision",
        "mean_recall",
        "compared_precision",
        "compared_recall",
    ]
    readonly_fields = [f.name for f in ClassifierModel._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class NarrativeClusterReviewForm(forms.ModelForm):
    """The researcher's verdict on a cluster's suggestion; the admin hands it to the narrative services."""

    DECISIONS = [("", "Leave as it is"), ("accept", "Accept as the narrative"), ("reject", "Reject the suggestion")]
    decision = forms.ChoiceField(choices=DECISIONS, required=False)
    choose = forms.ModelChoiceField(
        queryset=Narrative.objects.all(),
        required=False,
        label="Narrative",
        help_text="When accepting: the narrative this cluster tells (empty: the suggested one).",
    )

    class Meta:
        model = NarrativeCluster
        fields: list[str] = []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "accept" and not cleaned.get("choose") and not self.instance.suggested_id:
            raise forms.ValidationError("No narrative was suggested: choose the narrative this cluster tells.")
        return cleaned


@admin.register(NarrativeCluster)
class NarrativeClusterAdmin(ModelAdmin):
    list_display = ["__str__", "run", "size", "accounts_count", "language_list", "suggested", "score", "status"]
    list_filter = ["status", ("suggested", admin.RelatedOnlyFieldListFilter), "run"]
    list_select_related = ["run", "suggested", "narrative"]
    search_fields = ["suggested__name", "narrative__name", "memberships__post__text"]
    form = NarrativeClusterReviewForm
    fieldsets = [
        (None, {"fields": ["run", "number", "term_list", "representative_posts", "group_links"]}),
        ("Size", {"fields": ["size", "accounts_count", "language_list", "cohesion", "first_post_at", "last_post_at"]}),
        ("Suggestion", {"fields": ["suggested", "score", "status", "narrative", "reviewed_by", "reviewed_at"]}),
        ("Verdict", {"fields": ["decision", "choose"]}),
    ]
    readonly_fields = [
        "run",
        "number",
        "term_list",
        "representative_posts",
        "group_links",
        "size",
        "accounts_count",
        "language_list",
        "cohesion",
        "first_post_at",
        "last_post_at",
        "suggested",
        "score",
        "status",
        "narrative",
        "reviewed_by",
        "reviewed_at",
    ]
    actions = ["accept_suggestions", "reject_suggestions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Words")
    def term_list(self, obj: NarrativeCluster) -> str:
        return ", ".join(obj.top_terms)

    @admin.display(description="Languages")
    def language_list(self, obj: NarrativeCluster) -> str:
        return ", ".join(obj.languages)

    @admin.display(description="Similarity", ordering="suggested_score")
    def score(self, obj: NarrativeCluster) -> str:
        return f"{obj.suggested_score:.2f}"

    @admin.display(description="Representative posts")
    def representative_posts(self, obj: NarrativeCluster) -> str:
        posts = selectors.narrative_cluster_representatives(cluster=obj)
        return format_html(
            '<ol class="narrative-posts">{}</ol>',
            format_html_join("", "<li><q>{}</q> ({}, {})</li>", ((p.text, p.account, p.created_at) for p in posts)),
        )

    @admin.display(description="Groups")
    def group_links(self, obj: NarrativeCluster) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:detection_coordinatedgroup_change", args=[g.pk]), f"group {g.number}")
                for g in obj.groups.order_by("number")
            ),
        )

    def save_model(self, request, obj, form, change):
        """The verdict goes through the services; nothing else on the page is editable."""
        decision = form.cleaned_data.get("decision")
        if decision == "accept":
            campaigns = narratives.narrative_cluster_accept(
                cluster=obj, reviewer=request.user, narrative=form.cleaned_data.get("choose")
            )
            messages.info(request, f"Accepted as {obj.narrative}; {campaigns} campaigns newly push it.")
        elif decision == "reject":
            narratives.narrative_cluster_reject(cluster=obj, reviewer=request.user)

    @admin.action(description="Accept the suggested narrative", permissions=["change"])
    def accept_suggestions(self, request, queryset):
        accepted = 0
        for cluster in queryset.select_related("suggested"):
            if cluster.suggested_id is None:
                messages.warning(request, f"{cluster}: no narrative suggested; open it to choose one.")
                continue
            narratives.narrative_cluster_accept(cluster=cluster, reviewer=request.user)
            accepted += 1
        messages.info(request, f"{accepted} clusters accepted.")

    @admin.action(description="Reject the suggestion", permissions=["change"])
    def reject_suggestions(self, request, queryset):
        for cluster in queryset:
            narratives.narrative_cluster_reject(cluster=cluster, reviewer=request.user)
        messages.info(request, f"{queryset.count()} clusters rejected.")


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
