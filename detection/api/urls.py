"""Routes of samples, imports and scoring results; `register` adds them to the API router."""

from . import views


def register(router) -> None:
    router.register("samples", views.SampleViewSet, basename="sample")
    router.register("imports", views.SampleImportViewSet, basename="import")
    router.register("runs", views.ScoringRunViewSet, basename="run")
    router.register("groups", views.CoordinatedGroupViewSet, basename="group")
    router.register("account-scores", views.AccountScoreViewSet, basename="account-score")
