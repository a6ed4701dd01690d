"""The admin's home: every figure it shows, recomputed here in SQL from the tables, and the parts it lists."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns.models import ElectionPhase
from detection.models import (
    CoordinatedGroup,
    GroupStatus,
    ImportStatus,
    RunStatus,
    Sample,
    SampleImport,
    ScoringRun,
)
from tests.campaigns.factories import CampaignFactory, ElectionFactory

pytestmark = pytest.mark.django_db


def sql_count(query: str, *params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def independent_counts() -> dict[str, int]:
    """The dashboard's figures, read straight from the tables with the definitions its labels state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name LIKE 'campaigns\\_historical%%' AND column_name = 'history_date'"
        )
        histories = [row[0] for row in cursor.fetchall()]
    return {
        "groups_to_review": sql_count("SELECT count(*) FROM detection_coordinatedgroup WHERE status = 'new'"),
        "imports_failed": sql_count(
            "SELECT count(*) FROM detection_sampleimport WHERE status = 'failed' "
            "AND created_at >= now() - interval '14 days'"
        ),
        "imports_in_progress": sql_count(
            "SELECT count(*) FROM detection_sampleimport WHERE status IN ('queued', 'running')"
        ),
        "runs_failed": sql_count(
            "SELECT count(*) FROM detection_scoringrun WHERE status = 'failed' "
            "AND created_at >= now() - interval '14 days'"
        ),
        "runs_in_progress": sql_count(
            "SELECT count(*) FROM detection_scoringrun WHERE status NOT IN ('done', 'failed')"
        ),
        "elections_ahead": sql_count(
            "SELECT count(*) FROM campaigns_election e WHERE e.election_day >= current_date OR EXISTS "
            "(SELECT 1 FROM campaigns_electionphase p WHERE p.election_id = e.id AND p.ends_on >= current_date)"
        ),
        "catalogue_changes": sum(
            sql_count(f"SELECT count(*) FROM \"{table}\" WHERE history_date >= now() - interval '7 days'")  # noqa: S608
            for table in histories
        ),
    }


def shown_figures(html: str) -> dict[str, int]:
    pattern = re.compile(r'data-figure="(\w+)".*?figure-value">(\d+)<', re.S)
    return {key: int(value) for key, value in pattern.findall(html)}


@pytest.fixture
def workload(db):
    today = timezone.localdate()
    sample = Sample.objects.create(name="Dashboard sample")
    old = timezone.now() - timedelta(days=20)
    for status in (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.DONE, ImportStatus.FAILED):
        SampleImport.objects.create(sample=sample, status=status, original_name=f"{status}.csv", error="bad header")
    stale = SampleImport.objects.create(sample=sample, status=ImportStatus.FAILED, original_name="old.csv")
    SampleImport.objects.filter(pk=stale.pk).update(created_at=old)
    runs = {
        status: ScoringRun.objects.create(sample=sample, engine_version="test", status=status, error="out of memory")
        for status in (RunStatus.QUEUED, RunStatus.SCORING, RunStatus.DONE, RunStatus.FAILED)
    }
    ScoringRun.objects.filter(pk=runs[RunStatus.SCORING].pk).update(n_shards=4, shards_done=3)
    old_run = ScoringRun.objects.create(sample=sample, engine_version="test", status=RunStatus.FAILED)
    ScoringRun.objects.filter(pk=old_run.pk).update(created_at=old)
    done = runs[RunStatus.DONE]
    for number, (score, status) in enumerate(
        [(0.42, GroupStatus.NEW), (0.97, GroupStatus.NEW), (0.71, GroupStatus.CONFIRMED), (0.88, GroupStatus.NEW)]
    ):
        CoordinatedGroup.objects.create(run=done, number=number, score=score, size=5 + number, status=status)
    ahead = ElectionFactory(name="Ahead", election_day=today + timedelta(days=30))
    ElectionPhase.objects.create(
        election=ahead, phase="campaign", starts_on=today + timedelta(days=2), ends_on=today + timedelta(days=28)
    )
    counting = ElectionFactory(name="Counting", election_day=today - timedelta(days=3))
    ElectionPhase.objects.create(
        election=counting, phase="counting", starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=5)
    )
    ElectionFactory(name="Long past", election_day=today - timedelta(days=400))
    campaign = CampaignFactory(name="Spamouflage wave")
    campaign.summary = "changed"
    campaign.save()
    campaign.history.filter(history_type="+").update(history_date=timezone.now() - timedelta(days=9))
    return {"sample": sample, "runs": runs}


