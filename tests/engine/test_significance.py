import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate_sample import generate
from detection.engine import EngineParams, build_arrays, run
from detection.engine.arrays import SEP
from detection.engine.significance import EdgeStats, bh_qvalues, poisson_test


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.integers(0, 50))
def test_bh_matches_the_textbook_procedure(p, extra):
    p = np.array(p)
    m = len(p) + extra
    q = bh_qvalues(p, m)
    for alpha in (0.01, 0.05, 0.2):
        order = np.sort(p)
        passing = [i for i in range(len(p)) if order[i] <= alpha * (i + 1) / m]
        k = max(passing) + 1 if passing else 0
        expected = p <= order[k - 1] if k else np.zeros(len(p), dtype=bool)
        assert np.array_equal(q <= alpha, expected)


def test_chance_explains_busy_accounts_but_not_a_tight_pair():
    stats = EdgeStats(a=np.array([0, 2]), b=np.array([1, 3]), w_ab=np.array([5, 5]), w_ba=np.array([5, 5]))
    activity = np.array([1000, 1000, 10, 10])
    crowd = np.array([2000, 2000, 10, 10])
    expected, p_value, m = poisson_test(stats, activity, crowd)
    assert m == 2
    assert expected[0] > expected[1]
    assert p_value[0] > 0.5  # busy accounts on busy objects: five co-actions are expected
    assert p_value[1] < 1e-6  # quiet accounts: five co-actions are not


def test_planted_groups_are_found_and_organic_noise_is_not():
    sample = generate(30_000, seed=7, posts_per_member=40)
    arrays = build_arrays(sample.posts, sample.accounts)
    result = run(arrays, params=EngineParams())
    flagged = {arrays.account_keys[i].split(SEP, 1)[1] for i in np.flatnonzero(result.flagged)}
    planted = sample.planted
    assert len(flagged & planted) >= 0.95 * len(flagged)
    assert len(flagged & planted) >= 0.95 * len(planted)
    group_of = result.scores.account_group
    for members in sample.groups:
        ids = {arrays.account_keys.index(f"x{SEP}{m}") for m in members}
        assert len({int(group_of[i]) for i in ids}) == 1  # one planted group, one group found


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(0, 5), st.integers(0, 5)), max_size=40),
    st.sampled_from([None, 2, 3]),
    st.floats(0.01, 0.9),
)
def test_select_edges_equals_testing_every_candidate(rows, min_weight, alpha):
    """select_edges tests only the edges whose p-value can differ from 1: the same figures as testing all."""
    from detection.engine.significance import select_edges

    n_acc = 6
    a = np.array([x[2] for x in rows], dtype=np.int64)
    b = np.array([x[3] for x in rows], dtype=np.int64)
    stats = EdgeStats(a=a, b=b, w_ab=np.array([x[0] for x in rows]), w_ba=np.array([x[1] for x in rows]))
    activity = np.arange(1, n_acc + 1) * 7
    crowd = np.arange(n_acc, 0, -1) * 3
    params = EngineParams(min_weight=min_weight, alpha=alpha)
    keep, expected, p_value, q_value = select_edges(stats, activity, crowd, params)
    full_expected, full_p, m = poisson_test(stats, activity, crowd)
    full_q = bh_qvalues(full_p, m)
    if min_weight is not None:
        full_keep = np.flatnonzero(stats.weight >= min_weight)
    else:
        full_keep = np.flatnonzero((full_q <= alpha) & (stats.weight >= params.min_support))
    assert np.array_equal(keep, full_keep)
    assert np.array_equal(expected, full_expected[keep])
    assert np.array_equal(p_value, full_p[keep])
    assert np.array_equal(q_value, full_q[keep])
