"""In Debian's Chromium: from a sample to its run, to a group, to the campaign the group is attached to."""

import pytest
from django.contrib.auth import get_user_model

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns.models import Asset, Campaign, ThreatActor
from detection import scoring, selectors
from detection.models import CoordinatedGroup, CoordinationEdge, Post
from tests.browser.helpers import PASSWORD, log_in
from tests.detection.helpers import generated_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def researcher_logged_in(page, live_server):
    get_user_model().objects.create_superuser("researcher", "r@example.org", PASSWORD)
    log_in(page, live_server.url)


def readonly_value(page, label: str) -> str:
    return page.locator(f".field-line:has(label:text-is('{label}')) .readonly").inner_text().strip()


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def scroll_to_the_network(page):
    """Centre the picture, clear of the admin's header, and let the scroll event reach cytoscape (which keeps the
    container's place on the page until then)."""
    page.evaluate("document.getElementById('network').scrollIntoView({block: 'center'})")
    page.wait_for_timeout(250)


def check_the_group_network(page, group, artefacts):
    """One edge per pair of accounts, the leader marked, labels readable, a click on a link filters the evidence,
    the behaviour filter hides links; nothing wider than a 1440x900 window."""
    page.set_viewport_size({"width": 1440, "height": 900})
    network = selectors.group_network(group=group)
    pairs = {tuple(sorted((e.source_id, e.target_id))) for e in CoordinationEdge.objects.filter(group=group)}
    assert page.evaluate("window.trackerNetwork.nodes().length") == group.size
    assert page.evaluate("window.trackerNetwork.edges().length") == len(pairs) == len(network["edges"])
    assert CoordinationEdge.objects.filter(group=group).count() > len(pairs)  # several behaviours per pair
    assert page.evaluate("window.trackerNetwork.nodes('[?leader]').map(n => n.id())") == [network["leader"]]
    assert page.evaluate("window.trackerNetwork.nodes('[?leader]')[0].style('shape')") == "diamond"
    assert page.locator("#group-leader").inner_text() == network["leader_label"]
    smallest_label = page.evaluate(
        "Math.min(...window.trackerNetwork.nodes().map(n => parseFloat(n.style('font-size')) * n.cy().zoom()))"
    )
    assert smallest_label >= 11, f"labels drawn at {smallest_label:.1f} px"
    assert page.locator("#members tbody tr").count() == group.size
    rows = page.locator("#evidence tbody tr[data-pair]")
    total_rows = rows.count()
    assert total_rows > 0
    assert no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(artefacts / "triage.png"))
    page.screenshot(path=str(artefacts / "group-full.png"), full_page=True)
    page.locator(".evidence-scroll").screenshot(path=str(artefacts / "triage-evidence.png"))

    scroll_to_the_network(page)
    point = page.evaluate(  # a point on a link, clear of every account and its label
        """() => {
          const cy = window.trackerNetwork, box = cy.container().getBoundingClientRect();
          const boxes = cy.nodes().map(n => n.renderedBoundingBox({includeLabels: true}));
          const free = (x, y) => x > 5 && y > 5 && x < box.width - 5 && y < box.height - 5 &&
            !boxes.some(b => x > b.x1 - 6 && x < b.x2 + 6 && y > b.y1 - 6 && y < b.y2 + 6);
          for (const edge of cy.edges().sort((a, b) => b.data('weight') - a.data('weight'))) {
            const a = edge.source().renderedPosition(), b = edge.target().renderedPosition();
            for (let t = 0.2; t <= 0.8; t += 0.05) {
              const x = a.x + (b.x - a.x) * t, y = a.y + (b.y - a.y) * t;
              if (free(x, y)) { return {x: box.left + x, y: box.top + y}; }
            }
          }
          return null;
        }"""
    )
    assert point is not None, "no link of the picture can be clicked clear of the accounts"
    page.mouse.click(point["x"], point["y"])
    selection = page.evaluate("window.trackerSelection")
    assert selection is not None and selection["kind"] == "edge", selection
    shown = page.locator("#evidence tbody tr[data-pair]:visible")
    assert 0 < shown.count() < total_rows
    assert set(shown.evaluate_all("rows => rows.map(r => r.dataset.pair)")) == {selection["id"]}
    assert page.locator("#evidence-filter").is_visible()
    page.screenshot(path=str(artefacts / "triage-pair.png"))
    page.locator(".evidence-scroll").screenshot(path=str(artefacts / "triage-pair-evidence.png"))
    page.click("#evidence-filter-clear")
    assert page.locator("#evidence tbody tr[data-pair]:visible").count() == total_rows

    scroll_to_the_network(page)
    leader = page.evaluate(
        """() => {
          const cy = window.trackerNetwork, box = cy.container().getBoundingClientRect();
          const p = cy.nodes('[?leader]')[0].renderedPosition();
          return {x: box.left + p.x, y: box.top + p.y};
        }"""
    )
    page.mouse.click(leader["x"], leader["y"])
    assert page.evaluate("window.trackerSelection") == {
        "kind": "node",
        "id": network["leader"],
        "label": network["leader_label"],
    }
    accounts = page.locator("#evidence tbody tr[data-pair]:visible").evaluate_all(
        "rows => rows.map(r => r.dataset.accounts.split(' '))"
    )
    assert accounts and all(network["leader"] in pair for pair in accounts)
    assert page.locator("#members tr.picked").get_attribute("data-account") == network["leader"]
    page.click("#evidence-filter-clear")

    def pairs_with(behaviour: str) -> int:
        return sum(1 for e in network["edges"] if any(b["behaviour"] == behaviour for b in e["behaviours"]))

    visible_edges = "window.trackerNetwork.edges(':visible').length"
    for behaviour in network["behaviours"]:
        page.uncheck(f"#behaviour-filter input[value='{behaviour}']")
    assert page.evaluate(visible_edges) == 0
    assert page.locator("#evidence tbody tr[data-pair]:visible").count() == 0
    rarest = min(network["behaviours"], key=pairs_with)
    page.check(f"#behaviour-filter input[value='{rarest}']")
    assert page.evaluate(visible_edges) == pairs_with(rarest) > 0
    for behaviour in network["behaviours"]:
        page.check(f"#behaviour-filter input[value='{behaviour}']")
    assert page.evaluate(visible_edges) == len(network["edges"])
    page.set_viewport_size({"width": 1400, "height": 1000})


def check_the_run_network(page, run, artefacts):
    page.wait_for_selector("#network canvas")
    network = selectors.run_network(run=run)
    assert page.evaluate("window.trackerNetwork.nodes().length") == network["accounts_drawn"] > 0
    assert page.evaluate("window.trackerNetwork.edges().length") == len(network["edges"])
    assert page.locator("#group-legend li").count() == len(network["groups"])
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(artefacts / "run-network.png"))


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
    researcher_logged_in(page, live_server)

    page.goto(f"{live_server.url}/admin/detection/sample/")
    page.click("text=Election-day sample")
    assert readonly_value(page, "Posts count").replace(",", "") == str(sample.posts.count())
    page.goto(f"{live_server.url}/admin/detection/scoringrun/")
    page.click(f"text=Run {run.pk} of Election-day sample")
    assert "Done" in page.locator(".run-status").first.inner_text()
    page.click("#run-network-link")
    check_the_run_network(page, run, artefacts)
    page.go_back()
    page.click("text=groups, best first")
    page.locator("#result_list tbody tr a").first.click()

    page.wait_for_selector("#network canvas")
    check_the_group_network(page, best, artefacts)

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
