"""Threat reports through the partner API: the published reports made for a persona's organisation or clearance,
their detail, and downloads of the audience's files (HTML, PDF, JSON, STIX)."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from partners.models import AuditAction, AuditEvent
from reports.models import Subscription
from reports.services import report_build, report_publish
from reports.visibility import Audience

from ..campaigns.factories import CampaignFactory
from .conftest import PERSONAS, REPORTS, canary

pytestmark = pytest.mark.django_db


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_lists_the_published_reports_made_for_it(world, persona):
    client = world.client(persona)
    response = client.get("/api/v1/reports/")
    if persona in ("anonymous", "revoked"):
        assert response.status_code == 401
        return
    expected = {canary("report", name) for name, (*_, readers) in REPORTS.items() if persona in readers}
    assert {r["title"] for r in response.json()["results"]} == expected
    for name, report in world.reports.items():
        detail = client.get(f"/api/v1/reports/{report.pk}/")
        pdf = client.get(f"/api/v1/reports/{report.pk}/pdf/")
        if canary("report", name) in expected:
            assert detail.status_code == 200 and detail.json()["tlp"] == report.tlp
            assert pdf.status_code == 200 and body_of(pdf).startswith(b"%PDF")
        else:
            assert detail.status_code == pdf.status_code == 404


def test_a_hidden_report_and_a_missing_one_answer_the_same_404(world):
    client = world.client("amber_b")
    hidden = world.reports["orga"].pk
    for suffix in ("", "html/", "pdf/", "json/", "stix/"):
        hidden_response = client.get(f"/api/v1/reports/{hidden}/{suffix}")
        missing_response = client.get(f"/api/v1/reports/99999999/{suffix}")
        assert hidden_response.status_code == missing_response.status_code == 404
        assert body_of(hidden_response) == body_of(missing_response)
        assert hidden_response["Content-Type"] == "application/json"


def test_report_downloads_are_the_audience_files(world):
    report = world.reports["orga"]
    client = world.client("red_colleague")
    detail = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert detail["audience"] == "Org A" and detail["status"] == "published"
    assert detail["downloads"]["pdf"].endswith(f"/api/v1/reports/{report.pk}/pdf/")

    pdf = client.get(detail["downloads"]["pdf"], HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert body_of(pdf).startswith(b"%PDF") and "attachment" in pdf["Content-Disposition"]
    html = client.get(detail["downloads"]["html"])
    assert html["Content-Type"].startswith("text/html") and "default-src 'none'" in html["Content-Security-Policy"]
    assert html["X-Content-Type-Options"] == "nosniff"
    assert json.loads(body_of(client.get(detail["downloads"]["json"]))) == {"title": canary("report", "orga")}
    stix = client.get(detail["downloads"]["stix"])
    assert stix["Content-Type"].startswith("application/stix+json")
    assert json.loads(body_of(stix))["type"] == "bundle"
    # Organisation B's report was never rendered to STIX: nothing to download, the same 404.
    unrendered = world.client("amber_b").get(f"/api/v1/reports/{world.reports['orgb'].pk}/stix/")
    assert unrendered.status_code == 404
    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="reports.report")
    assert exports.count() == 4 and set(exports.values_list("tlp", flat=True)) == {"AMBER+STRICT"}


def test_report_filters(world):
    client = world.client("researcher")
    titles = {r["title"] for r in client.get("/api/v1/reports/?status=draft").json()["results"]}
    assert titles == {canary("report", "draft")}
    assert len(client.get("/api/v1/reports/?scope=global").json()["results"]) == len(REPORTS)
    assert client.get("/api/v1/reports/?scope=election").json()["results"] == []
    as_partner = world.client("clear").get("/api/v1/reports/?status=draft").json()["results"]
    assert as_partner == []  # partners see published reports only, whatever they ask
    assert world.client("clear").get("/api/v1/reports/?scope=galaxy").status_code == 400


def test_a_published_report_is_read_from_its_e_mail_link_with_escaped_html_and_a_real_pdf(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    today = timezone.localdate()
    CampaignFactory(name='<script>alert("x")</script> campaign', tlp="GREEN", first_seen=today - timedelta(days=3))
    Subscription.objects.create(organisation=world.orgs["g"], email="desk@green.example")
    report = report_build(
        scope="global",
        object_id=None,
        start=today - timedelta(days=6),
        end=today,
        audience=Audience(clearance="GREEN"),
        rerender=False,
    )
    assert report_publish(report=report, base_url="https://tracker.example.org") == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/api/v1/reports/" in line)
    path = link[link.index("/api/v1/reports/") :]
    client = world.client("green")
    detail = client.get(path)
    assert detail.status_code == 200 and detail.json()["id"] == report.pk
    html = body_of(client.get(detail.json()["downloads"]["html"]))
    assert b"<script>alert" not in html and b"&lt;script&gt;alert" in html
    assert body_of(client.get(detail.json()["downloads"]["pdf"])).startswith(b"%PDF-")
    assert world.client("clear").get(path).status_code == 404
