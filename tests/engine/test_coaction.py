import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import EngineParams, run
from detection.engine.arrays import SEP
from detection.engine.coaction import Actions, actions_matched_keys, window_pairs
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


mixed = st.lists(
    st.tuples(
        st.sampled_from(["x", "weibo"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 120),
        st.sampled_from(["", "r1", "r2"]),
        st.lists(st.sampled_from(["o1", "o2", "o3"]), max_size=2),
        st.lists(st.sampled_from(["m1", "m2"]), max_size=2),
        st.sampled_from(["", "same words here again", "Same  words here again!"]),
    ),
    min_size=1,
    max_size=30,
)


def mixed_posts(rows, one_platform: bool) -> list:
    return [
        post(
            str(i), acc, t, platform="x" if one_platform else plat, reshare_of=r, reply_to=r and f"re-{r}",
            urls=tuple(objs), normalised_urls=tuple(objs), hashtags=tuple(objs), mentions=tuple(ms), text=text,
        )
        for i, (plat, acc, t, r, objs, ms, text) in enumerate(rows)
    ]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(mixed, st.booleans())
def test_arrays_keys_and_actions_follow_their_definition(rows, one_platform):
    """build_arrays against a plain per-record reading of its own definition, on one platform or several."""
    from detection.engine import build_arrays
    from detection.engine.textsim import normalise_text

    posts = mixed_posts(rows, one_platform)
    arrays = build_arrays(posts)
    assert arrays.post_keys == [
        f"{p.platform}{SEP}{p.post_id}" for p in sorted(posts, key=lambda p: (p.platform, p.post_id))
    ]
    assert arrays.account_keys == sorted({f"{p.platform}{SEP}{p.account_id}" for p in posts})
    objects = {
        "co-reshare": lambda p: [f"{p.platform}{SEP}{p.reshare_of}"] if p.reshare_of else [],
        "co-reply": lambda p: [f"{p.platform}{SEP}{p.reply_to}"] if p.reply_to and not p.reshare_of else [],
        "co-link": lambda p: [] if p.reshare_of else list(p.normalised_urls),
        "co-hashtag": lambda p: [] if p.reshare_of else list(p.hashtags),
        "co-mention": lambda p: [] if p.reshare_of else [f"{p.platform}{SEP}{m}" for m in p.mentions],
        "same-text": lambda p: [normalise_text(p.text)] if p.text and not p.reshare_of else [],
    }
    for behaviour, objects_of in objects.items():
        acts = {(f"{p.platform}{SEP}{p.post_id}", o) for p in posts for o in objects_of(p)}
        popular = {o for o in {o for _, o in acts} if sum(1 for _, x in acts if x == o) >= 2}
        table = arrays.objects[behaviour]
        got = {
            (arrays.post_keys[p], table.keys[o]) for p, o in zip(table.post.tolist(), table.obj.tolist(), strict=True)
        }
        assert got == {(p, o) for p, o in acts if o in popular}, behaviour
        assert len(got) == len(table.post), behaviour
        times = arrays.time[table.post]
        order = list(zip(table.obj.tolist(), times.tolist(), table.post.tolist(), strict=True))
        assert order == sorted(order), behaviour


@settings(max_examples=40, deadline=None)
@given(mixed, st.booleans(), st.sampled_from([0, 10, 60]))
def test_compact_and_wide_match_keys_give_the_same_edges(rows, one_platform, window):
    from detection.engine import build_arrays
    from detection.engine.coaction import MatchCodec, match_codec, matched_keys, ranked_codec
    from detection.engine.significance import edge_stats

    arrays = build_arrays(mixed_posts(rows, one_platform))
    params = EngineParams(window_s=window, text_min_chars=5)
    wide = MatchCodec(n_accounts=arrays.n_accounts, width=0)
    assert match_codec(arrays).rank is None and ranked_codec(arrays).rank is not None
    for behaviour in params.behaviours:
        keys_w, crowd_w, n_w = matched_keys(arrays, behaviour, params, wide)
        assert np.all(keys_w[1:] > keys_w[:-1])
        sw = edge_stats(keys_w, arrays.account, arrays.n_accounts, 0)
        for compact in (match_codec(arrays), ranked_codec(arrays)):
            keys_c, crowd_c, n_c = matched_keys(arrays, behaviour, params, compact)
            assert np.array_equal(crowd_c, crowd_w) and n_c == n_w
            assert np.all(keys_c[1:] > keys_c[:-1])
            sc = edge_stats(keys_c, arrays.account, arrays.n_accounts, compact.width)
            for name in ("a", "b", "w_ab", "w_ba"):
                assert np.array_equal(getattr(sc, name), getattr(sw, name)), (behaviour, name)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 100), st.integers(0, 3)), max_size=40),
    st.sampled_from([0, 10, 60]),
    st.sampled_from([1, 3, 10**6]),
    st.booleans(),
)
def test_matched_keys_follow_the_codec_whatever_the_chunks(rows, window, chunk_pairs, compact):
    """actions_matched_keys against every pair of actions read one by one and packed as MatchCodec says."""
    rows = sorted(rows)  # by (object, time)
    n, n_acc = len(rows), 4
    obj, t, acc = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))
    post = np.arange(n, dtype=np.int64)[::-1].copy()  # any distinct post numbers
    width = max(n, 1) if compact else 0
    actions = Actions(obj=obj, post=post, account=acc, time=t.astype(np.float64), number=post if compact else None)
    params = EngineParams(behaviours=("co-reshare",), window_s=window, chunk_pairs=chunk_pairs)
    expected, crowd, n_pairs = set(), np.zeros(n_acc, dtype=np.int64), 0
    for i in range(n):
        for j in range(i + 1, n):
            if obj[i] != obj[j] or t[j] - t[i] > window:
                continue
            u, v = int(acc[i]), int(acc[j])
            crowd[u] += 1
            crowd[v] += 1
            if u == v:
                continue
            n_pairs += 1
            pair = (min(u, v) * n_acc + max(u, v)) * 2
            if compact:
                expected |= {(pair + (u > v)) * width + int(post[i]), (pair + (v > u)) * width + int(post[j])}
            else:
                expected |= {int(post[i]) * n_acc + v, int(post[j]) * n_acc + u}
    keys, got_crowd, got_pairs = actions_matched_keys(actions, "co-reshare", params, n_acc, width)
    assert keys.dtype == np.int64 and keys.tolist() == sorted(expected)
    assert got_crowd.tolist() == crowd.tolist() and got_pairs == n_pairs
