"""Routes of the catalogue: its STIX bundle and TAXII 2.1 feed (`urlpatterns`), and its collections, most with
STIX exports (`register` adds them to the API router)."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view

from . import stix, taxii, views


def _with_stix(viewset, prefix: str):
    """The viewset with `stix/` exports of one object and of a query."""
    mixed = type(viewset.__name__, (stix.StixExportMixin, viewset), {"__doc__": viewset.__doc__})
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


taxii_patterns = [
    path("", taxii.DiscoveryView.as_view(), name="taxii-discovery"),
    path("root/", taxii.ApiRootView.as_view(), name="taxii-root"),
    path("root/collections/", taxii.CollectionsView.as_view(), name="taxii-collections"),
    path("root/collections/<uuid:collection>/", taxii.CollectionView.as_view(), name="taxii-collection"),
    path("root/collections/<uuid:collection>/objects/", taxii.ObjectsView.as_view(), name="taxii-objects"),
    path(
        "root/collections/<uuid:collection>/objects/<str:object_id>/",
        taxii.ObjectView.as_view(),
        name="taxii-object",
    ),
    path("root/collections/<uuid:collection>/manifest/", taxii.ManifestView.as_view(), name="taxii-manifest"),
]

urlpatterns = [
    path("stix/", stix.StixCatalogueView.as_view(), name="stix"),
    path("taxii2/", include(taxii_patterns)),
]
