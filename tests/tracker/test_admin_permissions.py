"""Staff who may only view: every custom admin view and admin action, walked as such a user, changes nothing.

The walk enumerates each registered ModelAdmin's own URLs (beyond Django's standard ones) and its actions (beyond
Django's delete_selected, which needs the delete permission); each must be named in VIEWS, EXPORTS or ACTIONS here
(or be simple-history's revert form, walked for every model that has it), so a new one fails the walk until it says
how it is exercised. The same cases, run by a user who holds the permission they need, must still do their work."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import transaction
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from simple_history.admin import SimpleHistoryAdmin

from campaigns.models import Asset, Narrative, Technique
from detection.models import CoordinatedGroup, GroupStatus, NarrativeCluster, Sample, SampleImport, ScoringRun
from partners.models import ApiKey, PersonalToken
from reports import services
from reports.models import Report, ReportStatus, Subscription
from tests.partners.conftest import World, build_world

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-passphrase-for-the-walk-7291"
REPORT_ARGS = ["global", "2024-03-01", "2024-03-31", "clearance:CLEAR"]


@dataclass
class Setting:
    """The world of the partner tests, and the records the admin's views and actions are walked against."""

    world: World
    review: CoordinatedGroup
    attach: CoordinatedGroup
    draft: Report
    api_key: ApiKey
    token: PersonalToken
    enabled_task: PeriodicTask
    disabled_task: PeriodicTask
    report_task: PeriodicTask
    sample_import: SampleImport
    cluster: NarrativeCluster
    history_counts: dict = field(default_factory=dict)


def build_setting() -> Setting:
    world = build_world()
    draft = services.report_build_from(services.ReportRequest("global", "2024-02-01", "2024-02-28", "clearance:CLEAR"))
    assert draft.pk == world.reports["draft"].pk and draft.status == ReportStatus.DRAFT
    attach = world.results[("group", "unowned")]
    CoordinatedGroup.objects.filter(pk=attach.pk).update(status=GroupStatus.CONFIRMED)
    Subscription.objects.create(organisation=world.orgs["c"], email="desk@example.org")
    crontab = CrontabSchedule.objects.create(minute="0", hour="5")
    enabled_task = PeriodicTask.objects.exclude(task="reports.build_report").filter(enabled=True).first()
    disabled_task = PeriodicTask.objects.create(name="Paused", task="reports.build_report", crontab=crontab)
    PeriodicTask.objects.filter(pk=disabled_task.pk).update(enabled=False)
    report_task = PeriodicTask.objects.create(
        name="March report", task="reports.build_report", crontab=crontab, args=json.dumps(REPORT_ARGS)
    )
    return Setting(
        world=world,
        review=world.results[("group", "own_a")],
        attach=attach,
        draft=draft,
        api_key=ApiKey.objects.filter(revoked_at=None).order_by("pk").first(),
        token=PersonalToken.objects.filter(revoked_at=None).order_by("pk").first(),
        enabled_task=enabled_task,
        disabled_task=disabled_task,
        report_task=report_task,
        sample_import=SampleImport.objects.order_by("pk").first(),
        cluster=narrative_cluster(world.results[("group", "own_a")]),
    )


def narrative_cluster(group: CoordinatedGroup) -> NarrativeCluster:
    """A cluster of the group's run still to review, with a suggested narrative."""
    suggested = Narrative.objects.create(name="Walk narrative")
    cluster = NarrativeCluster.objects.create(
        run=group.run, number=1, top_terms=["walk"], size=2, cohesion=0.9, suggested=suggested, suggested_score=0.8
    )
    cluster.groups.set([group])
    return cluster


def narratives_requested(run: ScoringRun) -> bool:
    return type(run).objects.filter(pk=run.pk, narrative_discovery__requested_at__isnull=False).exists()


@pytest.fixture(autouse=True)
def media_and_pdf(settings, tmp_path, monkeypatch, celery_in_process):
    """Report files go to the test's own folder, rendered without WeasyPrint (a PDF is not what is tested here);
    a task an action runs, runs in this process."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("reports.render.report_pdf", lambda html: b"%PDF-1.7 stand-in")


@pytest.fixture
def setting(db) -> Setting:
    return build_setting()


# --- the cases -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A request that changes state: the permissions it needs beyond viewing, what it posts, and its effect."""

    perms: tuple[str, ...]
    post: Callable[[Setting], tuple[str, dict]]
    done: Callable[[Setting], bool]


