"""Writes of the reports: build (an upsert per scope, period and audience), render, edit, publish, schedule."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from partners.markings import Tlp, most_restrictive_tlp
from partners.models import Organisation

from . import dispatch, render, selectors
from .builder import ReportBuilder, report_title, summary_sentences
from .changes import changes_since
from .models import Report, ReportStatus, Scope, report_file_path
from .visibility import CEILING_LEVELS, Audience

PARTNER_LINK_PATH = "/api/v1/reports/{pk}/"
_SCOPE = re.compile(r"^(global)$|^(election|actor|operation):(\d+)$")
_PERIOD = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class ReportError(ValueError):
    """A report cannot be built as asked (unknown scope object, bad period, scope hidden from the audience)."""


@dataclass(frozen=True)
class ReportRequest:
    """What identifies a report: scope, period and audience, as plain strings (what tasks and commands take)."""

    scope: str
    start: str
    end: str
    audience: str


def scope_parse(text: str) -> tuple[str, int | None]:
    """'global', 'election:3', 'actor:1' or 'operation:2' into (scope, object id)."""
    match = _SCOPE.match(text.strip())
    if not match:
        raise ReportError(f"Scope '{text}' is not global, election:<id>, actor:<id> or operation:<id>.")
    if match.group(1):
        return Scope.GLOBAL, None
    return match.group(2), int(match.group(3))


def period_parse(text: str) -> tuple[date, date]:
    """'YYYY-MM-DD..YYYY-MM-DD' into (start, end), both included."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise ReportError(f"Period '{text}' is not YYYY-MM-DD..YYYY-MM-DD.")
    try:
        start, end = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
    except ValueError as exc:
        raise ReportError(f"Period '{text}': {exc}.") from exc
    if end < start:
        raise ReportError(f"Period '{text}' ends before it starts.")
    return start, end


def audience_parse(text: str) -> Audience:
    """'GREEN' (a clearance: CLEAR, GREEN or AMBER) or 'org:<slug>' into an audience."""
    text = text.strip()
    if text.startswith("org:"):
        organisation = Organisation.objects.filter(slug=text[4:]).first()
        if organisation is None:
            raise ReportError(f"No organisation with the slug '{text[4:]}'.")
        return Audience(organisation=organisation)
    clearance = text.removeprefix("clearance:").upper()
    if clearance not in CEILING_LEVELS:
        raise ReportError(
            f"Audience '{text}' is not CLEAR, GREEN, AMBER or org:<slug> (AMBER+STRICT and RED go to named recipients)."
        )
    return Audience(clearance=clearance)


def _scope_key(scope: str, object_id: int | None) -> str:
    return Scope.GLOBAL.value if scope == Scope.GLOBAL else f"{scope}:{object_id}"


def _report_defaults(scope: str, obj, start: date, end: date, audience: Audience) -> dict:
    return {
        "scope": scope,
        "election": obj if scope == Scope.ELECTION else None,
        "actor": obj if scope == Scope.ACTOR else None,
        "operation": obj if scope == Scope.OPERATION else None,
        "audience_organisation": audience.organisation,
        "audience_clearance": audience.clearance,
        "title": report_title(scope, obj, start, end),
    }


def report_build(
    *,
    scope: str,
    object_id: int | None,
    start: date,
    end: date,
    audience: Audience,
    rerender: bool = True,
    force: bool = False,
) -> Report:
    """Build (or rebuild in place) the report of a scope, period and audience; a published report stays as it is
    unless forced. Raises ReportError when the scope object is missing or hidden from the audience."""
    began = time.perf_counter()
    obj = _scope_checked(scope, object_id, audience)
    if end < start:
        raise ReportError("The period ends before it starts.")
    with transaction.atomic():
        report = _report_locked(scope, object_id, obj, start, end, audience)
        if report.status == ReportStatus.PUBLISHED and not force:
            return report
        content = ReportBuilder(scope=scope, obj=obj, start=start, end=end, audience=audience).build()
        content["changes"] = changes_since(
            scope=scope,
            obj=obj,
            audience=audience,
            period_end=end,
            previous=selectors.report_previous(report=report),
        )
        content["marking"] = most_restrictive_tlp(
            [content["marking"]] + [i["tlp"] for i in content["changes"]["items"]]
        )
        content["summary"] = summary_sentences(content)
        report.content = content
        report.tlp = content["marking"]
        report.title = report_title(scope, obj, start, end)
        if not report.summary_edited:
            report.summary = " ".join(content["summary"])
        report.built_at = timezone.now()
        report.build_error = ""
        report.save()
    if rerender:
        report_render(report=report)
    report.build_seconds = round(time.perf_counter() - began, 3)
    Report.objects.filter(pk=report.pk).update(build_seconds=report.build_seconds)
    return report


