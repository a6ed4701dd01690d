"""The report builder in the admin (a form, a confirmation, a queued build, its status on the report's page) and
the Rebuild action's confirmation page."""

from datetime import date

import pytest
from django.urls import reverse

from reports.models import Report, ReportStatus

from ..campaigns.factories import CampaignFactory, ElectionFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:reports_report_add")
CHANGELIST = reverse("admin:reports_report_changelist")


@pytest.fixture
def election(db):
    CampaignFactory(name="Visible campaign", tlp="GREEN")
    return ElectionFactory(name="Taiwan 2024", election_day=date(2024, 1, 13), tlp="CLEAR")


def build_post(election, **extra) -> dict:
    return {
        "scope": f"election:{election.pk}",
        "period_start": "2024-01-01",
        "period_end": "2024-01-13",
        "audience": "clearance:GREEN",
        **extra,
    }


def test_the_builder_form_offers_scope_period_and_audience(admin_client, election):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="election:{election.pk}"' in html and 'value="global"' in html
    assert 'value="clearance:AMBER"' in html and 'name="period_start"' in html
    assert "TLP ceiling" in html


def test_the_builder_asks_for_confirmation_before_queueing(admin_client, election, eager_tasks, no_pdf):
    response = admin_client.post(ADD, build_post(election))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Queue this build?" in html and "Taiwan 2024" in html and 'name="confirmed" value="yes"' in html
    assert not Report.objects.exists()
    back = admin_client.post(ADD, build_post(election, confirmed="yes", _edit="")).content.decode()
    assert "Queue this build?" not in back and 'value="2024-01-13"' in back
    assert not Report.objects.exists()


def test_confirming_queues_the_build_and_the_page_shows_its_status(
    admin_client, election, eager_tasks, no_pdf, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(ADD, build_post(election, confirmed="yes"))
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:reports_report_change", args=[report.pk]
    )
    assert len(callbacks) == 1
    assert report.build_pending and report.built_at is None and report.status == ReportStatus.DRAFT
    assert (report.scope_key, report.audience_key) == (f"election:{election.pk}", "clearance:GREEN")
    page = admin_client.get(response["Location"]).content.decode()
    assert "Queued" in page and "location.reload" in page
    assert "Election: Taiwan 2024" in page and "TLP:GREEN clearance" in page and "clearance:GREEN" not in page

    callbacks[0]()  # the commit: the build goes to the worker (in-process here)
    report.refresh_from_db()
    assert report.built_at is not None and not report.build_pending and report.content["marking"]
    page = admin_client.get(response["Location"]).content.decode()
    assert "Built;" in page and "location.reload" not in page


def test_a_failed_build_shows_its_error(
    admin_client, election, eager_tasks, no_pdf, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(ADD, build_post(election, confirmed="yes"))
    report = Report.objects.get()
    election.tlp = "AMBER"
    election.save()
    callbacks[0]()
    report.refresh_from_db()
    assert "not visible to" in report.build_error and not report.build_pending
    page = admin_client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert "Failed: The election is marked TLP:AMBER" in page


def test_the_builder_refuses_a_scope_hidden_from_the_audience(admin_client, election):
    election.tlp = "AMBER"
    election.save()
    response = admin_client.post(ADD, build_post(election, confirmed="yes"))
    assert response.status_code == 200 and "not visible to" in response.content.decode()
    assert not Report.objects.exists()


def test_staff_without_the_add_permission_cannot_build(client, election):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="x-unused-password-9", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_report"))
    client.force_login(user)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, build_post(election, confirmed="yes")).status_code == 403
    assert not Report.objects.exists()


def test_rebuild_asks_first_then_queues(
    admin_client, election, eager_tasks, no_pdf, django_capture_on_commit_callbacks
):
    from reports.services import ReportRequest, report_build_from

    draft = report_build_from(ReportRequest(f"election:{election.pk}", "2024-01-01", "2024-01-13", "GREEN"))
    published = report_build_from(ReportRequest("global", "2024-01-01", "2024-01-31", "GREEN"))
    Report.objects.filter(pk=published.pk).update(status=ReportStatus.PUBLISHED)
    selected = {"action": "rebuild", "_selected_action": [draft.pk, published.pk]}

    response = admin_client.post(CHANGELIST, selected)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rebuild these reports from the current data?" in html
    assert draft.title in html.split('id="rebuild-list"')[1].split("</ul>")[0]
    assert published.title in html.split('id="rebuild-skipped"')[1].split("</ul>")[0]
    assert Report.objects.get(pk=draft.pk).build_requested_at is None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(CHANGELIST, {**selected, "confirmed": "yes"})
    assert response.status_code == 302 and len(callbacks) == 1
    rebuilt = Report.objects.get(pk=draft.pk)
    assert rebuilt.built_at > draft.built_at and rebuilt.build_requested_at is not None
    assert Report.objects.get(pk=published.pk).build_requested_at is None


def test_the_report_page_has_a_rebuild_button_that_asks_first(
    admin_client, election, eager_tasks, no_pdf, django_capture_on_commit_callbacks
):
    from reports.services import ReportRequest, report_build_from

    draft = report_build_from(ReportRequest(f"election:{election.pk}", "2024-01-01", "2024-01-13", "GREEN"))
    url = reverse("admin:reports_report_rebuild_this_report", args=[draft.pk])
    assert url in admin_client.get(reverse("admin:reports_report_change", args=[draft.pk])).content.decode()
    asked = admin_client.get(url).content.decode()
    assert "Rebuild these reports from the current data?" in asked and draft.title in asked
    assert Report.objects.get(pk=draft.pk).build_requested_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    rebuilt = Report.objects.get(pk=draft.pk)
    assert rebuilt.built_at > draft.built_at and not rebuilt.build_pending


def test_a_report_published_while_its_build_was_queued_is_not_left_pending(admin_client, election):
    admin_client.post(ADD, build_post(election, confirmed="yes"))
    report = Report.objects.get()
    assert report.build_pending
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.PUBLISHED)
    report.refresh_from_db()
    assert not report.build_pending
