from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from . import codes, selectors
from .forms import (
    AttributionClaimForm,
    CampaignForm,
    ClaimInlineForm,
    ElectionForm,
    NarrativeForm,
    TakedownForm,
    ThreatActorForm,
    scorecard_fieldsets,
)
from .models import (
    Alias,
    Asset,
    AttributionClaim,
    Campaign,
    Election,
    ElectionPhase,
    ElectionRound,
    InterferenceTool,
    Narrative,
    Operation,
    Platform,
    Source,
    Takedown,
    Technique,
    TechniqueUse,
    ThreatActor,
)


class AliasInline(TabularInline):
    model = Alias
    extra = 0
    autocomplete_fields = ["source"]
    fields = ["name", "namespace", "source"]


class TechniqueUseInline(TabularInline):
    """Compact: the evidence text and its source are edited on the technique use's own page (the change link)."""

    model = TechniqueUse
    extra = 0
    autocomplete_fields = ["technique"]
    fields = ["technique", "confidence", "observed_on"]
    show_change_link = True
    collapsible = True
    per_page = 10  # the dossier above lists them all; the form pages through them


class ClaimInline(StackedInline):
    model = AttributionClaim
    form = ClaimInlineForm
    extra = 0
    autocomplete_fields = ["actor", "source"]
    collapsible = True
    per_page = 3
    fields = [
        ("claimant", "claimant_category"),
        ("claimant_country", "claimed_on"),
        ("actor", "attribution_type"),
        ("likelihood", "confidence"),
        "credibility",
        "title",
        "source",
        ("tlp", "is_estimate"),
    ]
    show_change_link = True


class TakedownInline(TabularInline):
    model = Takedown
    extra = 0
    fields = ["platform", "announced_on", "accounts_removed", "pages_removed", "groups_removed", "followers"]
    show_change_link = True
    collapsible = True
    per_page = 10  # the dossier above lists them all; the form pages through them


class AssetInline(TabularInline):
    """Read-only rows (a confirmed group's attachment adds dozens at once): each is edited, and new ones added,
    on the assets' own pages, which keeps a campaign's page quick to render."""

    model = Asset
    extra = 0
    fields = ["asset_type", "platform", "identifier", "first_seen", "last_seen", "tlp"]
    readonly_fields = fields
    show_change_link = True
    collapsible = True
    per_page = 10  # the dossier above lists them all; the form pages through them

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ElectionRoundInline(TabularInline):
    model = ElectionRound
    extra = 0


class ElectionPhaseInline(TabularInline):
    model = ElectionPhase
    extra = 0


class HistoryAdmin(SimpleHistoryAdmin, ModelAdmin):
    """simple-history's admin, whose revert form saves only for a user who may change the record:
    simple-history itself lets anyone who may view the history post the form."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            record = self.get_object(request, unquote(object_id))
            if not self.has_change_history_permission(request, record):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class AliasesListed:
    """An admin whose list shows each record's aliases (column `alias_names`), read in one query per page."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("aliases")

    @admin.display(description="Aliases")
    def alias_names(self, obj: ThreatActor | Operation) -> str:
        return ", ".join(alias.name for alias in obj.aliases.all())


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    list_display = ["title", "publisher", "author", "published_on", "reliability", "tlp"]
    list_filter = ["reliability", "tlp", "publisher"]
    search_fields = ["title", "publisher", "author", "url"]
    date_hierarchy = "published_on"


@admin.register(ThreatActor)
class ThreatActorAdmin(AliasesListed, HistoryAdmin):
    form = ThreatActorForm
    list_display = ["name", "actor_type", "country", "parent", "alias_names", "tlp"]
    list_filter = ["actor_type", "country", "tlp"]
    list_select_related = ["parent"]
    search_fields = ["name", "aliases__name", "description"]
    autocomplete_fields = ["parent"]
    inlines = [AliasInline]


@admin.register(Operation)
class OperationAdmin(AliasesListed, HistoryAdmin):
    list_display = ["name", "actor", "status", "first_seen", "last_seen", "alias_names", "tlp"]
    list_filter = ["status", ("actor", admin.RelatedOnlyFieldListFilter), "tlp"]
    list_select_related = ["actor"]
    search_fields = ["name", "aliases__name", "description"]
    autocomplete_fields = ["actor", "sources"]
    inlines = [AliasInline, AssetInline, TakedownInline]


@admin.register(Alias)
class AliasAdmin(HistoryAdmin):
    list_display = ["name", "namespace", "actor", "operation", "source"]
    list_filter = ["namespace"]
    list_select_related = ["actor", "operation", "source"]
    search_fields = ["name", "actor__name", "operation__name"]
    autocomplete_fields = ["actor", "operation", "source"]


@admin.register(Election)
class ElectionAdmin(HistoryAdmin):
    form = ElectionForm
    change_form_outer_before_template = "admin/campaigns/election/dossier.html"
    list_display = ["name", "country", "election_type", "election_day", "tlp"]
    list_filter = ["country", "election_type"]
    search_fields = ["name", "description"]
    date_hierarchy = "election_day"
    inlines = [ElectionRoundInline, ElectionPhaseInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        election = self.get_object(request, unquote(object_id))
        if election is not None:
            extra_context = {**(extra_context or {}), "dossier": selectors.election_dossier(election=election)}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Narrative)
class NarrativeAdmin(HistoryAdmin):
    form = NarrativeForm
    list_display = ["name", "parent", "tlp"]
    list_filter = ["tlp"]
    list_select_related = ["parent"]
    search_fields = ["name", "summary"]
    autocomplete_fields = ["parent"]


