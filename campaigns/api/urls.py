"""Routes of the catalogue's collections, most with STIX exports; `register` adds them to the API router."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from partners.api.stix_views import StixExportMixin

from . import views


def _with_stix(viewset, prefix: str):
    """The viewset with `stix/` exports of one object and of a query."""
    mixed = type(viewset.__name__, (StixExportMixin, viewset), {"__doc__": viewset.__doc__})
    return extend_schema_view(
        stix_one=extend_schema(operation_id=f"{prefix}_stix_one"),
        stix_query=extend_schema(operation_id=f"{prefix}_stix_query"),
    )(mixed)


def register(router) -> None:
    router.register("actors", _with_stix(views.ThreatActorViewSet, "actors"), basename="actor")
    router.register("operations", _with_stix(views.OperationViewSet, "operations"), basename="operation")
    router.register("elections", views.ElectionViewSet, basename="election")
    router.register("campaigns", _with_stix(views.CampaignViewSet, "campaigns"), basename="campaign")
    router.register("narratives", _with_stix(views.NarrativeViewSet, "narratives"), basename="narrative")
    router.register("techniques", _with_stix(views.TechniqueViewSet, "techniques"), basename="technique")
    router.register("sources", views.SourceViewSet, basename="source")
    router.register("claims", _with_stix(views.AttributionClaimViewSet, "claims"), basename="claim")
    router.register("takedowns", _with_stix(views.TakedownViewSet, "takedowns"), basename="takedown")
