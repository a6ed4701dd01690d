"""Narrative clusters of a scoring run: found when the run finishes, suggested, accepted or rejected, and shown."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Narrative, ThreatActor
from detection import narratives, scoring, selectors
from detection.engine.synthetic import narrative_texts
from detection.models import (
    AccountScore,
    CoordinatedGroup,
    NarrativeCluster,
    NarrativeClusterPost,
    Post,
    Sample,
    ScoringRun,
    SocialAccount,
)
from partners.markings import Tlp

from .helpers import generated_sample

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
SEED = 11


@pytest.fixture
def scored_run(tmp_path, celery_in_process):
    """A generated sample whose planted groups push narrative templates in three languages, scored end to end
    (the run's last step enqueues the clustering, which runs in process here), with the catalogue narratives
    created first."""
    Narrative.objects.create(
        name="Voting machines flipped votes",
        summary="BREAKING: voting machines flipped thousands of votes, officials knew and did nothing.",
    )
    Narrative.objects.create(
        name="Stolen ballots (ru)", summary="В регионах вбросили тысячи бюллетеней. Выборы украдены"
    )
    Narrative.objects.create(name="Unrelated", summary="Recipes for dumplings with pork and cabbage.")
    texts = narrative_texts(SEED, n_groups=6)
    sample, _ = generated_sample(
        tmp_path, 4_000, seed=SEED, texts=texts.texts, group_share=0.5, group_size=10, posts_per_member=30
    )
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run, texts


def _template_of_cluster(cluster: NarrativeCluster, truth_by_post_id: dict[str, str]) -> set[str]:
    post_ids = Post.objects.filter(pk__in=cluster.memberships.values("post_id")).values_list("post_id", flat=True)
    return {truth_by_post_id.get(pid, "(no template)") for pid in post_ids}


@pytest.mark.django_db(transaction=True)
def test_a_finished_run_is_clustered_into_its_templates_and_suggested_the_right_narrative(scored_run):
    run, texts = scored_run
    clusters = list(run.narrative_clusters.all())
    assert clusters
    sample_posts = {p.post_id: p for p in Post.objects.filter(sample=run.sample)}
    truth = {pid: texts.template_of[p.text] for pid, p in sample_posts.items() if p.text in texts.template_of}
    for cluster in clusters:
        assert len(_template_of_cluster(cluster, truth)) == 1, cluster.top_terms  # one template per cluster
        assert cluster.groups.exists()
        assert cluster.memberships.filter(representative_rank__isnull=False).count() == 3
        assert cluster.size == cluster.memberships.count()
    by_template = {next(iter(_template_of_cluster(c, truth))): c for c in clusters}
    assert by_template["en/machines"].suggested.name == "Voting machines flipped votes"
    assert by_template["en/machines"].suggested_score >= 0.4
    assert by_template["ru/fraud"].suggested.name == "Stolen ballots (ru)"
    assert all(c.suggested is None or c.suggested.name != "Unrelated" for c in clusters)
    assert run.narrative_discovery.clusters == len(clusters) and run.narrative_discovery.finished_at


@pytest.mark.django_db(transaction=True)
def test_clustering_again_keeps_the_reviewed_clusters_and_adds_no_duplicate(scored_run):
    run, _ = scored_run
    first = list(run.narrative_clusters.order_by("number"))
    reviewed = first[0]
    narratives.narrative_cluster_reject(cluster=reviewed, reviewer=None)
    added = narratives.run_narratives_cluster(run_id=run.pk)
    assert len(added) == len(first) - 1
    assert NarrativeCluster.objects.filter(run=run).count() == len(first)
    assert NarrativeCluster.objects.get(pk=reviewed.pk).status == "rejected"
    assert reviewed.pk not in {c.pk for c in added}


def _cluster(run: ScoringRun, number: int, *, text: str, group: CoordinatedGroup, suggested=None) -> NarrativeCluster:
    """A cluster of one post by the group's first member, made by hand."""
    member = group.members.select_related("account").first().account
    post = Post.objects.create(
        sample=run.sample, platform="x", post_id=f"n{number}", account=member, created_at=timezone.now(), text=text
    )
    cluster = NarrativeCluster.objects.create(
        run=run,
        number=number,
        top_terms=["word", f"term{number}"],
        size=1,
        accounts_count=1,
        languages=["en"],
        cohesion=1.0,
        first_post_at=timezone.now() - timedelta(hours=1),
        last_post_at=timezone.now(),
        suggested=suggested,
        suggested_score=0.7 if suggested else 0.1,
    )
    cluster.groups.set([group])
    NarrativeClusterPost.objects.create(cluster=cluster, post=post, representative_rank=1)
    return cluster


@pytest.fixture
def hand_made(db):
    """A finished run with two groups, each attached to its own campaign, and three clusters still to review."""
    sample = Sample.objects.create(name="Hand made", tlp=Tlp.GREEN, platforms=["x"])
    run = ScoringRun.objects.create(sample=sample, engine_version="t", status="done", finished_at=timezone.now())
    actor = ThreatActor.objects.create(name="Actor", actor_type="state", country="RU")
    campaigns, groups = [], []
    for number in (1, 2):
        group = CoordinatedGroup.objects.create(run=run, number=number, score=0.9, size=1, status="confirmed")
        account = SocialAccount.objects.create(
            sample=sample, platform="x", account_id=f"a{number}", handle=f"h{number}"
        )
        AccountScore.objects.create(run=run, account=account, group=group, score=0.9, flagged=True)
        campaign = Campaign.objects.create(name=f"Campaign {number}", actor=actor)
        group.campaign = campaign
        group.save()
        campaigns.append(campaign)
        groups.append(group)
    stolen = Narrative.objects.create(name="Stolen election", languages=["ru"], tlp=Tlp.GREEN)
    other = Narrative.objects.create(name="Other story", tlp=Tlp.GREEN)
    clusters = [
        _cluster(run, 1, text=f"The election was stolen {HOSTILE}", group=groups[0], suggested=stolen),
        _cluster(run, 2, text="Something else entirely", group=groups[1], suggested=other),
        _cluster(run, 3, text="No narrative like it", group=groups[1]),
    ]
    return {"run": run, "campaigns": campaigns, "clusters": clusters, "stolen": stolen, "other": other}


def _state() -> dict:
    return {
        "clusters": sorted(
            NarrativeCluster.objects.values_list("pk", "status", "narrative_id", "suggested_id", "reviewed_at")
        ),
        "campaigns": sorted(Campaign.narratives.through.objects.values_list("campaign_id", "narrative_id")),
        "narratives": sorted(Narrative.objects.values_list("pk", "name", "languages")),
    }


def test_accepting_links_the_clusters_campaigns_and_touches_nothing_else(hand_made):
    first, second, third = hand_made["clusters"]
    stolen = hand_made["stolen"]
    before = _state()
    assert narratives.narrative_cluster_accept(cluster=first, reviewer=None) == 1
    assert narratives.narrative_cluster_accept(cluster=first, reviewer=None) == 0  # twice: nothing new
    after = _state()
    first.refresh_from_db()
    assert (first.status, first.narrative) == ("accepted", stolen)
    assert set(hand_made["campaigns"][0].narratives.all()) == {stolen}
    assert not hand_made["campaigns"][1].narratives.exists()
    assert Narrative.objects.get(pk=stolen.pk).languages == ["ru", "en"]
    changed = {row[0] for row in set(after["clusters"]) ^ set(before["clusters"])}
    assert changed == {first.pk}
    assert [r for r in after["narratives"] if r[0] != stolen.pk] == [
        r for r in before["narratives"] if r[0] != stolen.pk
    ]


def test_rejecting_touches_only_that_cluster_and_accepting_without_a_narrative_is_refused(hand_made):
    first, second, third = hand_made["clusters"]
    before = _state()
    narratives.narrative_cluster_reject(cluster=second, reviewer=None)
    after = _state()
    assert {row[0] for row in set(after["clusters"]) ^ set(before["clusters"])} == {second.pk}
    assert after["campaigns"] == before["campaigns"] and after["narratives"] == before["narratives"]
    with pytest.raises(ValueError, match="choose the narrative"):
        narratives.narrative_cluster_accept(cluster=third, reviewer=None)
    assert NarrativeCluster.objects.get(pk=third.pk).status == "new"
    narratives.narrative_cluster_accept(cluster=third, reviewer=None, narrative=hand_made["other"])
    assert NarrativeCluster.objects.get(pk=third.pk).narrative == hand_made["other"]


def test_accepted_clusters_posts_become_the_narratives_reference_texts(hand_made):
    first = hand_made["clusters"][0]
    assert selectors.narrative_reference_texts()[hand_made["stolen"].pk] == ["Stolen election", ""]
    narratives.narrative_cluster_accept(cluster=first, reviewer=None)
    assert selectors.narrative_reference_texts()[hand_made["stolen"].pk][2] == f"The election was stolen {HOSTILE}"


@pytest.fixture
def researcher(client):
    user = get_user_model().objects.create_superuser("researcher", "r@example.org", "x-unused-password-9")
    client.force_login(user)
    return user


def test_the_cluster_page_escapes_posts_and_its_verdict_goes_through_the_services(hand_made, client, researcher):
    first, second, _ = hand_made["clusters"]
    url = reverse("admin:detection_narrativecluster_change", args=[first.pk])
    page = client.get(url).content.decode()
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    response = client.post(url, {"decision": "accept", "choose": ""})
    assert response.status_code == 302, response.content.decode()[-2000:]
    first.refresh_from_db()
    assert (first.status, first.narrative, first.reviewed_by) == ("accepted", hand_made["stolen"], researcher)
    assert set(hand_made["campaigns"][0].narratives.all()) == {hand_made["stolen"]}
    changelist = reverse("admin:detection_narrativecluster_changelist")
    client.post(changelist, {"action": "reject_suggestions", "_selected_action": [second.pk]})
    assert NarrativeCluster.objects.get(pk=second.pk).status == "rejected"
    assert NarrativeCluster.objects.get(pk=first.pk).status == "accepted"


def test_the_runs_page_clusters_again_on_demand(
    hand_made, researcher, celery_in_process, django_capture_on_commit_callbacks
):
    """The button sits in the run page's form, whose CSRF token it posts (checked here, as a browser's would be)."""
    run = hand_made["run"]
    narratives.narrative_cluster_reject(cluster=hand_made["clusters"][1], reviewer=researcher)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(researcher)
    page = browser.get(reverse("admin:detection_scoringrun_change", args=[run.pk])).content.decode()
    url = reverse("admin:detection_scoringrun_narratives", args=[run.pk])
    assert f'formaction="{url}" formmethod="post"' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(url).status_code == 403  # without the form's token
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    run.refresh_from_db()
    # three posts are too few for a cluster: the clusters still to review are gone, the reviewed one stays
    assert run.narrative_discovery.posts == 3 and run.narrative_discovery.requested_by == researcher
    assert list(run.narrative_clusters.values_list("number", "status")) == [(2, "rejected")]