def _report_locked(scope: str, object_id: int | None, obj, start: date, end: date, audience: Audience) -> Report:
    """The report of this scope, period and audience, created as a draft when missing, locked until the commit."""
    report, _ = Report.objects.select_for_update().get_or_create(
        scope_key=_scope_key(scope, object_id),
        period_start=start,
        period_end=end,
        audience_key=audience.key,
        defaults=_report_defaults(scope, obj, start, end, audience),
    )
    return report


def _scope_checked(scope: str, object_id: int | None, audience: Audience):
    """The scope's object, or ReportError when it is missing or hidden from the audience."""
    obj = selectors.scope_object_get(scope=scope, object_id=object_id)
    if scope != Scope.GLOBAL and obj is None:
        raise ReportError(f"No {scope} with id {object_id}.")
    if obj is not None and not audience.can_see(obj):
        raise ReportError(f"The {scope} is marked {Tlp(obj.tlp).label}: not visible to {audience.label}.")
    return obj


def report_build_request(request: ReportRequest) -> Report:
    """Queue the build of a report (the admin's builder and its Rebuild action): check the request, record the
    report (a new draft, or the existing one rebuilt in place) with when its build was asked for, and send the
    build to a worker once this transaction commits. A published report is not rebuilt: ReportError."""
    scope, object_id = scope_parse(request.scope)
    start, end = date.fromisoformat(request.start), date.fromisoformat(request.end)
    if end < start:
        raise ReportError("The period ends before it starts.")
    audience = audience_parse(request.audience)
    obj = _scope_checked(scope, object_id, audience)
    with transaction.atomic():
        report = _report_locked(scope, object_id, obj, start, end, audience)
        if report.status == ReportStatus.PUBLISHED:
            raise ReportError(f"'{report.title}' is published; a published report is not rebuilt.")
        report.build_requested_at = timezone.now()
        report.build_error = ""
        report.save(update_fields=["build_requested_at", "build_error", "updated_at"])
        plain = (report.scope_key, start.isoformat(), end.isoformat(), request.audience)
        transaction.on_commit(lambda: dispatch.build_send(*plain))
    return report


def report_build_failed(request: ReportRequest, *, error: str) -> None:
    """Record why a queued build failed on its report, when the report exists."""
    try:
        scope, object_id = scope_parse(request.scope)
        audience = audience_parse(request.audience)
    except ReportError:
        return
    Report.objects.filter(
        scope_key=_scope_key(scope, object_id),
        period_start=request.start,
        period_end=request.end,
        audience_key=audience.key,
    ).update(build_error=error[:2000], updated_at=timezone.now())


def report_build_from(request: ReportRequest, *, force: bool = False) -> Report:
    """`report_build` from plain strings (as tasks and the command receive them)."""
    scope, object_id = scope_parse(request.scope)
    return report_build(
        scope=scope,
        object_id=object_id,
        start=date.fromisoformat(request.start),
        end=date.fromisoformat(request.end),
        audience=audience_parse(request.audience),
        force=force,
    )


def _replace_file(field, filename: str, data: bytes | str) -> None:
    """Write a rendered file under its fixed name, replacing the previous rendering."""
    target = report_file_path(field.instance, filename)
    for name in {field.name, target} - {""}:
        field.storage.delete(name)
    field.save(filename, ContentFile(data.encode("utf-8") if isinstance(data, str) else data), save=False)


