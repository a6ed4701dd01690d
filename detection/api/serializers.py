"""Serializers of the detection API: samples and their imports, scoring runs and what they found."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from detection import models as d
from detection import scoring
from detection.engine import BEHAVIOURS
from detection.engine.readers import FORMATS
from partners.api.serializers import Ref
from partners.markings import Tlp


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
