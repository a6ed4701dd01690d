"""Read serializers of the catalogue's API collections. Related objects render only when visible."""

from rest_framework import serializers

from campaigns import models as c
from partners.api.serializers import MarkedSerializer, Ref


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
