import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import EngineParams, build_arrays, render, run
from tests.engine.helpers import post

TEXTS = [
    "vote for the party of the future today",
    "vote for the party of the future today!",
    "完全不同的中文句子在这里出现了吗朋友们",
    "",
]

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "=d", "e"]),
        st.integers(0, 300),
        st.sampled_from(["", "r1", "r2"]),
        st.lists(st.sampled_from(["u1", "u2", "u3"]), max_size=2),
        st.lists(st.sampled_from(["h1", "h2"]), max_size=2),
        st.sampled_from(TEXTS),
    ),
    min_size=1,
    max_size=40,
)


def build(rows):
    return [
        post(str(i), acc, t, reshare_of=r, urls=tuple(u), normalised_urls=tuple(u), hashtags=tuple(h), text=text)
        for i, (acc, t, r, u, h, text) in enumerate(rows)
    ]


PARAMS = EngineParams(window_s=60, min_weight=1, text_min_chars=10)
SIGNIFICANCE = EngineParams(window_s=60, text_min_chars=10, min_support=1, alpha=0.5)
modes = st.sampled_from([PARAMS, SIGNIFICANCE])


@settings(max_examples=40, deadline=None)
@given(rows, st.randoms(use_true_random=False), modes)
def test_row_order_changes_nothing(data, rnd: random.Random, params):
    posts = build(data)
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    assert render(run(posts, params=params)) == render(run(shuffled, params=params))


@settings(max_examples=40, deadline=None)
@given(rows, modes)
def test_no_self_edges_and_every_edge_backed_by_evidence(data, params):
    posts = build(data)
    result = run(posts, params=params)
    arrays = result.arrays
    for behaviour, e in result.edges.items():
        assert np.all(e.a < e.b), behaviour
        d = e.details
        backed = set(d.ev_edge.tolist())
        assert backed == set(range(len(e.a))), behaviour
        for i, pa, pb in zip(d.ev_edge, d.ev_post_a, d.ev_post_b, strict=True):
            assert arrays.account[pa] == e.a[i] and arrays.account[pb] == e.b[i]
            assert abs(arrays.time[pa] - arrays.time[pb]) <= PARAMS.window_s
        assert np.all(np.bincount(d.ev_edge, minlength=len(e.a)) <= PARAMS.evidence_cap)


def test_evidence_pairs_share_the_object():
    posts = [post("1", "a", 0, reshare_of="r"), post("2", "b", 3, reshare_of="r"), post("3", "b", 500, reshare_of="q")]
    result = run(posts, params=EngineParams(behaviours=("co-reshare",), min_weight=1))
    arrays = build_arrays(posts)
    d = result.edges["co-reshare"].details
    assert [arrays.post_keys[i][-1] for i in (*d.ev_post_a, *d.ev_post_b)] == ["1", "2"]


def test_identical_input_gives_identical_bytes_across_runs():
    posts = build([("a", 0, "r1", [], [], TEXTS[0]), ("b", 5, "r1", [], [], TEXTS[1]), ("c", 9, "", ["u1"], [], "")])
    assert render(run(posts, params=PARAMS)) == render(run(list(reversed(posts)), params=PARAMS))
