"""The admin's home (unfold's DASHBOARD_CALLBACK): what needs the researcher now. Reads live in tracker.selectors;
this only picks what the user may see and names each figure with what it counts."""

from __future__ import annotations

from django.urls import reverse

from tracker import selectors
from tracker.navigation import SECTIONS, TECHNICAL_APPS

ROWS = 8
APP_ORDER = {app: i for i, (_, items) in enumerate(SECTIONS) for _, _, app, _ in items[:1]}


def _may_view(user, app_label: str, model_name: str) -> bool:
    return user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(f"{app_label}.change_{model_name}")


def _changelist(app_label: str, model_name: str, query: str = "") -> str:
    return reverse(f"admin:{app_label}_{model_name}_changelist") + (f"?{query}" if query else "")


def progress_context(user) -> dict:
    """The imports and runs under way (the part of the dashboard that polls for itself)."""
    imports = list(selectors.imports_in_progress()) if _may_view(user, "detection", "sampleimport") else []
    runs = list(selectors.runs_in_progress()) if _may_view(user, "detection", "scoringrun") else []
    return {
        "imports_in_progress": [{"job": job, "percent": round(job.progress * 100)} for job in imports],
        "runs_in_progress": [{"run": run, "percent": round(run.progress * 100)} for run in runs],
        "progress_url": reverse("dashboard-progress"),
        "poll_seconds": 2 if imports or runs else 10,
    }


def dashboard_context(user) -> dict:
    figures = []
    context: dict = {"figures": figures}
    if _may_view(user, "detection", "coordinatedgroup"):
        groups = selectors.groups_to_review()
        figures.append(
            {
                "key": "groups_to_review",
                "label": "Groups to review",
                "value": groups.count(),
                "help": "Coordinated groups of every run still marked To review.",
                "url": _changelist("detection", "coordinatedgroup", "status__exact=new&o=-2"),
            }
        )
        context["groups"] = list(groups[:ROWS])
    if _may_view(user, "detection", "sampleimport"):
        failed = selectors.imports_failed()
        figures.append(
            {
                "key": "imports_failed",
                "label": "Failed imports, 14 days",
                "value": failed.count(),
                "help": "Imports whose status is Failed, created in the last 14 days.",
                "url": _changelist("detection", "sampleimport", "status__exact=failed"),
            }
        )
        context["imports_failed"] = list(failed[:ROWS])
        figures.append(
            {
                "key": "imports_in_progress",
                "label": "Imports under way",
                "value": selectors.imports_in_progress().count(),
                "help": "Imports queued or running now.",
                "url": _changelist("detection", "sampleimport", "status__in=queued,running"),
            }
        )
    if _may_view(user, "detection", "scoringrun"):
        failed = selectors.runs_failed()
        figures.append(
            {
                "key": "runs_failed",
                "label": "Failed runs, 14 days",
                "value": failed.count(),
                "help": "Scoring runs whose status is Failed, created in the last 14 days.",
                "url": _changelist("detection", "scoringrun", "status__exact=failed"),
            }
        )
        context["runs_failed"] = list(failed[:ROWS])
        figures.append(
            {
                "key": "runs_in_progress",
                "label": "Runs under way",
                "value": selectors.runs_in_progress().count(),
                "help": "Scoring runs neither done nor failed: queued, reading the sample, scoring or finding groups.",
                "url": _changelist("detection", "scoringrun", "status__in=queued,preparing,scoring,reducing"),
            }
        )
    if _may_view(user, "campaigns", "election"):
        elections = selectors.elections_ahead()
        figures.append(
            {
                "key": "elections_ahead",
                "label": "Elections ahead",
                "value": elections.count(),
                "help": "Elections whose polling day is today or later, or with a phase not yet over.",
                "url": _changelist("campaigns", "election"),
            }
        )
        context["elections"] = list(elections[:ROWS])
    if _may_view(user, "campaigns", "campaign"):
        figures.append(
            {
                "key": "catalogue_changes",
                "label": "Catalogue changes, 7 days",
                "value": selectors.catalogue_changes_count(),
                "help": "Versions of catalogue records (created, changed or deleted) recorded in the last 7 days.",
                "url": None,
            }
        )
        context["changes"] = selectors.catalogue_changes_recent(limit=ROWS)
    context["shortcuts"] = [
        {"label": label, "url": reverse(f"admin:{app}_{model}_add")}
        for label, app, model in (
            ("New sample", "detection", "sample"),
            ("Upload a file", "detection", "sampleimport"),
            ("Build a report", "reports", "report"),
        )
        if user.has_perm(f"{app}.add_{model}")
    ]
    context.update(progress_context(user))
    return context


def researcher_first(app_list: list[dict]) -> list[dict]:
    """The admin's app list with the researcher's apps in the sidebar's order and the technical apps last."""

    def rank(app: dict) -> tuple[int, str]:
        label = app["app_label"]
        if label in TECHNICAL_APPS:
            return (len(SECTIONS) + 1, app["name"])
        return (APP_ORDER.get(label, len(SECTIONS)), app["name"])

    return sorted(app_list, key=rank)


def dashboard_callback(request, context: dict) -> dict:
    context.update(dashboard_context(request.user))
    context["app_list"] = researcher_first(context.get("app_list", []))
    return context