def changelist(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def action(model: type[Model], name: str, pick: Callable[[Setting], Model], perms, done) -> Case:
    return Case(
        perms=tuple(perms),
        post=lambda s: (changelist(model), {"action": name, "_selected_action": [pick(s).pk]}),
        done=done,
    )


def fresh(record: Model) -> Model:
    return type(record)._base_manager.get(pk=record.pk)


def expired_attempt(s: Setting) -> AccessAttempt:
    """A failed login of a month ago, made once the walker is logged in (a successful login clears attempts)."""
    attempt = AccessAttempt.objects.create(
        username="mallory", ip_address="192.0.2.7", user_agent="walk", failures_since_start=3
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=timezone.now() - timedelta(days=30))
    return attempt


def attach_post(s: Setting) -> tuple[str, dict]:
    technique = Technique.objects.get(external_id="T0049")
    campaign = s.world.objects[("campaign", "CLEAR")]
    url = reverse("admin:detection_coordinatedgroup_attach", args=[s.attach.pk])
    return url, {"campaign": campaign.pk, "techniques": [technique.pk]}


def attached(s: Setting) -> bool:
    campaign = s.world.objects[("campaign", "CLEAR")]
    accounts = s.attach.members.values_list("account__account_id", flat=True)
    assets = Asset.objects.filter(campaign=campaign, identifier__in=list(accounts))
    return fresh(s.attach).campaign_id == campaign.pk and assets.count() == len(accounts) > 0


def password_post(s: Setting) -> tuple[str, dict]:
    url = reverse("admin:auth_user_password_change", args=[s.world.users["bob"].pk])
    return url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}


VIEWS = {
    "detection_coordinatedgroup_review": Case(
        perms=("detection.change_coordinatedgroup",),
        post=lambda s: (
            reverse("admin:detection_coordinatedgroup_review", args=[s.review.pk]),
            {"status": GroupStatus.REJECTED, "note": "a fan club, not an operation"},
        ),
        done=lambda s: fresh(s.review).status == GroupStatus.REJECTED,
    ),
    "detection_coordinatedgroup_attach": Case(
        perms=("detection.change_coordinatedgroup", "campaigns.add_asset", "campaigns.add_techniqueuse"),
        post=attach_post,
        done=attached,
    ),
    "detection_sample_score_this_sample": Case(
        perms=("detection.add_scoringrun",),
        post=lambda s: (
            reverse("admin:detection_sample_score_this_sample", args=[s.world.objects[("sample", "own_b")].pk]),
            {},
        ),
        done=lambda s: s.world.objects[("sample", "own_b")].runs.count() == 2,
    ),
    "reports_report_rebuild_this_report": Case(
        perms=("reports.change_report",),
        post=lambda s: (reverse("admin:reports_report_rebuild_this_report", args=[s.draft.pk]), {}),
        done=lambda s: fresh(s.draft).build_requested_at is not None,
    ),
    "detection_scoringrun_narratives": Case(
        perms=("detection.change_narrativecluster",),
        post=lambda s: (reverse("admin:detection_scoringrun_narratives", args=[s.review.run_id]), {}),
        done=lambda s: narratives_requested(s.review.run),
    ),
    "auth_user_password_change": Case(
        perms=("auth.change_user",),
        post=password_post,
        done=lambda s: fresh(s.world.users["bob"]).check_password(NEW_PASSWORD),
    ),
}

