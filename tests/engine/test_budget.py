import time
import tracemalloc
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import BudgetExceeded, EngineParams, build_arrays, pair_budget_check, run, shard_edges
from detection.engine.budget import behaviours_to_leave_out
from detection.engine.coaction import pair_counts, window_pairs
from tests.engine.helpers import post

TEXTS = ["vote for the party of the future today", "vote for the party of the future today!", "short", ""]

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 70),  # close times, so that pairs fall on either side of each window's edge
        st.sampled_from(["", "r1", "r2"]),
        st.lists(st.sampled_from(["https://e.example/1", "https://e.example/2", "https://f.example/"]), max_size=3),
        st.lists(st.sampled_from(["h1", "h2"]), max_size=2),
        st.sampled_from(TEXTS),
    ),
    min_size=0,
    max_size=50,
)


def build(data):
    posts = []
    for i, (account, t, reshare, urls, tags, text) in enumerate(data):
        domains = tuple(sorted({u.split("/")[2] for u in urls}))
        posts.append(
            post(str(i), account, t, reshare_of=reshare, urls=tuple(urls), normalised_urls=tuple(urls),
                 domains=domains, hashtags=tuple(tags), mentions=tuple(tags), text=text)
        )  # fmt: skip
    return posts


def brute_force(posts, objects_of, window: float) -> int:
    """Pairs of distinct posts acting on one object within the window, by comparing every pair."""
    acts = {(o, p.post_id, p.created_at.timestamp()) for p in posts for o in objects_of(p)}
    return sum(o1 == o2 and abs(t1 - t2) <= window for (o1, _, t1), (o2, _, t2) in combinations(acts, 2))


OBJECTS = {
    "co-reshare": lambda p: [p.reshare_of] if p.reshare_of else [],
    "co-link": lambda p: [] if p.reshare_of else list(p.normalised_urls),
    "co-domain": lambda p: [] if p.reshare_of else list(p.domains),
    "co-hashtag": lambda p: [] if p.reshare_of else list(p.hashtags),
}


@settings(max_examples=80, deadline=None)
@given(rows, st.sampled_from([0.0, 1.0, 30.0, 60.0, 1e6]))
def test_the_count_is_exactly_the_pairs_the_sweep_builds(data, window):
    posts = build(data)
    params = EngineParams(window_s=window, text_min_chars=10, chunk_pairs=7)
    arrays = build_arrays(posts, params=params)
    counts = pair_counts(arrays, params)
    partial = shard_edges(arrays, params)
    for behaviour in params.behaviours:
        table = arrays.objects[behaviour]
        swept = sum(len(ia) for ia, _ in window_pairs(table.obj, arrays.time[table.post], window, 7))
        assert counts[behaviour] == swept, behaviour
        assert partial.n_pairs[behaviour] <= counts[behaviour], behaviour  # an upper bound on the co-actions
        if behaviour in OBJECTS:
            assert counts[behaviour] == brute_force(posts, OBJECTS[behaviour], window), behaviour


@settings(max_examples=40, deadline=None)
@given(rows, st.sampled_from([0.0, 60.0, 1e6]))
def test_a_run_exactly_at_its_budget_passes_and_one_pair_over_is_refused(data, window):
    posts = build(data)
    params = EngineParams(window_s=window, text_min_chars=10, min_weight=1)
    total = sum(pair_counts(build_arrays(posts, params=params), params).values())
    assert run(posts, params=params, max_pairs=total).summary == run(posts, params=params).summary
    if total:
        with pytest.raises(BudgetExceeded) as refused:
            run(posts, params=params, max_pairs=total - 1)
        assert sum(refused.value.pairs.values()) == total and refused.value.limit == total - 1


def test_five_thousand_posts_sharing_one_url_are_refused_before_any_pair_is_built():
    n = 5_000
    posts = [
        post(str(i), f"a{i}", 60 * i, urls=("https://news.example/story",),
             normalised_urls=("https://news.example/story",), domains=("news.example",))
        for i in range(n)
    ]  # fmt: skip
    params = EngineParams(window_s=604_800, min_weight=1)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(BudgetExceeded) as refused:
        run(posts, params=params, max_pairs=10_000_000)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    every = n * (n - 1) // 2
    assert refused.value.pairs["co-link"] == refused.value.pairs["co-domain"] == every
    assert refused.value.leave_out == ["co-domain", "co-link"]
    message = str(refused.value)
    assert "would build 24,995,000 co-action pairs (co-domain 12,497,500, co-link 12,497,500)" in message
    assert "the limit of 10,000,000 (max_pairs)" in message
    assert "shorten window_s (now 604800 s) or leave co-domain and co-link out of behaviours" in message
    assert seconds < 5 and peak < 50 * 2**20  # building the pairs took 23 GB and minutes


def test_the_limit_is_named_as_the_caller_knows_it():
    posts = [post(str(i), f"a{i}", i, reshare_of="r") for i in range(10)]
    params = EngineParams(behaviours=("co-reshare",))
    limit = r"the limit of 44 \(SCORING_MAX_PAIRS\): shorten window_s \(now 60 s\)\.$"
    with pytest.raises(BudgetExceeded, match=limit):
        pair_budget_check(build_arrays(posts, params=params), params, 44, "SCORING_MAX_PAIRS")
    assert pair_budget_check(build_arrays(posts, params=params), params, 45) == {"co-reshare": 45}


def test_the_behaviours_to_leave_out_are_the_fewest_that_fit():
    assert behaviours_to_leave_out({"a": 5, "b": 30, "c": 10}, 20) == ["b"]
    assert behaviours_to_leave_out({"a": 15, "b": 30, "c": 10}, 20) == ["b", "a"]
    assert behaviours_to_leave_out({"a": 25, "b": 30}, 20) == []  # either alone is over: only the window helps
    assert behaviours_to_leave_out({"a": 5}, 20) == []
