from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/dashboard/progress/", admin.site.admin_view(views.dashboard_progress), name="dashboard-progress"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracker.api_urls", namespace="api")),
    path("", views.home, name="home"),
]