ACTIONS = {
    ("detection.Sample", "score_samples"): action(
        Sample,
        "score_samples",
        lambda s: s.world.objects[("sample", "own_b")],
        ["detection.add_scoringrun"],
        lambda s: s.world.objects[("sample", "own_b")].runs.count() == 2,
    ),
    ("detection.ScoringRun", "cluster_narratives"): action(
        ScoringRun,
        "cluster_narratives",
        lambda s: s.review.run,
        ["detection.change_narrativecluster"],
        lambda s: narratives_requested(s.review.run),
    ),
    ("detection.NarrativeCluster", "accept_suggestions"): action(
        NarrativeCluster,
        "accept_suggestions",
        lambda s: s.cluster,
        ["detection.change_narrativecluster"],
        lambda s: fresh(s.cluster).status == "accepted" and fresh(s.cluster).narrative_id == s.cluster.suggested_id,
    ),
    ("detection.NarrativeCluster", "reject_suggestions"): action(
        NarrativeCluster,
        "reject_suggestions",
        lambda s: s.cluster,
        ["detection.change_narrativecluster"],
        lambda s: fresh(s.cluster).status == "rejected",
    ),
    ("reports.Report", "publish"): action(
        Report,
        "publish",
        lambda s: s.draft,
        ["reports.change_report"],
        lambda s: (
            fresh(s.draft).status == ReportStatus.PUBLISHED and any("desk@example.org" in m.to for m in mail.outbox)
        ),
    ),
    ("reports.Report", "submit_for_review"): action(
        Report,
        "submit_for_review",
        lambda s: s.draft,
        ["reports.change_report"],
        lambda s: fresh(s.draft).status == ReportStatus.IN_REVIEW,
    ),
    ("reports.Report", "rebuild"): Case(
        perms=("reports.change_report",),
        post=lambda s: (
            changelist(Report),
            {"action": "rebuild", "_selected_action": [s.draft.pk], "confirmed": "yes"},
        ),
        done=lambda s: fresh(s.draft).build_requested_at is not None,
    ),
    ("partners.ApiKey", "revoke"): action(
        ApiKey, "revoke", lambda s: s.api_key, ["partners.change_apikey"], lambda s: fresh(s.api_key).revoked_at
    ),
    ("partners.PersonalToken", "revoke"): action(
        PersonalToken,
        "revoke",
        lambda s: s.token,
        ["partners.change_personaltoken"],
        lambda s: fresh(s.token).revoked_at,
    ),
    ("axes.AccessAttempt", "cleanup_expired_attempts"): action(
        AccessAttempt,
        "cleanup_expired_attempts",
        expired_attempt,
        ["axes.delete_accessattempt"],
        lambda s: not AccessAttempt.objects.filter(username="mallory").exists(),
    ),
    ("django_celery_beat.PeriodicTask", "enable_tasks"): action(
        PeriodicTask,
        "enable_tasks",
        lambda s: s.disabled_task,
        ["django_celery_beat.change_periodictask"],
        lambda s: fresh(s.disabled_task).enabled,
    ),
    ("django_celery_beat.PeriodicTask", "disable_tasks"): action(
        PeriodicTask,
        "disable_tasks",
        lambda s: s.enabled_task,
        ["django_celery_beat.change_periodictask"],
        lambda s: not fresh(s.enabled_task).enabled,
    ),
    ("django_celery_beat.PeriodicTask", "toggle_tasks"): action(
        PeriodicTask,
        "toggle_tasks",
        lambda s: s.enabled_task,
        ["django_celery_beat.change_periodictask"],
        lambda s: not fresh(s.enabled_task).enabled,
    ),
    ("django_celery_beat.PeriodicTask", "run_tasks"): action(
        PeriodicTask,
        "run_tasks",
        lambda s: s.report_task,
        ["django_celery_beat.change_periodictask"],
        lambda s: Report.objects.filter(scope_key="global", period_start="2024-03-01").exists(),
    ),
}

# Views that only read: they need the permission to view their record, nothing more.
EXPORTS = {
    "detection_sampleimport_rejects": lambda s: reverse(
        "admin:detection_sampleimport_rejects", args=[s.sample_import.pk]
    ),
    "detection_scoringrun_network": lambda s: reverse("admin:detection_scoringrun_network", args=[s.review.run_id]),
    "reports_report_preview": lambda s: reverse("admin:reports_report_preview", args=[s.draft.pk]),
    "reports_report_download": lambda s: reverse("admin:reports_report_download", args=[s.draft.pk, "json"]),
}


