"""The API root (/api/v1/): the collections and the kernel's routes by name, with links to the documentation.

It is public, as the OpenAPI schema and its viewers are: it names routes and nothing they hold, and every route
it names answers only to the callers it answers to today.
"""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

KERNEL_ROUTES = {
    "stix": ("api:stix", "The catalogue as one STIX 2.1 bundle"),
    "taxii": ("api:taxii-discovery", "TAXII 2.1 discovery"),
}
DOCUMENTATION = {
    "openapi": ("api:schema", "The OpenAPI 3 schema (JSON)"),
    "swagger": ("api:docs", "Swagger UI"),
    "redoc": ("api:redoc", "ReDoc"),
}


def _absolute(request, url_name: str) -> str | None:
    try:
        return request.build_absolute_uri(reverse(url_name))
    except NoReverseMatch:
        return None


@extend_schema(exclude=True)
class ApiRootView(APIView):
    """Lists the router's collections (set by `as_view(registry=...)`), the kernel's routes and the docs."""

    permission_classes = [AllowAny]
    authentication_classes = []
    registry: list = []

    def get(self, request):
        collections = {prefix: _absolute(request, f"api:{basename}-list") for prefix, _, basename in self.registry}
        return Response(
            {
                "authentication": "Authorization: Bearer <key>; every route below except the documentation "
                "needs a key (or a staff session).",
                "collections": {name: url for name, url in sorted(collections.items()) if url},
                "routes": {
                    name: {"url": _absolute(request, url_name), "title": title}
                    for name, (url_name, title) in KERNEL_ROUTES.items()
                },
                "documentation": {
                    name: {"url": _absolute(request, url_name), "title": title}
                    for name, (url_name, title) in DOCUMENTATION.items()
                },
            }
        )
