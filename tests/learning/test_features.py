from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detection.engine import EngineParams, run
from detection.engine.records import AccountRecord, PostRecord
from detection.engine.synthetic import DECOY_KINDS, generate
from detection.learning.features import FEATURE_NAMES, group_features

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _hand_made_group():
    """Three accounts made on one day reshare the same six posts, acc1 always first, the others 5 and 10 s later;
    a fourth, older account posts alone."""
    accounts = [
        AccountRecord(platform="x", account_id=f"acc{i}", handle=f"anna{1000 + i}", created_at=T0 - timedelta(days=30))
        for i in (1, 2, 3)
    ]
    old = T0 - timedelta(days=900)
    accounts.append(AccountRecord(platform="x", account_id="loner", handle="loner", created_at=old))
    posts = []
    for event in range(6):
        start = T0 + timedelta(hours=event)
        for i, lag in ((1, 0), (2, 5), (3, 10)):
            posts.append(
                PostRecord(platform="x", post_id=f"p{event}_{i}", account_id=f"acc{i}",
                           created_at=start + timedelta(seconds=lag), reshare_of=f"o{event}")
            )  # fmt: skip
    posts.append(PostRecord(platform="x", post_id="alone", account_id="loner", created_at=T0, text="nothing shared"))
    return run(posts, accounts, EngineParams(min_weight=2))


def test_features_of_a_hand_made_group():
    result = _hand_made_group()
    assert len(result.groups) == 1
    row = dict(zip(FEATURE_NAMES, group_features(result)[0].tolist(), strict=True))
    assert row["log_size"] == pytest.approx(np.log1p(3))
    assert row["n_behaviours"] == 1
    assert row["weight_share_co-reshare"] == 1.0
    assert row["edge_density"] == 1.0
    assert row["coordinated_share"] == 1.0  # every post of the three is a co-action
    assert row["reshare_share"] == 1.0
    # acc1 acts first in 12 of the 18 co-action pairs (6 with each partner), acc2 in 6, acc3 never.
    assert row["top_leader_share"] == pytest.approx(12 / 18)
    assert row["log_median_lag_s"] == pytest.approx(np.log1p(5.0))  # lags 5, 10 and 5 seconds, six times each
    assert row["edge_lag_spread"] == 0.0  # each pair of accounts always at the same lag: a schedule
    assert row["creation_cluster_share"] == 1.0
    assert row["log_creation_spread_days"] == 0.0
    assert row["handle_digits_share"] == 1.0
    assert row["handle_prefix_share"] == 0.0
    assert row["known_overlap_share"] == 0.0


def test_overlap_with_known_accounts_is_the_share_of_members_known():
    result = _hand_made_group()
    known = np.zeros(result.arrays.n_accounts, dtype=bool)
    known[result.groups[0][0]] = True
    row = dict(zip(FEATURE_NAMES, group_features(result, known)[0].tolist(), strict=True))
    assert row["known_overlap_share"] == pytest.approx(1 / 3)


def test_no_groups_no_rows():
    posts = [PostRecord(platform="x", post_id="a", account_id="u", created_at=T0, text="alone")]
    assert group_features(run(posts)).shape == (0, len(FEATURE_NAMES))


def test_decoys_are_deterministic_and_leave_the_rest_of_the_sample_alone():
    plain = generate(3000, seed=4)
    with_decoys = generate(3000, seed=4, decoys=3)
    again = generate(3000, seed=4, decoys=3)
    assert with_decoys.posts[: len(plain.posts)] == plain.posts
    assert with_decoys.groups == plain.groups
    assert [d.kind for d in with_decoys.decoys] == list(DECOY_KINDS)
    assert with_decoys.posts == again.posts and with_decoys.decoys == again.decoys
    assert not with_decoys.decoy_accounts & with_decoys.planted