# Views that only send the user on to another admin page: they need the permission that page needs.
REDIRECTS = {
    "detection_sample_add_a_file": (
        lambda s: reverse("admin:detection_sample_add_a_file", args=[s.world.objects[("sample", "own_b")].pk]),
        "detection.add_sampleimport",
        lambda s: reverse("admin:detection_sampleimport_add") + f"?sample={s.world.objects[('sample', 'own_b')].pk}",
    ),
}


def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    return request


def form_data(form: forms.Form) -> dict:
    """What a browser posts for a form shown with its initial values."""
    data = {}
    for name, form_field in form.fields.items():
        value = form[name].value()
        if isinstance(form_field.widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else form_field.widget.decompress(value)
            data.update({f"{name}_{i}": "" if part is None else str(part) for i, part in enumerate(parts)})
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif value is not None and value is not False:
            data[name] = str(value)
    return data


def history_case(model: type[Model]) -> Case:
    """simple-history's revert form, posted for the model's first record with the values of its first version."""
    meta = model._meta
    model_admin = admin.site.get_model_admin(model)

    def post(s: Setting) -> tuple[str, dict]:
        record = model._base_manager.order_by("pk").first()
        assert record is not None, f"the walk's world has no {meta.label} to revert"
        version = record.history.order_by("history_id").first()
        s.history_counts[meta.label] = record.history.count()
        form = model_admin.get_form(superuser_request(), version.instance)(instance=version.instance)
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_simple_history", args=[record.pk, version.pk])
        return url, form_data(form)

    def done(s: Setting) -> bool:
        record = model._base_manager.order_by("pk").first()
        return record.history.count() == s.history_counts[meta.label] + 1

    return Case(perms=(f"{meta.app_label}.change_{meta.model_name}",), post=post, done=done)


def history_views() -> dict[str, Case]:
    return {
        f"{model._meta.app_label}_{model._meta.model_name}_simple_history": history_case(model)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, SimpleHistoryAdmin)
    }


def all_view_cases() -> dict[str, Case]:
    return {**VIEWS, **history_views()}


# --- the walk --------------------------------------------------------------------------------------------------


def custom_admin_urls() -> set[str]:
    """The names of every URL a registered ModelAdmin adds to Django's standard ones."""
    names = set()
    for model_admin in admin.site._registry.values():
        standard = {p.name for p in ModelAdmin.get_urls(model_admin)}
        names |= {p.name for p in model_admin.get_urls() if p.name not in standard}
    return names


