"""In Debian's Chromium at 1440x900: the triage changelists and the dossier pages fit the window, columns included."""

import pytest

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns.demo import FLAGSHIP, demo_catalogue_load
from campaigns.models import AttributionClaim, Campaign, Election
from detection import scoring
from detection.engine import BEHAVIOURS
from detection.models import CoordinatedGroup
from tests.browser.test_triage_walk import researcher_logged_in
from tests.detection.helpers import generated_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Width of the page, of each changelist's table against the box that holds it, and the boxes on the page that
# scroll sideways (a table wider than its box scrolls inside it, which hides its right-hand columns just as a page
# that overflows does).
MEASURE = r"""() => {
    const table = document.querySelector('#result_list');
    const box = table ? table.parentElement : null;
    const headers = table ? [...table.querySelectorAll('thead th')].map(th => ({
        text: th.innerText.trim().split('\n')[0].trim(), right: th.getBoundingClientRect().right})) : [];
    const scrolling = [...document.querySelectorAll('#content-main *')].filter(el => {
        const overflow = getComputedStyle(el).overflowX;
        return (overflow === 'auto' || overflow === 'scroll') && el.scrollWidth > el.clientWidth + 1;
    }).map(el => `${el.tagName}#${el.id}.${el.className}`.slice(0, 80) + ` ${el.scrollWidth}/${el.clientWidth}`);
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
            table: table ? table.scrollWidth : null, box: box ? box.clientWidth : null, headers: headers,
            scrolling: scrolling};
}"""


LONG_NAME = "fabricated endorsements, deepfake audio of candidates and a flood of videos on YouTube and X"


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_triage_lists_and_dossiers_fit_1440_by_900(wide_page, live_server, tmp_path, artefacts, celery_in_process):
    page = wide_page
    campaign_services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    demo_catalogue_load()
    campaign = Campaign.objects.get(name=FLAGSHIP)
    sample, _ = generated_sample(tmp_path, 3_000, name="Election-day sample")
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    best = CoordinatedGroup.objects.filter(run=run).order_by("-score").first()
    CoordinatedGroup.objects.filter(pk=best.pk).update(status="confirmed", campaign=campaign, behaviours=BEHAVIOURS)
    # The longest text the lists show: a long campaign name (in groups, claims, takedowns) and every behaviour.
    Campaign.objects.filter(pk=campaign.pk).update(name=f"{FLAGSHIP}: {LONG_NAME}")
    claim = AttributionClaim.objects.exclude(scorecard={}).first()
    election = Election.objects.get(name="Taiwan 2024 presidential election")
    researcher_logged_in(page, live_server)

    lists = {
        "groups": ("/admin/detection/coordinatedgroup/", {"Status", "Campaign", "Score"}),
        "campaigns": ("/admin/campaigns/campaign/", {"Status", "Actor"}),
        "claims": ("/admin/campaigns/attributionclaim/", {"Campaign", "Claimant"}),
        "takedowns": ("/admin/campaigns/takedown/", {"Campaign", "Operation"}),
        "runs": ("/admin/detection/scoringrun/", {"Status", "Progress"}),
    }
    pages = {
        "campaign": f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "election": f"/admin/campaigns/election/{election.pk}/change/",
        "claim": f"/admin/campaigns/attributionclaim/{claim.pk}/change/",
        "run": f"/admin/detection/scoringrun/{run.pk}/change/",
    }
    measured = {}
    for name, (path, wanted) in lists.items():
        page.goto(live_server.url + path)
        page.wait_for_selector("#result_list")
        figures = page.evaluate(MEASURE)
        measured[name] = figures
        page.screenshot(path=str(artefacts / f"1440-{name}.png"))
        assert figures["scrollWidth"] <= figures["innerWidth"], (name, figures)
        assert figures["table"] <= figures["box"], (name, figures)
        assert figures["scrolling"] == [], (name, figures["scrolling"])
        visible = {h["text"].title() for h in figures["headers"] if h["right"] <= figures["innerWidth"]}
        assert {w.title() for w in wanted} <= visible, (name, figures["headers"])
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        figures = page.evaluate(MEASURE)
        measured[name] = figures
        page.screenshot(path=str(artefacts / f"1440-{name}.png"), full_page=True)
        assert figures["scrollWidth"] <= figures["innerWidth"], (name, figures)
        assert figures["scrolling"] == [], (name, figures["scrolling"])
    page.goto(live_server.url + pages["campaign"])
    assert page.locator("#dossier-techniques .tactic").count() >= 1
    assert page.locator("#dossier-groups a", has_text=str(best)).count() == 1
    print({name: (f["scrollWidth"], f["table"], f["box"], f["scrolling"]) for name, f in measured.items()})
