"""Publishing, e-mail to subscribers, the beat schedule and the admin."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns.models import ElectionPhase
from partners.models import Clearance, Organisation
from reports import tasks
from reports.models import Report, ReportStatus, Subscription
from reports.services import report_build

from ..campaigns.factories import CampaignFactory, ElectionFactory

pytestmark = pytest.mark.django_db


def organisation(slug: str, ceiling: str) -> Organisation:
    org = Organisation.objects.create(name=slug.title(), slug=slug)
    Clearance.objects.create(organisation=org, ceiling=ceiling)
    return org


@pytest.fixture
def green_report(db):
    from reports.visibility import Audience

    today = timezone.localdate()
    CampaignFactory(name="Visible campaign", tlp="GREEN")
    return report_build(
        scope="global",
        object_id=None,
        start=today - timedelta(days=6),
        end=today,
        audience=Audience(clearance="GREEN"),
        rerender=False,
    )


def test_publishing_emails_the_subscribers_who_may_see_the_report(green_report, no_pdf):
    green_partner, clear_partner = organisation("green-partner", "GREEN"), organisation("clear-partner", "CLEAR")
    staff = get_user_model().objects.create_user("analyst", "analyst@example.org", is_staff=True)
    Subscription.objects.create(organisation=green_partner, email="desk@green.example")
    Subscription.objects.create(organisation=green_partner, email="elections-only@green.example", scope="election")
    Subscription.objects.create(organisation=green_partner, email="off@green.example", active=False)
    Subscription.objects.create(organisation=clear_partner, email="desk@clear.example")
    Subscription.objects.create(user=staff)

    from reports.services import report_publish

    sent = report_publish(report=green_report, base_url="https://tracker.example.org")
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["analyst@example.org", "desk@green.example"]
    message = mail.outbox[0]
    assert message.subject == f"[TLP:GREEN] {green_report.title}"
    assert f"https://tracker.example.org/api/v1/reports/{green_report.pk}/" in message.body
    green_report.refresh_from_db()
    assert green_report.status == ReportStatus.PUBLISHED and green_report.published_at is not None
    assert green_report.pdf_file.name.endswith(".pdf")

    assert report_publish(report=green_report) == 0
    assert len(mail.outbox) == 2


def test_admin_previews_edits_and_publishes(green_report, admin_client, no_pdf):
    Subscription.objects.create(organisation=organisation("partner", "GREEN"), email="desk@partner.example")
    Report.objects.filter(pk=green_report.pk).update(title='Report <script>alert("x")</script>')

    changelist = admin_client.get(reverse("admin:reports_report_changelist"), {"status__exact": "draft"})
    assert changelist.status_code == 200
    preview = admin_client.get(reverse("admin:reports_report_preview", args=[green_report.pk]))
    assert preview.status_code == 200
    assert b"<script>alert" not in preview.content and b"&lt;script&gt;" in preview.content
    assert "default-src 'none'" in preview["Content-Security-Policy"]

    change_url = reverse("admin:reports_report_change", args=[green_report.pk])
    response = admin_client.post(change_url, {"summary": "Edited by the desk."})
    assert response.status_code == 302
    green_report.refresh_from_db()
    assert green_report.summary == "Edited by the desk." and green_report.summary_edited
    download = admin_client.get(reverse("admin:reports_report_download", args=[green_report.pk, "pdf"]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")  # the stand-in

    response = admin_client.post(
        reverse("admin:reports_report_changelist"),
        {"action": "publish", "_selected_action": [green_report.pk]},
    )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["desk@partner.example"]]
    assert "Edited by the desk." in mail.outbox[0].body


def test_weekly_beat_task_builds_reports_for_elections_under_way(eager_tasks, no_pdf):
    today = date(2024, 1, 8)  # a Monday: the report covers 1-7 January
    campaigning = ElectionFactory(name="Campaigning", tlp="CLEAR", election_day=date(2024, 1, 13))
    ElectionPhase.objects.create(
        election=campaigning, phase="campaign", starts_on=date(2023, 12, 1), ends_on=date(2024, 1, 12)
    )
    counting = ElectionFactory(name="Counting", tlp="CLEAR", election_day=date(2024, 1, 2))
    ElectionPhase.objects.create(
        election=counting, phase="counting", starts_on=date(2024, 1, 3), ends_on=date(2024, 1, 20)
    )
    later = ElectionFactory(name="Later", tlp="CLEAR", election_day=date(2024, 6, 1))
    ElectionPhase.objects.create(
        election=later, phase="campaign", starts_on=date(2024, 5, 1), ends_on=date(2024, 5, 31)
    )
    hidden = ElectionFactory(name="Hidden", tlp="AMBER", election_day=date(2024, 1, 13))
    ElectionPhase.objects.create(
        election=hidden, phase="campaign", starts_on=date(2024, 1, 1), ends_on=date(2024, 1, 12)
    )
    campaign = CampaignFactory(name="Campaign against it", first_seen=date(2023, 12, 15), last_seen=date(2024, 1, 5))
    campaign.elections.set([campaigning])

    planned = tasks.build_weekly_election_reports(today=today.isoformat(), audiences=["GREEN", "AMBER"])
    assert planned == 5  # campaigning and counting for both audiences, hidden for AMBER only
    reports = Report.objects.all()
    assert {(r.election.name, r.audience_key) for r in reports} == {
        ("Campaigning", "clearance:GREEN"),
        ("Campaigning", "clearance:AMBER"),
        ("Counting", "clearance:GREEN"),
        ("Counting", "clearance:AMBER"),
        ("Hidden", "clearance:AMBER"),
    }
    assert {(r.period_start, r.period_end) for r in reports} == {(date(2024, 1, 1), date(2024, 1, 7))}
    weekly = reports.get(election=campaigning, audience_key="clearance:GREEN")
    assert [c["name"] for c in weekly.content["campaigns"]] == ["Campaign against it"]

    tasks.build_weekly_election_reports(today=today.isoformat(), audiences=["GREEN", "AMBER"])
    assert Report.objects.count() == 5


def test_monthly_global_task_and_registered_schedules(eager_tasks, no_pdf):
    assert tasks.build_monthly_global_report(today="2024-02-01", audiences=["GREEN"]) == 1
    report = Report.objects.get()
    assert (report.scope_key, report.period_start, report.period_end) == ("global", date(2024, 1, 1), date(2024, 1, 31))

    schedules = {t.name: t for t in PeriodicTask.objects.filter(task__startswith="reports.")}
    weekly = schedules["Weekly election threat reports"]
    monthly = schedules["Monthly global threat report"]
    assert weekly.task == "reports.build_weekly_election_reports" and weekly.crontab.day_of_week == "1"
    assert monthly.task == "reports.build_monthly_global_report" and monthly.crontab.day_of_month == "1"
    assert weekly.enabled and monthly.enabled
    from tracker.celery import app

    assert {"reports.build_weekly_election_reports", "reports.build_monthly_global_report"} <= set(app.tasks)