def admin_actions() -> set[tuple[str, str]]:
    """(model, action) for every action a registered ModelAdmin offers to someone who holds every permission."""
    request = superuser_request()
    return {
        (model._meta.label, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
        if name != "delete_selected"
    }


def test_the_walk_covers_every_custom_admin_view_and_action():
    views = custom_admin_urls()
    covered = set(all_view_cases()) | set(EXPORTS) | set(REDIRECTS)
    assert views - covered == set(), "custom admin views the walk does not cover: add them to VIEWS or EXPORTS"
    assert covered - views == set(), "VIEWS or EXPORTS name views that no longer exist"
    actions = admin_actions()
    assert actions - set(ACTIONS) == set(), "admin actions the walk does not cover: add them to ACTIONS"
    assert set(ACTIONS) - actions == set(), "ACTIONS names actions that no longer exist"


def staff(*perms: str, view: bool = True):
    """A staff user with the view permission of every model (unless view is False) and the given ones."""
    user = get_user_model().objects.create_user(
        f"staff-{get_user_model().objects.count()}", password="x-unused-password-9", is_staff=True
    )
    granted = list(Permission.objects.filter(codename__startswith="view_")) if view else []
    for perm in perms:
        app_label, codename = perm.split(".")
        granted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user.user_permissions.set(granted)
    return get_user_model().objects.get(pk=user.pk)


def client_for(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table (sessions aside: a request may write its own)."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models()
        if model is not Session
    }


def changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def test_staff_who_may_only_view_change_nothing_through_custom_views_or_actions(setting):
    user = staff()
    client = client_for(user, raise_request_exception=False)
    request = RequestFactory().get("/admin/")
    request.user = user
    failures = []
    for name, case in all_view_cases().items():
        url, data = case.post(setting)
        before = snapshot()
        if 'name="_save"' in client.get(url).content.decode():
            failures.append(f"{name}: GET shows a button to save")
        response = client.post(url, data)
        if response.status_code != 403:
            failures.append(f"{name}: POST answered {response.status_code}, not 403")
        if diff := changed(before, snapshot()):
            failures.append(f"{name}: changed {diff}")
    for (label, name), case in ACTIONS.items():
        model_admin = admin.site.get_model_admin(apps.get_model(label))
        url, data = case.post(setting)
        if name in model_admin.get_actions(request):
            failures.append(f"{label} {name}: offered to a view-only user")
        if f'<option value="{name}"' in client.get(url).content.decode():
            failures.append(f"{label} {name}: shown on the changelist")
        before = snapshot()
        if (status := client.post(url, data).status_code) >= 500:
            failures.append(f"{label} {name}: POST answered {status}")
        if diff := changed(before, snapshot()):
            failures.append(f"{label} {name}: changed {diff}")
    assert not failures, "\n".join(failures)
    assert mail.outbox == []


class _Undo(Exception):
    pass


def each_undone(cases: dict, run: Callable[[object, Case], str | None]) -> list[str]:
    """Run each case in a savepoint rolled back after it, so each finds the setting as it was built."""
    failures = []
    for key, case in cases.items():
        mail.outbox.clear()
        try:
            with transaction.atomic():
                if failure := run(key, case):
                    failures.append(f"{key}: {failure}")
                raise _Undo
        except _Undo:
            pass
    return failures


def test_staff_with_the_permission_still_use_each_custom_view(setting):
    def run(name, case):
        client = client_for(staff(*case.perms))
        url, data = case.post(setting)
        if case.done(setting):
            return "done before the request"
        response = client.post(url, data)
        if response.status_code != 302:
            return f"POST answered {response.status_code}: {response.content[:1000]}"
        return None if case.done(setting) else "did nothing"

    assert each_undone(all_view_cases(), run) == []


def test_staff_with_the_permission_still_run_each_action(setting):
    def run(key, case):
        client = client_for(staff(*case.perms))
        url, data = case.post(setting)
        if case.done(setting):
            return "done before the request"
        if f'<option value="{key[1]}"' not in client.get(url).content.decode():
            return "not offered"
        client.post(url, data)
        return None if case.done(setting) else "did nothing"

    assert each_undone(ACTIONS, run) == []


def test_attaching_a_group_needs_the_permission_to_add_assets(setting):
    client = client_for(staff("detection.change_coordinatedgroup"))
    url, data = attach_post(setting)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 403
    assert changed(before, snapshot()) == []


def test_the_triage_page_shows_its_forms_only_to_who_may_use_them(setting):
    url = reverse("admin:detection_coordinatedgroup_change", args=[setting.attach.pk])
    viewer = client_for(staff()).get(url).content.decode()
    assert 'id="review-verdict"' in viewer
    assert 'id="review-form"' not in viewer and 'id="attach-form"' not in viewer
    reviewer = client_for(staff("detection.change_coordinatedgroup")).get(url).content.decode()
    assert 'id="review-form"' in reviewer and 'id="attach-form"' not in reviewer
    triager = client_for(staff(*VIEWS["detection_coordinatedgroup_attach"].perms)).get(url).content.decode()
    assert 'id="review-form"' in triager and 'id="attach-form"' in triager


def test_exports_need_the_permission_to_view(setting):
    viewer, stranger = client_for(staff()), client_for(staff(view=False))
    for name, url_of in EXPORTS.items():
        url = url_of(setting)
        assert stranger.get(url).status_code in (403, 404), name
        assert viewer.get(url).status_code == 200, name


def test_redirects_need_the_permission_of_the_page_they_lead_to(setting):
    for name, (url_of, perm, target_of) in REDIRECTS.items():
        url = url_of(setting)
        assert client_for(staff()).get(url).status_code == 403, name
        response = client_for(staff(perm)).get(url)
        assert response.status_code == 302 and response["Location"] == target_of(setting), name
