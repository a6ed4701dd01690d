"""Read serializers of the partner API. Related objects render only when visible (see views.visible_prefetch)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from campaigns import models as c
from detection import models as d
from detection import scoring
from detection.engine import BEHAVIOURS
from detection.engine.readers import FORMATS
from partners.markings import Tlp
from reports import models as r

# Rendered files of a report, by the name of their download route.
REPORT_DOWNLOADS = {"html": "html_file", "pdf": "pdf_file", "json": "json_file", "stix": "stix_file"}

REF_SCHEMA = inline_serializer("Ref", fields={"id": serializers.IntegerField(), "name": serializers.CharField()})


@extend_schema_field(REF_SCHEMA)
class Ref(serializers.RelatedField):
    """A related object as {id, name}; null (or left out of a list) when the caller may not see it."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        if not kwargs.get("many"):
            kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def use_pk_only_optimization(self) -> bool:
        return False  # read the prefetched (visibility-filtered) object, never the raw foreign key

    def to_representation(self, value):
        return {"id": value.pk, "name": str(value)}


class MarkedSerializer(serializers.ModelSerializer):
    """Fields every marked record shows: its id, its STIX id, its TLP marking and its timestamps."""

    stix_type = ""
    stix_id = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_stix_id(self, obj) -> str:
        return f"{self.stix_type}--{obj.stix_uuid}"

    marked_fields = ("id", "stix_id", "tlp", "created_at", "updated_at")


class AliasSerializer(serializers.ModelSerializer):
    class Meta:
        model = c.Alias
        fields = ("name", "namespace")


class ThreatActorSerializer(MarkedSerializer):
    stix_type = "threat-actor"
    parent = Ref()
    aliases = AliasSerializer(many=True, read_only=True)

    class Meta:
        model = c.ThreatActor
        fields = (*MarkedSerializer.marked_fields, "name", "actor_type", "country", "parent", "description", "aliases")


class OperationSerializer(MarkedSerializer):
    stix_type = "intrusion-set"
    actor = Ref()
    sources = Ref(many=True)
    aliases = AliasSerializer(many=True, read_only=True)

    class Meta:
        model = c.Operation
        fields = (
            *MarkedSerializer.marked_fields,
            "name",
            "actor",
            "description",
            "first_seen",
            "last_seen",
            "status",
            "sources",
            "aliases",
        )


class ElectionRoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = c.ElectionRound
        fields = ("number", "polling_day")


class ElectionPhaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = c.ElectionPhase
        fields = ("phase", "starts_on", "ends_on")


class ElectionSerializer(MarkedSerializer):
    stix_type = "x-election"
    rounds = ElectionRoundSerializer(many=True, read_only=True)
    phases = ElectionPhaseSerializer(many=True, read_only=True)

    class Meta:
        model = c.Election
        fields = (
            *MarkedSerializer.marked_fields,
            "name",
            "country",
            "election_type",
            "election_day",
            "description",
            "rounds",
            "phases",
        )


class TechniqueRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = c.Technique
        fields = ("id", "framework", "external_id", "name")


class TechniqueUseSerializer(serializers.ModelSerializer):
    technique = TechniqueRefSerializer(read_only=True)

    class Meta:
        model = c.TechniqueUse
        fields = ("technique", "confidence", "evidence", "observed_on")


class CampaignSerializer(MarkedSerializer):
    stix_type = "campaign"
    actor = Ref()
    operation = Ref()
    elections = Ref(many=True)
    narratives = Ref(many=True)
    sources = Ref(many=True)
    technique_uses = TechniqueUseSerializer(many=True, read_only=True)
    tools = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    platforms = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    owner = serializers.SlugRelatedField(read_only=True, slug_field="slug", allow_null=True)

    class Meta:
        model = c.Campaign
        fields = (
            *MarkedSerializer.marked_fields,
            "name",
            "actor",
            "operation",
            "elections",
            "summary",
            "objective",
            "target_countries",
            "target_audiences",
            "first_seen",
            "last_seen",
            "status",
            "tools",
            "platforms",
            "languages",
            "narratives",
            "technique_uses",
            "sources",
            "breakout_scale",
            "pap",
            "owner",
            "is_estimate",
        )


class NarrativeSerializer(MarkedSerializer):
    stix_type = "narrative"
    parent = Ref()

    class Meta:
        model = c.Narrative
        fields = (*MarkedSerializer.marked_fields, "name", "parent", "summary", "languages", "five_ds")


class TechniqueSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(read_only=True, slug_field="external_id", allow_null=True)

    class Meta:
        model = c.Technique
        fields = (
            "id",
            "framework",
            "external_id",
            "name",
            "tactic_id",
            "tactic_name",
            "phase_id",
            "phase_name",
            "parent",
            "summary",
            "stix_id",
            "framework_version",
            "retired",
        )


class SourceSerializer(MarkedSerializer):
    stix_type = "x-source"

    class Meta:
        model = c.Source
        fields = (
            *MarkedSerializer.marked_fields,
            "title",
            "url",
            "archived_url",
            "publisher",
            "author",
            "published_on",
            "reliability",
        )


class AttributionClaimSerializer(MarkedSerializer):
    stix_type = "relationship"
    actor = Ref()
    campaign = Ref()
    operation = Ref()
    source = Ref()

    class Meta:
        model = c.AttributionClaim
        fields = (
            *MarkedSerializer.marked_fields,
            "claimant",
            "claimant_category",
            "claimant_country",
            "actor",
            "campaign",
            "operation",
            "claimed_on",
            "title",
            "summary",
            "attribution_type",
            "likelihood",
            "confidence",
            "credibility",
            "source",
            "scorecard",
            "score_total",
            "fiat_case_id",
            "is_estimate",
        )


class TakedownSerializer(MarkedSerializer):
    stix_type = "report"
    platform = serializers.SlugRelatedField(read_only=True, slug_field="code")
    actor = Ref()
    operation = Ref()
    campaign = Ref()
    source = Ref()

    class Meta:
        model = c.Takedown
        fields = (
            *MarkedSerializer.marked_fields,
            "platform",
            "announced_on",
            "actor",
            "operation",
            "campaign",
            "accounts_removed",
            "pages_removed",
            "groups_removed",
            "instagram_accounts_removed",
            "followers",
            "ad_spend",
            "ad_currency",
            "origin_countries",
            "target_countries",
            "source",
            "notes",
        )


class SampleImportSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:import-detail")
    sample = Ref()
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = d.SampleImport
        fields = (
            "id",
            "url",
            "sample",
            "original_name",
            "format",
            "platform",
            "status",
            "error",
            "progress",
            "bytes_total",
            "bytes_done",
            "rows_done",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
            "duplicates",
            "accounts_seen",
            "created_at",
            "started_at",
            "finished_at",
        )


class SampleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:sample-detail")
    owner = serializers.SlugRelatedField(read_only=True, slug_field="slug", allow_null=True)
    imports = serializers.HyperlinkedIdentityField(view_name="api:sample-imports")
    runs = serializers.HyperlinkedIdentityField(view_name="api:sample-runs")

    class Meta:
        model = d.Sample
        fields = (
            "id",
            "url",
            "name",
            "description",
            "platforms",
            "collection_method",
            "collected_from",
            "collected_to",
            "owner",
            "tlp",
            "status",
            "posts_count",
            "accounts_count",
            "created_at",
            "imports",
            "runs",
        )


SUBMITTABLE_TLPS = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT]


class SampleImportRequestSerializer(serializers.Serializer):
    """One file in any ingestion format; format and platform are detected when left out."""

    file = serializers.FileField()
    format = serializers.ChoiceField(choices=sorted(FORMATS), required=False, allow_blank=True, default="")
    platform = serializers.ChoiceField(choices=d.Platform.choices, required=False, allow_blank=True, default="")


class SampleSubmitSerializer(SampleImportRequestSerializer):
    """A new sample owned by the caller's organisation, with its first file."""

    name = serializers.CharField(max_length=150)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tlp = serializers.ChoiceField(choices=SUBMITTABLE_TLPS, default=Tlp.AMBER)
    collection_method = serializers.ChoiceField(choices=d.CollectionMethod.choices, default="other")


class SubmissionSerializer(serializers.Serializer):
    """What a submission answers (202): the sample and the import job to follow."""

    sample = SampleSerializer()
    job = SampleImportSerializer()


class SocialAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = d.SocialAccount
        fields = ("id", "platform", "account_id", "handle", "display_name", "created_at", "followers", "following")


class ScoringRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:run-detail")
    sample = Ref()
    tlp = serializers.ChoiceField(source="sample.tlp", choices=Tlp.choices, read_only=True)
    progress = serializers.FloatField(read_only=True)
    groups = serializers.SerializerMethodField()
    account_scores = serializers.SerializerMethodField()

    class Meta:
        model = d.ScoringRun
        fields = (
            "id",
            "url",
            "sample",
            "tlp",
            "status",
            "progress",
            "params",
            "engine_version",
            "n_shards",
            "shards_done",
            "error",
            "summary",
            "timings",
            "result_hash",
            "created_at",
            "started_at",
            "finished_at",
            "groups",
            "account_scores",
        )

    def _filtered_list(self, view_name: str, run) -> str:
        return self.context["request"].build_absolute_uri(reverse(view_name) + f"?run={run.pk}")

    @extend_schema_field(OpenApiTypes.URI)
    def get_groups(self, run) -> str:
        return self._filtered_list("api:group-list", run)

    @extend_schema_field(OpenApiTypes.URI)
    def get_account_scores(self, run) -> str:
        return self._filtered_list("api:account-score-list", run)


class ScoringRunRequestSerializer(serializers.Serializer):
    """Engine parameters of a new run; what is left out takes the engine's documented default."""

    window_s = serializers.FloatField(
        min_value=0, max_value=7 * 86400, required=False, help_text="Seconds within which two accounts co-act"
    )
    behaviours = serializers.ListField(
        child=serializers.ChoiceField(choices=BEHAVIOURS), min_length=1, max_length=len(BEHAVIOURS), required=False
    )
    min_weight = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000,
        required=False,
        allow_null=True,
        help_text="A fixed minimum edge weight (the peers' rule); null or left out: significance testing",
    )
    alpha = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="False discovery rate per behaviour, in (0, 1)"
    )
    similar_text_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    flag_threshold = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="Accounts scoring at least this are flagged"
    )

    def validate(self, attrs: dict) -> dict:
        try:
            scoring.engine_params(attrs)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return attrs


class CoordinatedGroupSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:group-detail")
    run = Ref()
    sample = Ref(source="run.sample")
    tlp = serializers.ChoiceField(source="run.sample.tlp", choices=Tlp.choices, read_only=True)
    behaviours = serializers.ListField(child=serializers.CharField(), read_only=True)
    leader = SocialAccountSerializer(read_only=True, allow_null=True)
    campaign = Ref()
    members = serializers.SerializerMethodField()

    class Meta:
        model = d.CoordinatedGroup
        fields = (
            "id",
            "url",
            "run",
            "sample",
            "tlp",
            "number",
            "score",
            "size",
            "behaviours",
            "first_activity",
            "last_activity",
            "reasons",
            "leader",
            "status",
            "reviewed_at",
            "campaign",
            "members",
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_members(self, group) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:account-score-list") + f"?group={group.pk}")


class EvidencePostSerializer(serializers.ModelSerializer):
    account = SocialAccountSerializer(read_only=True)

    class Meta:
        model = d.Post
        fields = ("platform", "post_id", "account", "created_at", "text", "reshare_of", "reply_to", "urls", "hashtags")


class EdgeEvidenceSerializer(serializers.ModelSerializer):
    post_source = EvidencePostSerializer(read_only=True)
    post_target = EvidencePostSerializer(read_only=True)

    class Meta:
        model = d.EdgeEvidence
        fields = ("post_source", "post_target", "dt")


EVIDENCE_PER_EDGE = 5


class CoordinationEdgeSerializer(serializers.ModelSerializer):
    source = SocialAccountSerializer(read_only=True)
    target = SocialAccountSerializer(read_only=True)
    evidence = serializers.SerializerMethodField(help_text=f"The {EVIDENCE_PER_EDGE} closest post pairs in time")

    class Meta:
        model = d.CoordinationEdge
        fields = (
            "source",
            "target",
            "behaviour",
            "weight",
            "weight_source_first",
            "weight_target_first",
            "expected",
            "p_value",
            "q_value",
            "median_dt",
            "evidence",
        )

    @extend_schema_field(EdgeEvidenceSerializer(many=True))
    def get_evidence(self, edge) -> list:
        return EdgeEvidenceSerializer(list(edge.evidence.all())[:EVIDENCE_PER_EDGE], many=True).data


class AccountScoreSerializer(serializers.ModelSerializer):
    run = Ref()
    group = Ref()
    tlp = serializers.ChoiceField(source="run.sample.tlp", choices=Tlp.choices, read_only=True)
    account = SocialAccountSerializer(read_only=True)

    class Meta:
        model = d.AccountScore
        fields = ("id", "run", "group", "tlp", "account", "score", "flagged", "reasons", "lead", "follow")


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
