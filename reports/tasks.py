"""Celery tasks of the reports: thin, take strings, safe to run twice (a build updates the same report)."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from . import services

DEFAULT_AUDIENCES = ["GREEN", "AMBER"]


@shared_task(
    name="reports.build_report", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def build_report(scope: str, start: str, end: str, audience: str) -> int | None:
    """Build (or rebuild in place) one report; a scope that no longer exists or is hidden is a no-op."""
    request = services.ReportRequest(scope, start, end, audience)
    try:
        report = services.report_build_from(request)
    except services.ReportError as exc:
        services.report_build_failed(request, error=str(exc))
        return None
    return report.pk


def build_report_send(scope: str, start: str, end: str, audience: str) -> None:
    """The sender `reports.dispatch` calls (installed by ReportsConfig.ready)."""
    build_report.delay(scope, start, end, audience)


def _builds_enqueue(planner, today: str | None, audiences: list[str] | None) -> int:
    """Enqueue one build per report the planner lists for this day (default today) and audiences."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    plan = planner(today=day, audiences=audiences or DEFAULT_AUDIENCES)
    for request in plan:
        build_report.delay(request.scope, request.start, request.end, request.audience)
    return len(plan)


@shared_task(name="reports.build_weekly_election_reports")
def build_weekly_election_reports(today: str | None = None, audiences: list[str] | None = None) -> int:
    """Enqueue the weekly report of each election under way (beat: Mondays)."""
    return _builds_enqueue(services.weekly_election_plan, today, audiences)


@shared_task(name="reports.build_monthly_global_report")
def build_monthly_global_report(today: str | None = None, audiences: list[str] | None = None) -> int:
    """Enqueue the global report of the previous month (beat: the first of each month)."""
    return _builds_enqueue(services.monthly_global_plan, today, audiences)