def report_render(*, report: Report) -> Report:
    """Write the report's HTML, PDF, JSON and STIX files from its content and summary."""
    html = render.report_html(report)
    stem = f"report-{report.pk}"
    _replace_file(report.html_file, f"{stem}.html", html)
    _replace_file(report.pdf_file, f"{stem}.pdf", render.report_pdf(html))
    _replace_file(report.json_file, f"{stem}.json", render.report_json(report))
    _replace_file(report.stix_file, f"{stem}.stix.json", render.report_stix(report))
    report.save(update_fields=["html_file", "pdf_file", "json_file", "stix_file", "updated_at"])
    return report


def report_summary_update(*, report: Report, summary: str) -> Report:
    """Replace the built summary with an editor's text (kept across rebuilds) and render again."""
    if report.status == ReportStatus.PUBLISHED:
        raise ReportError("A published report is not edited; build a new one.")
    report.summary = summary.strip()
    report.summary_edited = True
    report.save(update_fields=["summary", "summary_edited", "updated_at"])
    return report_render(report=report)


def report_submit_for_review(*, report: Report) -> Report:
    """Move a draft into review; a report already in review or published is left as it is."""
    if report.status == ReportStatus.DRAFT:
        report.status = ReportStatus.IN_REVIEW
        report.save(update_fields=["status", "updated_at"])
    return report


def report_partner_link(*, report: Report, base_url: str) -> str:
    """The address partners open a report at, under `base_url` (no doubled slash)."""
    return base_url.rstrip("/") + PARTNER_LINK_PATH.format(pk=report.pk)


def report_publish(*, report: Report, user=None, base_url: str = "") -> int:
    """Publish a report and e-mail its subscribers the link; publishing it again sends nothing. Returns e-mails sent."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status == ReportStatus.PUBLISHED:
            return 0
        report.status = ReportStatus.PUBLISHED
        report.published_at = timezone.now()
        report.published_by = user if user is not None and user.is_authenticated else None
        report.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    report_render(report=report)
    base_url = base_url or getattr(settings, "SITE_URL", "") or "http://localhost:8000"
    link = report_partner_link(report=report, base_url=base_url)
    subject = f"[{Tlp(report.tlp).label}] {report.title}"
    body = (
        f"A threat report you subscribe to is published.\n\n{report.title}\n"
        f"Marking: {Tlp(report.tlp).label}. {render.TLP_NOTES[Tlp(report.tlp)]}\n\n"
        f"{report.summary}\n\nRead or download it (HTML, PDF, JSON, STIX 2.1): {link}\n"
    )
    addresses = sorted({s.address for s in selectors.subscriptions_for(report=report)})
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in addresses]
    return send_mass_mail(messages, fail_silently=False) if messages else 0


def weekly_election_plan(*, today: date, audiences: list[str]) -> list[ReportRequest]:
    """The weekly reports due on a day: the 7 days before it, for each election whose campaign or counting phase
    overlaps them, for each audience that may see the election."""
    start, end = today - timedelta(days=7), today - timedelta(days=1)
    plan = []
    for election in selectors.elections_under_way(start=start, end=end).order_by("pk"):
        for audience in audiences:
            if audience_parse(audience).can_see(election):
                plan.append(ReportRequest(f"election:{election.pk}", str(start), str(end), audience))
    return plan


def monthly_global_plan(*, today: date, audiences: list[str]) -> list[ReportRequest]:
    """The global reports due on a day: the calendar month before it, for each audience."""
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    return [ReportRequest("global", str(start), str(end), audience) for audience in audiences]


DEMO_REPORT_PERIOD = (date(2023, 11, 1), date(2024, 1, 31))


def demo_report_build() -> Report | None:
    """For `make run`: one global GREEN report over Taiwan's 2024 election season, where the demo data lives,
    when no report exists yet."""
    if Report.objects.exists():
        return None
    return report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=DEMO_REPORT_PERIOD[0],
        end=DEMO_REPORT_PERIOD[1],
        audience=Audience(clearance=Tlp.GREEN),
    )
