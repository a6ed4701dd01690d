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
