"""Reads of the admin's dashboard ("what needs me now"): every figure it shows is one of these counts, and each
docstring says exactly what it counts (the dashboard shows the same words beside the figure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from campaigns.models import Election, ElectionPhase
from detection.models import CoordinatedGroup, GroupStatus, ImportStatus, RunStatus, SampleImport, ScoringRun

FAILED_WINDOW = timedelta(days=14)
CHANGES_WINDOW = timedelta(days=7)
CATALOGUE_APPS = ("campaigns",)
RUN_FINISHED = (RunStatus.DONE, RunStatus.FAILED)
IMPORT_IN_PROGRESS = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def groups_to_review() -> QuerySet[CoordinatedGroup]:
    """Coordinated groups still marked "To review" (status new), of every run, best score first."""
    return (
        CoordinatedGroup.objects.filter(status=GroupStatus.NEW)
        .select_related("run__sample")
        .order_by("-score", "run_id", "number")
    )


def imports_failed(*, now: datetime | None = None) -> QuerySet[SampleImport]:
    """Imports whose status is Failed, created in the last 14 days, newest first."""
    since = (now or timezone.now()) - FAILED_WINDOW
    return (
        SampleImport.objects.filter(status=ImportStatus.FAILED, created_at__gte=since)
        .select_related("sample")
        .order_by("-created_at")
    )


def runs_failed(*, now: datetime | None = None) -> QuerySet[ScoringRun]:
    """Scoring runs whose status is Failed, created in the last 14 days, newest first."""
    since = (now or timezone.now()) - FAILED_WINDOW
    return (
        ScoringRun.objects.filter(status=RunStatus.FAILED, created_at__gte=since)
        .select_related("sample")
        .order_by("-created_at")
    )


def imports_in_progress() -> QuerySet[SampleImport]:
    """Imports queued or running, oldest first."""
    return SampleImport.objects.filter(status__in=IMPORT_IN_PROGRESS).select_related("sample").order_by("created_at")


def runs_in_progress() -> QuerySet[ScoringRun]:
    """Scoring runs neither done nor failed (queued, reading the sample, scoring shards, finding groups)."""
    return ScoringRun.objects.exclude(status__in=RUN_FINISHED).select_related("sample").order_by("created_at")


def elections_ahead(*, today: date | None = None) -> QuerySet[Election]:
    """Elections whose polling day is today or later, or that have a phase not yet over; soonest first."""
    today = today or timezone.localdate()
    open_phase = ElectionPhase.objects.filter(election=OuterRef("pk"), ends_on__gte=today)
    return (
        Election.objects.filter(Q(election_day__gte=today) | Exists(open_phase))
        .prefetch_related("phases")
        .order_by("election_day", "name")
    )


@dataclass(frozen=True)
class CatalogueChange:
    when: datetime
    kind: str
    record: str
    name: str
    who: str
    url: str | None


def _catalogue_histories() -> list:
    """The history managers of the catalogue's models (those django-simple-history tracks)."""
    managers = []
    for app_label in CATALOGUE_APPS:
        for model in apps.get_app_config(app_label).get_models():
            attribute = getattr(model._meta, "simple_history_manager_attribute", None)
            if attribute:
                managers.append((model, getattr(model, attribute)))
    return managers


def catalogue_changes_count(*, now: datetime | None = None) -> int:
    """Recorded changes (created, changed or deleted versions) of catalogue records in the last 7 days."""
    since = (now or timezone.now()) - CHANGES_WINDOW
    return sum(history.filter(history_date__gte=since).count() for _, history in _catalogue_histories())


def catalogue_changes_recent(*, limit: int = 10) -> list[CatalogueChange]:
    """The latest recorded changes of catalogue records, newest first, whatever their age."""
    kinds = {"+": "Created", "~": "Changed", "-": "Deleted"}
    rows = []
    for model, history in _catalogue_histories():
        for row in history.select_related("history_user").order_by("-history_date")[:limit]:
            rows.append((model, row))
    rows.sort(key=lambda pair: pair[1].history_date, reverse=True)
    changes = []
    for model, row in rows[:limit]:
        meta = model._meta
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[row.id])
        except NoReverseMatch:
            url = None
        changes.append(
            CatalogueChange(
                when=row.history_date,
                kind=kinds.get(row.history_type, row.history_type),
                record=str(meta.verbose_name).capitalize(),
                name=str(row.instance) if row.history_type != "-" else f"{meta.verbose_name} {row.id}",
                who=str(row.history_user) if row.history_user_id else "",
                url=url if row.history_type != "-" else None,
            )
        )
    return changes
