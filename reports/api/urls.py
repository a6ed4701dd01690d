"""Routes of threat reports and their files; `register` adds them to the API router."""

from . import views


def register(router) -> None:
    router.register("reports", views.ReportViewSet, basename="report")
