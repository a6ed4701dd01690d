"""Read endpoints of the catalogue: actors, operations, elections, campaigns, narratives, techniques, sources,
attribution claims and takedowns. Every queryset goes through visible_to (PartnerReadViewSet)."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from campaigns import models as c
from partners.api.views import PartnerReadViewSet

from . import filters, serializers


@extend_schema_view(list=extend_schema(summary="Threat actors"), retrieve=extend_schema(summary="A threat actor"))
class ThreatActorViewSet(PartnerReadViewSet):
    model = c.ThreatActor
    serializer_class = serializers.ThreatActorSerializer
    filterset_class = filters.ThreatActorFilterSet
    visible_prefetch = ("parent", "aliases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Operations"), retrieve=extend_schema(summary="An operation"))
class OperationViewSet(PartnerReadViewSet):
    model = c.Operation
    serializer_class = serializers.OperationSerializer
    filterset_class = filters.OperationFilterSet
    visible_prefetch = ("actor", "sources", "aliases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Elections"), retrieve=extend_schema(summary="An election"))
class ElectionViewSet(PartnerReadViewSet):
    model = c.Election
    serializer_class = serializers.ElectionSerializer
    filterset_class = filters.ElectionFilterSet
    visible_prefetch = ("rounds", "phases")
    search_fields = ["name", "description"]
    ordering_fields = ["name", "election_day", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Campaigns"), retrieve=extend_schema(summary="A campaign"))
class CampaignViewSet(PartnerReadViewSet):
    model = c.Campaign
    serializer_class = serializers.CampaignSerializer
    filterset_class = filters.CampaignFilterSet
    visible_prefetch = ("actor", "operation", "elections", "narratives", "sources", "technique_uses")
    prefetch_querysets = {"technique_uses": c.TechniqueUse.objects.select_related("technique")}
    select_public = ("owner",)
    search_fields = ["name", "summary", "objective"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("tools", "platforms")


@extend_schema_view(list=extend_schema(summary="Narratives"), retrieve=extend_schema(summary="A narrative"))
class NarrativeViewSet(PartnerReadViewSet):
    model = c.Narrative
    serializer_class = serializers.NarrativeSerializer
    filterset_class = filters.NarrativeFilterSet
    visible_prefetch = ("parent",)
    search_fields = ["name", "summary"]
    ordering_fields = ["name", "created_at", "updated_at"]


@extend_schema_view(
    list=extend_schema(summary="Techniques (DISARM, Meta kill chain)"), retrieve=extend_schema(summary="A technique")
)
class TechniqueViewSet(PartnerReadViewSet):
    model = c.Technique
    serializer_class = serializers.TechniqueSerializer
    filterset_class = filters.TechniqueFilterSet
    select_public = ("parent",)
    search_fields = ["external_id", "name", "summary"]
    ordering_fields = ["external_id", "name"]


@extend_schema_view(list=extend_schema(summary="Sources"), retrieve=extend_schema(summary="A source"))
class SourceViewSet(PartnerReadViewSet):
    model = c.Source
    serializer_class = serializers.SourceSerializer
    filterset_class = filters.SourceFilterSet
    search_fields = ["title", "publisher", "author"]
    ordering_fields = ["title", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Attribution claims"), retrieve=extend_schema(summary="A claim"))
class AttributionClaimViewSet(PartnerReadViewSet):
    model = c.AttributionClaim
    serializer_class = serializers.AttributionClaimSerializer
    filterset_class = filters.AttributionClaimFilterSet
    visible_prefetch = ("actor", "campaign", "operation", "source")
    search_fields = ["claimant", "title", "summary"]
    ordering_fields = ["claimant", "created_at", "updated_at"]


@extend_schema_view(list=extend_schema(summary="Takedowns"), retrieve=extend_schema(summary="A takedown"))
class TakedownViewSet(PartnerReadViewSet):
    model = c.Takedown
    serializer_class = serializers.TakedownSerializer
    filterset_class = filters.TakedownFilterSet
    visible_prefetch = ("actor", "operation", "campaign", "source")
    select_public = ("platform",)
    search_fields = ["notes"]
    ordering_fields = ["announced_on", "created_at", "updated_at"]
