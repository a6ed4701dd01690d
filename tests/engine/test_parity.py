"""Parity with the peers on the real CooRTweet datasets (DOMAIN.md, "Real data to test against")."""

from functools import cache

import numpy as np
import pytest

from detection.engine import EngineParams, build_arrays, run
from detection.engine.arrays import SEP
from detection.engine.records import PostRecord
from tests.engine.helpers import shared_data

# data, behaviour, window, min weight -> undirected edges / accounts of coordination-network-toolkit 1.5.2
TABLE = [
    ("russian_coord_tweets.csv", "co-reshare", 60, 2, 63, 97),
    ("russian_coord_tweets.csv", "co-reshare", 10, 2, 5, 10),
    ("german_elections.csv", "co-link", 30, 2, 948, 371),
    ("german_elections.csv", "co-domain", 30, 2, 979, 412),
    ("german_elections.csv", "co-hashtag", 30, 2, 200, 154),
    ("german_elections.csv", "same-media", 30, 2, 228, 161),
]


@cache
def posts_of(name: str) -> list[PostRecord]:
    path = shared_data() / "coortweet" / name
    if not path.is_file():
        pytest.skip(f"{path} is missing: the shared data folder sits beside the repository (SHARED_DATA)")
    from detection.engine.readers import read_sample

    return [r for r in read_sample(path) if isinstance(r, PostRecord)]


def edge_set(name: str, behaviour: str, window: int, min_weight: int) -> set[tuple[str, str]]:
    params = EngineParams(behaviours=(behaviour,), window_s=window, min_weight=min_weight)
    result = run(build_arrays(posts_of(name), params=params), params=params)
    keys = result.arrays.account_keys
    e = result.edges[behaviour]
    return {(keys[a].split(SEP, 1)[1], keys[b].split(SEP, 1)[1]) for a, b in zip(e.a, e.b, strict=True)}


@pytest.mark.parametrize(
    ("name", "behaviour", "window", "min_weight", "n_edges", "n_accounts"),
    # The German file (219k rows) takes seconds to read: slow; the Russian one stays in the quick suite.
    [pytest.param(*row, marks=pytest.mark.slow) if row[0].startswith("german") else row for row in TABLE],
)
def test_the_peers_table_is_reproduced(name, behaviour, window, min_weight, n_edges, n_accounts):
    edges = edge_set(name, behaviour, window, min_weight)
    assert len(edges) == n_edges
    assert len({a for e in edges for a in e}) == n_accounts


def test_significance_keeps_a_subset_of_the_candidate_pairs():
    params = EngineParams(behaviours=("co-reshare",), window_s=60)
    result = run(posts_of("russian_coord_tweets.csv"), params=params)
    e = result.edges["co-reshare"]
    assert 0 < len(e.a) <= result.summary["behaviours"]["co-reshare"]["candidate_edges"]
    assert np.all(e.q_value <= params.alpha)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "behaviour", "window", "min_weight", "n_edges", "n_accounts"), TABLE)
def test_edge_sets_equal_the_toolkits_own_output(tmp_path, name, behaviour, window, min_weight, n_edges, n_accounts):
    """Runs coordination-network-toolkit 1.5.2 (benchmarks/.peers/cnt-venv, installed by the benchmark)."""
    from benchmarks import engine_vs_toolkit as bench

    python = bench.VENV / "bin" / "python"
    if not python.exists():
        pytest.skip("the toolkit is not installed: run benchmarks/engine_vs_toolkit.py once")
    path = shared_data() / "coortweet" / name
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    _, toolkit = bench.run_toolkit(python, bench.Case(name, path, behaviour, window, min_weight), tmp_path)
    assert len(toolkit) == n_edges
    assert {frozenset(e) for e in edge_set(name, behaviour, window, min_weight)} == toolkit
