"""The reads behind the triage pages, on a group built by hand: one edge per pair of accounts with its behaviours,
the first mover, evidence one row per post pair (positive lag, shared object), and a run's groups in one picture."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from detection import selectors
from detection.engine.params import ENGINE_VERSION
from detection.ingest import services
from detection.models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    Post,
    RunStatus,
    SamplePost,
    ScoringRun,
    SocialAccount,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 1, 13, 8, 0, tzinfo=UTC)
HOSTILE = "<script>alert('triage')</script> vote for the other one"


class World:
    """Four accounts a, b, c, d of one group, each pair's behaviours and evidence set down by hand:

    a-b: co-link 4 (a first 4) and co-domain 2 (a first 1, b first 1), one post pair sharing the link and its
         domain, b 16.9 s after a;
    c-b: co-hashtag 2, stored with c as source although b posted first (2), b's post a minute before c's;
    a-c: same-text 1 (a first), a's text hostile;
    c-d: co-reshare 1 (d first).
    """

    def __init__(self):
        self.sample = services.sample_create(name="hand-made", tlp="GREEN")
        self.run = ScoringRun.objects.create(
            sample=self.sample, engine_version=ENGINE_VERSION, status=RunStatus.DONE, n_shards=1, shards_done=1
        )
        self.account = {
            name: SocialAccount.objects.create(sample=self.sample, platform="x", account_id=f"id-{name}", handle=name)
            for name in "abcd"
        }
        self.group = CoordinatedGroup.objects.create(
            run=self.run, number=1, score=0.9, size=4, behaviours=[], leader=self.account["d"]
        )
        for name, account in self.account.items():
            AccountScore.objects.create(run=self.run, account=account, group=self.group, score=0.8, reasons=name)
        link = {"urls": ["https://news.example/a?utm=x"], "normalised_urls": ["https://news.example/a"]}
        a1 = self.post("a", 0, domains=["news.example"], **link)
        b1 = self.post("b", 16.9, domains=["news.example"], **link)
        b2 = self.post("b", 40, hashtags=["vote", "other"])
        c1 = self.post("c", 100, hashtags=["vote"])
        a2 = self.post("a", 200, text=HOSTILE)
        c2 = self.post("c", 230, text=HOSTILE)
        d1 = self.post("d", 300, reshare_of="origin-1")
        c3 = self.post("c", 305, reshare_of="origin-1")
        self.edge("co-link", "a", "b", 4, 0, [(a1, b1)])
        self.edge("co-domain", "a", "b", 1, 1, [(a1, b1)])
        self.edge("co-hashtag", "c", "b", 0, 2, [(c1, b2)])
        self.edge("same-text", "a", "c", 1, 0, [(a2, c2)])
        self.edge("co-reshare", "c", "d", 0, 1, [(c3, d1)])

    def post(self, name: str, seconds: float, text: str = "", **lists) -> Post:
        account = self.account[name]
        post = Post.objects.create(
            sample=self.sample,
            platform="x",
            post_id=f"{name}-{seconds}",
            account=account,
            created_at=T0 + timedelta(seconds=seconds),
            text=text or f"post of {name}",
            **lists,
        )
        SamplePost.objects.create(sample=self.sample, post=post)
        return post

    def edge(self, behaviour, source, target, source_first, target_first, posts):
        edge = CoordinationEdge.objects.create(
            run=self.run,
            group=self.group,
            source=self.account[source],
            target=self.account[target],
            behaviour=behaviour,
            weight=source_first + target_first,
            weight_source_first=source_first,
            weight_target_first=target_first,
            expected=0.1,
            p_value=0.001,
            q_value=0.01,
            median_dt=10.0,
        )
        for post_source, post_target in posts:
            dt = (post_target.created_at - post_source.created_at).total_seconds()
            EdgeEvidence.objects.create(edge=edge, post_source=post_source, post_target=post_target, dt=dt)

    def pk(self, name: str) -> int:
        return self.account[name].pk


@pytest.fixture
def world() -> World:
    return World()


def pair_id(world: World, x: str, y: str) -> str:
    low, high = sorted((world.pk(x), world.pk(y)))
    return f"{low}-{high}"


def test_the_network_has_one_edge_per_pair_of_accounts_with_its_behaviours(world):
    network = selectors.group_network(group=selectors.group_detail(group_id=world.group.pk))
    edges = {e["id"]: e for e in network["edges"]}
    assert CoordinationEdge.objects.filter(group=world.group).count() == 5
    assert set(edges) == {pair_id(world, *p) for p in ("ab", "bc", "ac", "cd")}
    ab = edges[pair_id(world, "a", "b")]
    assert [(b["behaviour"], b["weight"]) for b in ab["behaviours"]] == [("co-link", 4), ("co-domain", 2)]
    assert ab["weight"] == 6 and ab["dominant"] == "co-link"
    bc = edges[pair_id(world, "b", "c")]
    first_of = {bc["source"]: bc["source_first"], bc["target"]: bc["target_first"]}
    assert first_of == {str(world.pk("b")): 2, str(world.pk("c")): 0}, "c-b was stored with c as source"
    assert network["behaviours"] == sorted(["co-link", "co-domain", "co-hashtag", "same-text", "co-reshare"])
    assert {n["id"] for n in network["nodes"]} == {str(world.pk(x)) for x in "abcd"}


def test_the_leader_is_the_first_mover_of_the_groups_pairs(world):
    network = selectors.group_network(group=selectors.group_detail(group_id=world.group.pk))
    # a leads 4 + 1 + 1 and follows 1 (net 5); b 3 - 5; c 0 - 4; d 1 - 0. The engine's stored leader (d) is not it.
    assert network["leader"] == str(world.pk("a")) and network["leader_label"] == "a"
    nodes = {n["label"]: n for n in network["nodes"]}
    assert [(nodes[x]["lead"], nodes[x]["follow"]) for x in "abcd"] == [(6, 1), (3, 5), (0, 4), (1, 0)]
    assert [x for x in "abcd" if nodes[x]["leader"]] == ["a"]


def test_first_mover_ties_go_to_who_leads_more_and_nobody_leads_without_a_net_lead():
    def pair(source, target, source_first, target_first):
        return {"source": source, "target": target, "source_first": source_first, "target_first": target_first}

    leader, lead, follow = selectors.first_mover([pair(1, 2, 1, 0), pair(3, 4, 3, 2)])
    assert (leader, lead[3], follow[3]) == (3, 3, 2)  # nets 1 and 1: account 3 acted first more often
    assert selectors.first_mover([pair(1, 2, 2, 2)])[0] is None
    assert selectors.first_mover([])[0] is None


def test_evidence_is_one_row_per_post_pair_ordered_by_who_posted_first_with_the_shared_object(world):
    evidence = selectors.group_evidence_pairs(group=world.group)
    assert evidence.total == 4 and len(evidence.pairs) == 4  # a1-b1 counts for co-link and co-domain: one row
    rows = {row.account_pair: row for row in evidence.pairs}
    ab = rows[pair_id(world, "a", "b")]
    assert ab.behaviours == ["co-link", "co-domain"]
    assert (ab.first.account.handle, ab.second.account.handle) == ("a", "b")
    assert ab.lag == pytest.approx(16.9) and ab.lag_words == "16.9 s"
    assert ab.shared == [
        {"behaviour": "co-link", "kind": "link", "value": "https://news.example/a", "is_text": False},
        {"behaviour": "co-domain", "kind": "domain", "value": "news.example", "is_text": False},
    ]
    bc = rows[pair_id(world, "b", "c")]  # stored c -> b with a negative dt
    assert EdgeEvidence.objects.get(edge__behaviour="co-hashtag").dt == -60
    assert (bc.first.account.handle, bc.second.account.handle, bc.lag, bc.lag_words) == ("b", "c", 60, "1 min 0 s")
    assert bc.shared == [{"behaviour": "co-hashtag", "kind": "hashtag", "value": "#vote", "is_text": False}]
    cd = rows[pair_id(world, "c", "d")]
    assert (cd.first.account.handle, cd.shared) == (
        "d",
        [{"behaviour": "co-reshare", "kind": "reshared post", "value": "origin-1", "is_text": False}],
    )
    ac = rows[pair_id(world, "a", "c")]
    assert ac.shared == [{"behaviour": "same-text", "kind": "same text", "value": HOSTILE, "is_text": True}]
    assert [row.lag for row in evidence.pairs] == sorted(row.lag for row in evidence.pairs)


def test_evidence_gives_every_pair_of_accounts_its_closest_post_pair_before_any_its_second(world):
    a3 = world.post("a", 1000)
    b3 = world.post("b", 1001)
    EdgeEvidence.objects.create(
        edge=CoordinationEdge.objects.get(behaviour="co-link"), post_source=a3, post_target=b3, dt=1
    )
    evidence = selectors.group_evidence_pairs(group=world.group, limit=4)
    assert sorted(row.account_pair for row in evidence.pairs) == sorted(
        pair_id(world, *p) for p in ("ab", "bc", "ac", "cd")
    )
    assert evidence.total == 5
    assert len(selectors.group_evidence_pairs(group=world.group, per_account_pair=1).pairs) == 4


def test_the_triage_page_escapes_hostile_posts_and_sends_the_network_as_json(world, client):
    client.force_login(get_user_model().objects.create_superuser("lead", "lead@example.org", "a long password 42"))
    page = client.get(reverse("admin:detection_coordinatedgroup_change", args=[world.group.pk])).content.decode()
    assert "<script>alert('triage')" not in page
    assert "&lt;script&gt;alert(&#x27;triage&#x27;)&lt;/script&gt;" in page
    assert 'id="network-data" type="application/json"' in page
    assert "a followed" not in page and "c followed a by" in page and "b followed a by" in page


def test_a_runs_network_draws_the_best_groups_that_fit_and_says_how_many(world):
    other = CoordinatedGroup.objects.create(run=world.run, number=2, score=0.5, size=2, behaviours=["co-link"])
    x, y = (
        SocialAccount.objects.create(sample=world.sample, platform="x", account_id=f"id-{n}", handle=n) for n in "xy"
    )
    for account in (x, y):
        AccountScore.objects.create(run=world.run, account=account, group=other, score=0.5)
    for behaviour, source, target in (("co-link", x, y), ("co-domain", x, y), ("co-link", world.account["a"], x)):
        CoordinationEdge.objects.create(
            run=world.run,
            group=other if target == y else None,
            source=source,
            target=target,
            behaviour=behaviour,
            weight=1,
            expected=0.1,
            p_value=0.01,
            q_value=0.05,
        )
    everything = selectors.run_network(run=world.run)
    assert [g["number"] for g in everything["groups"]] == [1, 2]
    assert everything["accounts_drawn"] == everything["accounts_total"] == 6
    ids = {e["id"] for e in everything["edges"]}
    assert len(ids) == 4 + 1 + 1  # the first group's 4 pairs, x-y once for two behaviours, a-x across groups
    assert {n["group"] for n in everything["nodes"] if n["label"] in "xy"} == {2}
    assert [n["label"] for n in everything["nodes"] if n["leader"]] == ["d"]  # the engine's stored leader

    capped = selectors.run_network(run=world.run, max_accounts=5)
    assert [g["number"] for g in capped["groups"]] == [1]
    assert (capped["groups_total"], capped["accounts_drawn"], capped["accounts_total"]) == (2, 4, 6)
    assert len(capped["edges"]) == 4
    assert len(selectors.run_network(run=world.run, max_accounts=1)["groups"]) == 1  # the best group, always


def test_a_text_both_same_and_similar_is_shown_once_and_posts_of_one_second_say_so(world):
    a2, c2 = Post.objects.get(post_id="a-200"), Post.objects.get(post_id="c-230")
    world.edge("similar-text", "a", "c", 1, 0, [(a2, c2)])
    Post.objects.filter(pk=c2.pk).update(created_at=a2.created_at)
    row = next(r for r in selectors.group_evidence_pairs(group=world.group).pairs if "same-text" in r.behaviours)
    assert row.behaviours == ["same-text", "similar-text"]
    assert [(s["behaviour"], s["value"]) for s in row.shared] == [("same-text", HOSTILE)]
    assert row.simultaneous and row.lag == 0


@pytest.mark.parametrize(
    ("seconds", "words"), [(0.04, "under 0.1 s"), (16.94, "16.9 s"), (252, "4 min 12 s"), (7500, "2 h 5 min")]
)
def test_lags_read_as_a_person_says_them(seconds, words):
    first = Post(created_at=T0)
    second = Post(created_at=T0 + timedelta(seconds=seconds))
    assert selectors.EvidencePair(first=first, second=second, behaviours=[], shared=[]).lag_words == words


def test_a_runs_network_page_says_what_it_leaves_out(world, client, monkeypatch):
    other = CoordinatedGroup.objects.create(run=world.run, number=2, score=0.5, size=2, behaviours=[])
    for name in "xy":
        account = SocialAccount.objects.create(sample=world.sample, platform="x", account_id=f"id-{name}", handle=name)
        AccountScore.objects.create(run=world.run, account=account, group=other, score=0.5)
    client.force_login(get_user_model().objects.create_superuser("lead", "lead@example.org", "a long password 42"))
    url = reverse("admin:detection_scoringrun_network", args=[world.run.pk])
    assert "Every group of the run: 2 groups, 6 accounts." in client.get(url).content.decode()
    monkeypatch.setattr(selectors, "RUN_NETWORK_MAX_ACCOUNTS", 5)
    page = client.get(url).content.decode()
    assert "Showing the 1 best-scoring group of 2 (4 of 6 accounts): the picture holds at most 5 accounts." in page
    run_page = client.get(reverse("admin:detection_scoringrun_change", args=[world.run.pk])).content.decode()
    assert f'href="{url}" id="run-network-link"' in run_page
