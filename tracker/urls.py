from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Election-interference tracker"
admin.site.site_title = "Interference tracker"
admin.site.index_title = "Catalogue and findings"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracker.api_urls", namespace="api")),
    path("", views.home, name="home"),
]
