"""Reads of the classifier of groups: a group's prediction, for the group list and the triage page."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from detection.models import ClassifierModel, CoordinatedGroup, GroupPrediction


def groups_with_prediction(queryset: QuerySet[CoordinatedGroup]) -> QuerySet[CoordinatedGroup]:
    """The groups annotated with the current model's probability and version (None when it has not predicted)."""
    current = GroupPrediction.objects.filter(group=OuterRef("pk"), model__is_current=True)
    return queryset.annotate(
        classifier_probability=Subquery(current.values("probability")[:1]),
        classifier_version=Subquery(current.values("model__version")[:1]),
    )


def group_classifier(*, group: CoordinatedGroup) -> dict | None:
    """The current model's prediction of the group, else the latest version's; None when no model predicted it."""
    prediction = (
        GroupPrediction.objects.filter(group=group)
        .select_related("model")
        .order_by("-model__is_current", "-model__version")
        .first()
    )
    if prediction is None:
        return None
    model: ClassifierModel = prediction.model
    return {
        "probability": prediction.probability,
        "version": model.version,
        "is_current": model.is_current,
        "mean_precision": model.mean_precision,
        "mean_recall": model.mean_recall,
        "verdicts": model.verdicts,
        "top_features": [
            {"name": name, "contribution": value, "towards": "inauthentic" if value > 0 else "benign"}
            for name, value in prediction.top_features
        ],
    }
