"""In Debian's Chromium: the admin's home fits the window and its imports and runs under way update by themselves."""

import pytest
from django.contrib.auth import get_user_model

from detection.models import CoordinatedGroup, ImportStatus, RunStatus, Sample, SampleImport, ScoringRun
from tests.browser.helpers import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width,height", [(1440, 900), (1280, 800)])
def test_the_dashboard_fits_and_its_progress_updates_live(browser, live_server, artefacts, width, height):
    sample = Sample.objects.create(name="Election-day sample")
    job = SampleImport.objects.create(
        sample=sample, status=ImportStatus.RUNNING, original_name="posts.csv", bytes_total=100, bytes_done=10
    )
    SampleImport.objects.filter(pk=job.pk).update(rows_done=1000)
    run = ScoringRun.objects.create(sample=sample, engine_version="test", status=RunStatus.SCORING, n_shards=4)
    done = ScoringRun.objects.create(sample=sample, engine_version="test", status=RunStatus.DONE)
    CoordinatedGroup.objects.create(run=done, number=1, score=0.93, size=15)
    get_user_model().objects.create_superuser("researcher", "r@example.org", PASSWORD)

    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        assert "1000 rows done" in page.locator("#work-in-progress").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") == width
        page.screenshot(path=str(artefacts / f"dashboard-{width}x{height}.png"), full_page=True)

        SampleImport.objects.filter(pk=job.pk).update(rows_done=25000, bytes_done=60)
        ScoringRun.objects.filter(pk=run.pk).update(shards_done=3)
        page.wait_for_function(
            "document.querySelector('#work-in-progress').innerText.includes('25000 rows done')", timeout=5000
        )
        assert "3 of 4 shards done" in page.locator("#work-in-progress").inner_text()
        page.click("#groups-to-review a")
        page.wait_for_selector("#network")
    finally:
        context.close()