@admin.register(Technique)
class TechniqueAdmin(ModelAdmin):
    list_display = ["external_id", "name", "tactic_id", "tactic_name", "framework", "framework_version", "retired"]
    list_filter = ["framework", "tactic_name", "retired"]
    search_fields = ["external_id", "name", "summary"]
    ordering = ["framework", "external_id"]


@admin.register(Platform)
class PlatformAdmin(ModelAdmin):
    search_fields = ["code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(InterferenceTool)
class InterferenceToolAdmin(PlatformAdmin):
    pass


@admin.register(Campaign)
class CampaignAdmin(HistoryAdmin):
    """The list keeps what triage needs (elections, platforms, tools, techniques are filters); the page opens on the
    campaign's dossier, read-only, with the form and the compact inlines below it."""

    form = CampaignForm
    change_form_outer_before_template = "admin/campaigns/campaign/dossier.html"
    list_display = ["name", "actor", "operation", "status", "first_seen", "last_seen", "tlp"]
    list_filter = [
        "status",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("operation", admin.RelatedOnlyFieldListFilter),
        ("elections", admin.RelatedOnlyFieldListFilter),
        "tlp",
        ("tools", admin.RelatedOnlyFieldListFilter),
        ("techniques", admin.RelatedOnlyFieldListFilter),
        ("platforms", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "summary", "objective", "operation__name", "actor__name"]
    autocomplete_fields = ["actor", "operation", "elections", "narratives", "sources", "owner"]
    filter_horizontal = ["tools", "platforms"]
    date_hierarchy = "first_seen"
    inlines = [TechniqueUseInline, ClaimInline, TakedownInline, AssetInline]
    fieldsets = [
        (None, {"fields": ["name", ("actor", "operation"), "elections", "status", ("first_seen", "last_seen")]}),
        (
            "What and how",
            {
                "fields": [
                    "summary",
                    "objective",
                    "target_countries",
                    "target_audiences",
                    "tools",
                    "platforms",
                    "languages",
                    "narratives",
                    "breakout_scale",
                ]
            },
        ),
        ("Evidence and sharing", {"fields": ["sources", ("tlp", "pap"), "owner", "is_estimate"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.campaign_list()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, unquote(object_id))
        if campaign is not None:
            dossier = selectors.campaign_dossier(campaign=campaign)
            dossier["target_countries"] = [codes.country_name(code) for code in campaign.target_countries]
            dossier["languages"] = [codes.language_label(tag) for tag in campaign.languages]
            extra_context = {**(extra_context or {}), "dossier": dossier}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AttributionClaim)
class AttributionClaimAdmin(HistoryAdmin):
    form = AttributionClaimForm
    list_display = ["claimant", "campaign", "actor", "claimed_on", "likelihood", "score_total", "tlp"]
    list_filter = [
        "claimant_category",
        "attribution_type",
        "likelihood",
        "confidence",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("campaign", admin.RelatedOnlyFieldListFilter),
        ("operation", admin.RelatedOnlyFieldListFilter),
        "tlp",
        "is_estimate",
    ]
    list_select_related = ["actor", "campaign", "operation"]
    search_fields = ["claimant", "title", "summary", "fiat_case_id"]
    autocomplete_fields = ["actor", "campaign", "operation", "source"]
    readonly_fields = ["score_total"]
    date_hierarchy = "claimed_on"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("claimant", "claimant_category"),
                    ("claimant_country", "claimed_on"),
                    ("actor", "fiat_case_id"),
                    ("campaign", "operation"),
                    "title",
                    "summary",
                    "source",
                ]
            },
        ),
        (
            "Assessment",
            {"fields": [("attribution_type", "likelihood"), ("confidence", "credibility"), "score_total"]},
        ),
        *scorecard_fieldsets(),
        ("Sharing", {"fields": [("tlp", "is_estimate")]}),
    ]


@admin.register(Takedown)
class TakedownAdmin(HistoryAdmin):
    form = TakedownForm
    list_display = ["__str__", "operation", "campaign", "accounts_removed", "followers", "tlp"]
    list_filter = [
        "platform",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("operation", admin.RelatedOnlyFieldListFilter),
        ("campaign", admin.RelatedOnlyFieldListFilter),
        "tlp",
    ]
    list_select_related = ["platform", "actor", "operation", "campaign"]
    search_fields = ["notes", "operation__name", "campaign__name", "actor__name"]
    autocomplete_fields = ["actor", "operation", "campaign", "source"]
    date_hierarchy = "announced_on"


@admin.register(Asset)
class AssetAdmin(HistoryAdmin):
    list_display = ["identifier", "asset_type", "platform", "operation", "campaign", "first_seen", "last_seen", "tlp"]
    list_filter = ["asset_type", "platform", "tlp"]
    list_select_related = ["platform", "operation", "campaign"]
    search_fields = ["identifier", "url", "notes"]
    autocomplete_fields = ["operation", "campaign"]


@admin.register(TechniqueUse)
class TechniqueUseAdmin(HistoryAdmin):
    list_display = ["campaign", "technique", "confidence", "observed_on"]
    list_filter = ["confidence", "technique__tactic_name"]
    list_select_related = ["campaign", "technique"]
    search_fields = ["campaign__name", "technique__external_id", "technique__name", "evidence"]
    autocomplete_fields = ["campaign", "technique", "source"]
