"""The report's "emerging narratives this period": accepted narrative clusters only, within the audience's marking,
their hostile text escaped."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Narrative
from detection import narratives
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
from reports import services
from reports.models import Scope
from reports.visibility import Audience

from .conftest import HOSTILE, read

pytestmark = pytest.mark.django_db

GREEN = Audience(clearance="GREEN")


def _cluster(run: ScoringRun, group: CoordinatedGroup, number: int, text: str, narrative: Narrative):
    account = group.members.first().account
    post = Post.objects.create(
        sample=run.sample, platform="x", post_id=f"p{number}", account=account, created_at=timezone.now(), text=text
    )
    cluster = NarrativeCluster.objects.create(
        run=run,
        number=number,
        top_terms=[f"Terms{number}", HOSTILE],
        size=40 + number,
        accounts_count=5,
        languages=["ru"],
        cohesion=0.8,
        first_post_at=timezone.now() - timedelta(days=2),
        last_post_at=timezone.now() - timedelta(days=1),
        suggested=narrative,
        suggested_score=0.71,
    )
    cluster.groups.set([group])
    NarrativeClusterPost.objects.create(cluster=cluster, post=post, representative_rank=1)
    return cluster


@pytest.fixture
def clusters():
    """Per sample marking (GREEN, AMBER): an accepted, a rejected and an unreviewed cluster."""
    narrative = Narrative.objects.create(name="Stolen election", tlp="GREEN")
    made = {}
    for tlp in ("GREEN", "AMBER"):
        sample = Sample.objects.create(name=f"Sample {tlp}", tlp=tlp, platforms=["x"])
        run = ScoringRun.objects.create(sample=sample, engine_version="t", status="done", finished_at=timezone.now())
        group = CoordinatedGroup.objects.create(run=run, number=1, score=0.9, size=5)
        account = SocialAccount.objects.create(sample=sample, platform="x", account_id=f"a-{tlp}", handle="h")
        AccountScore.objects.create(run=run, account=account, group=group, score=0.9, flagged=True)
        accepted = _cluster(run, group, 1, f"Accepted{tlp}Post {HOSTILE}", narrative)
        rejected = _cluster(run, group, 2, f"Rejected{tlp}Post", narrative)
        _cluster(run, group, 3, f"Unreviewed{tlp}Post", narrative)
        narratives.narrative_cluster_accept(cluster=accepted, reviewer=None)
        narratives.narrative_cluster_reject(cluster=rejected, reviewer=None)
        made[tlp] = accepted
    return made


def test_the_section_lists_accepted_clusters_only_within_the_audience_and_escapes_them(clusters, no_pdf):
    today = timezone.localdate()
    report = services.report_build(
        scope=Scope.GLOBAL, object_id=None, start=today - timedelta(days=7), end=today, audience=GREEN
    )
    rows = report.content["emerging_narratives"]
    assert [(r["id"], r["narrative"]) for r in rows] == [(clusters["GREEN"].pk, "Stolen election")]
    assert rows[0]["examples"] == [f"AcceptedGREENPost {HOSTILE}"]
    assert rows[0]["posts"] == 41 and rows[0]["groups"] == 1 and rows[0]["similarity"] == 0.71

    html = read(report.html_file)
    section = html[html.index('<section id="emerging-narratives">') :]
    section = section[: section.index("</section>")]
    assert "<h2>Emerging narratives this period</h2>" in section
    assert "AcceptedGREENPost" in section and "Terms1" in section
    for absent in ("RejectedGREENPost", "UnreviewedGREENPost", "AcceptedAMBERPost"):
        assert absent not in html
    assert HOSTILE not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in section

    document = json.loads(read(report.json_file))
    assert [r["id"] for r in document["emerging_narratives"]] == [clusters["GREEN"].pk]


def test_a_period_before_the_posts_has_no_emerging_narrative(clusters, no_pdf):
    today = timezone.localdate()
    start, end = today - timedelta(days=60), today - timedelta(days=30)
    report = services.report_build(scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN)
    assert report.content["emerging_narratives"] == []
    assert "No narrative cluster was accepted for this period." in read(report.html_file)
