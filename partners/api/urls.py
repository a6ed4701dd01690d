"""The kernel's own routes under /api/v1/: the OpenAPI schema and its viewers, the STIX catalogue, TAXII 2.1."""

from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import stix_views, taxii

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
    path("schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("stix/", stix_views.StixCatalogueView.as_view(), name="stix"),
    path("taxii2/", include(taxii_patterns)),
]
