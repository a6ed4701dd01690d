"""The partner API under /api/v1/ (namespace `api`): the kernel's routes, every app's collections on one router,
the root that lists them, and the same JSON 404 for any other path."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

import campaigns.api.urls
import detection.api.urls
import partners.api.urls
import reports.api.urls
from partners.api.exceptions import not_found

from .api_root import ApiRootView

router = SimpleRouter(trailing_slash=True)
campaigns.api.urls.register(router)
detection.api.urls.register(router)
reports.api.urls.register(router)

app_name = "api"
urlpatterns = [
    path("", ApiRootView.as_view(registry=router.registry), name="root"),
    path("", include(partners.api.urls)),
    path("", include(campaigns.api.urls)),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found, name="not-found"),
]
