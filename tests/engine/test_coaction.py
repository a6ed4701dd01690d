import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import EngineParams, run
from detection.engine.arrays import SEP
from detection.engine.coaction import window_pairs
from tests.engine.helpers import post, reference_edges


def edges_of(result, behaviour):
    keys = result.arrays.account_keys
    e = result.edges[behaviour]
    return {
        (keys[a].split(SEP)[1], keys[b].split(SEP)[1]): (int(x), int(y))
        for a, b, x, y in zip(e.a, e.b, e.w_ab, e.w_ba, strict=True)
    }


def test_window_is_inclusive_and_per_object():
    obj = np.array([0, 0, 0, 1, 1])
    t = np.array([0.0, 10.0, 10.5, 10.0, 30.0])
    pairs = {(int(i), int(j)) for ia, ib in window_pairs(obj, t, 10.0, 2) for i, j in zip(ia, ib, strict=True)}
    assert pairs == {(0, 1), (1, 2)}


def test_co_reshare_weights_follow_the_toolkit():
    posts = [
        post("1", "alice", 0, reshare_of="r1"),
        post("2", "bob", 5, reshare_of="r1"),
        post("3", "bob", 6, reshare_of="r1"),
        post("4", "alice", 100, reshare_of="r2"),
        post("5", "bob", 161, reshare_of="r2"),  # outside the window
        post("6", "alice", 200, reshare_of="r3"),
        post("7", "alice", 201, reshare_of="r3"),  # same account: no self-pair
        post("8", "carol", 300),  # no object: left out
    ]
    result = run(posts, params=EngineParams(behaviours=("co-reshare",), min_weight=1, window_s=60))
    assert edges_of(result, "co-reshare") == {("alice", "bob"): (1, 2)}


def test_a_post_with_two_shared_urls_counts_once():
    posts = [
        post("1", "a", 0, urls=("u1", "u2"), normalised_urls=("u1", "u2")),
        post("2", "b", 1, urls=("u1", "u2"), normalised_urls=("u1", "u2")),
    ]
    result = run(posts, params=EngineParams(behaviours=("co-link",), min_weight=1))
    assert edges_of(result, "co-link") == {("a", "b"): (1, 1)}
    details = result.edges["co-link"].details
    assert details.n_pairs.tolist() == [1]


def test_reshares_take_no_part_in_content_behaviours():
    posts = [
        post("1", "a", 0, reshare_of="r", hashtags=("h",)),
        post("2", "b", 1, reshare_of="r", hashtags=("h",)),
    ]
    result = run(posts, params=EngineParams(behaviours=("co-reshare", "co-hashtag"), min_weight=1))
    assert edges_of(result, "co-hashtag") == {}
    assert edges_of(result, "co-reshare") == {("a", "b"): (1, 1)}


actions = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 200),
        st.lists(st.sampled_from(["o1", "o2", "o3"]), max_size=3),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(actions, st.sampled_from([0, 10, 60]))
def test_co_link_matches_a_brute_force_reference(rows, window):
    posts = [
        post(str(i), acc, t, urls=tuple(objs), normalised_urls=tuple(objs)) for i, (acc, t, objs) in enumerate(rows)
    ]
    result = run(posts, params=EngineParams(behaviours=("co-link",), min_weight=1, window_s=window))
    assert edges_of(result, "co-link") == reference_edges(posts, lambda p: p.normalised_urls, window)


@settings(max_examples=60, deadline=None)
@given(actions, st.sampled_from([0, 10, 60]))
def test_co_reshare_matches_a_brute_force_reference(rows, window):
    posts = [post(str(i), acc, t, reshare_of=objs[0] if objs else "") for i, (acc, t, objs) in enumerate(rows)]
    result = run(posts, params=EngineParams(behaviours=("co-reshare",), min_weight=1, window_s=window))
    expected = reference_edges(posts, lambda p: [p.reshare_of] if p.reshare_of else [], window)
    assert edges_of(result, "co-reshare") == expected


def test_min_weight_keeps_pairs_whose_larger_direction_reaches_it():
    posts = [post("1", "a", 0, reshare_of="r1"), post("2", "b", 1, reshare_of="r1"), post("3", "b", 2, reshare_of="r1")]
    two = run(posts, params=EngineParams(behaviours=("co-reshare",), min_weight=2))
    three = run(posts, params=EngineParams(behaviours=("co-reshare",), min_weight=3))
    assert edges_of(two, "co-reshare") == {("a", "b"): (1, 2)}
    assert edges_of(three, "co-reshare") == {}
