"""In Debian's Chromium: from a sample to its run, to a group, to the campaign the group is attached to."""

import pytest
from django.contrib.auth import get_user_model

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns.models import Asset, Campaign, ThreatActor
from detection import scoring
from detection.models import CoordinatedGroup, Post
from tests.detection.helpers import generated_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long browser test password 42"


def log_in(page, live_server):
    get_user_model().objects.create_superuser("researcher", "r@example.org", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def readonly_value(page, label: str) -> str:
    return page.locator(f".field-line:has(label:text-is('{label}')) .readonly").inner_text().strip()


def test_a_researcher_walks_from_sample_to_campaign(page, live_server, tmp_path, artefacts, celery_in_process):
    campaign_services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    sample, _ = generated_sample(tmp_path, 3_000, name="Election-day sample")
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    best = CoordinatedGroup.objects.filter(run=run).order_by("-score").first()
    member_post = Post.objects.filter(account__scores__group=best).first()
    Post.objects.filter(pk=member_post.pk).update(text="<img src=x onerror=alert(1)> 選舉 <script>alert(2)</script>")
    actor = ThreatActor.objects.create(name="People's Republic of China", actor_type="state", country="CN")
    campaign = Campaign.objects.create(name="Election-day amplification", actor=actor)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/detection/sample/")
    page.click("text=Election-day sample")
    assert readonly_value(page, "Posts count").replace(",", "") == str(sample.posts.count())
    page.goto(f"{live_server.url}/admin/detection/scoringrun/")
    page.click(f"text=Run {run.pk} of Election-day sample")
    assert "Done" in page.locator(".run-status").first.inner_text()
    page.click("text=groups, best first")
    page.locator("#result_list tbody tr a").first.click()

    page.wait_for_selector("#network canvas")
    assert page.evaluate("window.trackerNetwork.nodes().length") == best.size
    page.locator("#network").hover()
    page.mouse.wheel(0, -300)  # zoom
    assert page.locator("#members tbody tr").count() == best.size
    assert page.locator("#evidence tbody tr").count() > 0
    page.wait_for_timeout(300)
    page.screenshot(path=str(artefacts / "group.png"))
    page.screenshot(path=str(artefacts / "group-full.png"), full_page=True)

    page.select_option("#review-form select[name=status]", "confirmed")
    page.fill("#review-form textarea[name=note]", "Same links within seconds, accounts created the same week.")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("#attach-form")
    page.select_option("#attach-form select[name=campaign]", str(campaign.pk))
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#group-campaign")
    page.click("#group-campaign")
    page.wait_for_selector("#content h2")
    assert "Election-day amplification" in page.content()
    assert Asset.objects.filter(campaign=campaign).count() == best.size
    page.screenshot(path=str(artefacts / "campaign.png"), full_page=True)
    assert dialogs == [], f"hostile text ran as script: {dialogs}"
