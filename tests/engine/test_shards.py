import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import EngineParams, PartialEdges, build_arrays, finalise, render, run, shard_edges, shard_of
from tests.engine.test_properties import build, modes, rows


def test_shard_of_is_stable_and_in_range():
    assert shard_of("https://example.org/a", 7) == shard_of("https://example.org/a", 7)
    assert {shard_of(f"k{i}", 4) for i in range(200)} == {0, 1, 2, 3}
    # BLAKE2b, not Python's salted hash(): this value must never change between processes or releases.
    assert shard_of("x\x1fpost-1", 1000) == 987
    with pytest.raises(ValueError):
        shard_of("a", 0)


@settings(max_examples=25, deadline=None)
@given(rows, st.integers(2, 6), modes)
def test_finalising_shards_equals_one_run(data, k, params):
    posts = build(data)
    arrays = build_arrays(posts, params=params)
    single = render(run(arrays, params=params))
    sharded = finalise([shard_edges(arrays, params, i, k) for i in range(k)], arrays, params)
    assert render(sharded) == single


def test_partials_round_trip_through_savez():
    posts = build([("a", 0, "r1", ["u1"], [], ""), ("b", 5, "r1", ["u1"], [], ""), ("c", 9, "r1", [], [], "")])
    params = EngineParams(min_weight=1)
    arrays = build_arrays(posts, params=params)
    partials = []
    for i in range(3):
        buffer = io.BytesIO()
        np.savez(buffer, **shard_edges(arrays, params, i, 3).to_arrays())
        buffer.seek(0)
        with np.load(buffer) as loaded:
            partials.append(PartialEdges.from_arrays(dict(loaded)))
    assert render(finalise(partials, arrays, params)) == render(run(arrays, params=params))


def test_finalise_refuses_missing_or_repeated_shards():
    arrays = build_arrays(build([("a", 0, "r1", [], [], ""), ("b", 5, "r1", [], [], "")]))
    params = EngineParams()
    with pytest.raises(ValueError, match="exactly once"):
        finalise([shard_edges(arrays, params, 0, 2)], arrays, params)
    with pytest.raises(ValueError, match="exactly once"):
        finalise([shard_edges(arrays, params, 0, 2)] * 2, arrays, params)