@pytest.fixture
def admin_client_(db):
    user = get_user_model().objects.create_superuser("dash", "dash@example.org", "x-unused-password-9")
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_every_figure_equals_its_count_recomputed_from_the_tables(workload, admin_client_):
    response = admin_client_.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    expected = independent_counts()
    assert shown_figures(html) == expected
    assert expected == {
        "groups_to_review": 3,
        "imports_failed": 1,
        "imports_in_progress": 2,
        "runs_failed": 1,
        "runs_in_progress": 2,
        "elections_ahead": 2,
        "catalogue_changes": expected["catalogue_changes"],
    }
    assert expected["catalogue_changes"] >= 1


def test_groups_are_listed_best_first_and_link_to_their_triage_page(workload, admin_client_):
    html = admin_client_.get(reverse("admin:index")).content.decode()
    section = html.split('id="groups-to-review"')[1].split("</section>")[0]
    assert re.findall(r"<td title=\"The engine's score[^\"]*\">([\d.]+)</td>", section) == ["0.970", "0.880", "0.420"]
    best = CoordinatedGroup.objects.get(score=0.97)
    assert reverse("admin:detection_coordinatedgroup_change", args=[best.pk]) in section


def test_failures_show_their_error_and_elections_their_phases(workload, admin_client_):
    html = admin_client_.get(reverse("admin:index")).content.decode()
    failures = html.split('id="failures"')[1].split("</section>")[0]
    assert "bad header" in failures and "out of memory" in failures
    assert "old.csv" not in failures
    elections = html.split('id="elections-ahead"')[1].split("</section>")[0]
    assert "Ahead" in elections and "Counting and certification" in elections and "Long past" not in elections
    changes = html.split('id="catalogue-changes"')[1].split("</section>")[0]
    assert "Spamouflage wave" in changes


def test_progress_fragment_polls_and_shows_rows_and_shards(workload, admin_client_):
    SampleImport.objects.filter(status=ImportStatus.RUNNING).update(rows_done=1234, bytes_total=100, bytes_done=40)
    response = admin_client_.get(reverse("dashboard-progress"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-get="/admin/dashboard/progress/"' in html and 'hx-trigger="every 2s"' in html
    assert "1234 rows done" in html and 'value="40"' in html
    assert "3 of 4 shards done" in html


def test_progress_fragment_is_for_staff_only(db, client):
    response = client.get(reverse("dashboard-progress"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    user = get_user_model().objects.create_user("outsider", password="x-unused-password-9")
    client.force_login(user)
    assert client.get(reverse("dashboard-progress")).status_code == 302


def test_technical_apps_come_last_and_view_site_does_not_loop(admin_client_, db):
    html = admin_client_.get(reverse("admin:index")).content.decode()
    apps = re.findall(r'class="app-(\w+) module', html)
    assert apps[0] == "detection"
    assert apps[-3:] == sorted(apps[-3:]) and set(apps[-3:]) == {"auth", "axes", "django_celery_beat"}
    assert "View site" not in html
    assert 'href="/api/v1/docs/"' in html
    assert html.index("<span>Samples</span>") < html.index("<span>Reports</span>") < html.index("<span>Users</span>")


def test_a_user_sees_only_the_figures_of_what_they_may_view(workload, client):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("catalogue-only", password="x-unused-password-9", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_election", "view_campaign"]))
    client.force_login(user)
    html = client.get(reverse("admin:index")).content.decode()
    assert set(shown_figures(html)) == {"elections_ahead", "catalogue_changes"}
    assert 'id="groups-to-review"' not in html and "Dashboard sample" not in html and "bad header" not in html
    assert 'id="shortcuts"' not in html
    progress = client.get(reverse("dashboard-progress")).content.decode()
    assert "rows done" not in progress and "shards done" not in progress


def test_shortcuts_lead_to_the_forms_the_user_may_fill(admin_client_, db):
    html = admin_client_.get(reverse("admin:index")).content.decode()
    shortcuts = html.split('id="shortcuts"')[1].split("</nav>")[0]
    for name in ("detection_sample_add", "detection_sampleimport_add", "reports_report_add"):
        assert f'href="{reverse(f"admin:{name}")}"' in shortcuts
