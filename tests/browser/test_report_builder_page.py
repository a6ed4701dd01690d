"""In Debian's Chromium: a sample's page with its buttons, then the report builder, its confirmation, and the
report's page with its build status; every page fits the window."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from campaigns.models import Campaign, Election
from detection.models import Sample
from tests.browser.helpers import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
WIDTH, HEIGHT = 1280, 800


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") == WIDTH


def test_sample_buttons_and_the_report_builder(browser, live_server, artefacts, celery_in_process, monkeypatch):
    monkeypatch.setattr("reports.render.report_pdf", lambda html: b"%PDF-1.7 stand-in")
    sample = Sample.objects.create(name="Election-day sample")
    election = Election.objects.create(
        name="Taiwan 2024", country="TW", election_type="presidential", election_day=date(2024, 1, 13)
    )
    Campaign.objects.create(name="Election-day amplification").elections.add(election)
    get_user_model().objects.create_superuser("researcher", "r@example.org", PASSWORD)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    try:
        log_in(page, live_server.url)

        page.goto(f"{live_server.url}/admin/detection/sample/{sample.pk}/change/")
        assert fits(page)
        page.screenshot(path=str(artefacts / "sample.png"), full_page=True)
        page.click("text=Add a file")
        page.wait_for_url(f"**/admin/detection/sampleimport/add/?sample={sample.pk}")
        assert "post_id, account_id, created_at" in page.locator("#canonical-columns").inner_text()
        assert fits(page)
        page.screenshot(path=str(artefacts / "upload.png"), full_page=True)

        page.goto(f"{live_server.url}/admin/reports/report/add/")
        page.select_option("#id_scope", f"election:{election.pk}")
        page.fill("#id_period_start", "2024-01-01")
        page.fill("#id_period_end", "2024-01-13")
        page.select_option("#id_audience", "clearance:GREEN")
        assert fits(page)
        page.screenshot(path=str(artefacts / "report-builder.png"), full_page=True)
        page.click("button[name=_preview]")
        assert "Taiwan 2024" in page.locator("#build-summary").inner_text()
        assert fits(page)
        page.screenshot(path=str(artefacts / "report-builder-confirm.png"), full_page=True)
        page.click("button[name=_confirm]")
        page.wait_for_url("**/admin/reports/report/*/change/")
        assert "Built;" in page.locator(".build-state").inner_text()
        assert fits(page)
        page.screenshot(path=str(artefacts / "report.png"), full_page=True)
    finally:
        context.close()
