import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import (
    EngineParams,
    PartialEdges,
    build_arrays,
    coaction,
    finalise,
    render,
    run,
    shard_edges,
    shard_of,
)
from detection.engine.partition import (
    arrays_from_finalise,
    finalise_arrays,
    load_npz,
    partition_common,
    partition_shards,
    save_npz,
    shard_edges_from_partition,
)
from detection.engine.shards import object_shards
from detection.engine.synthetic import generate
from tests.engine.test_properties import build, modes, rows


def test_shard_of_is_stable_and_in_range():
    assert shard_of("https://example.org/a", 7) == shard_of("https://example.org/a", 7)
    assert {shard_of(f"k{i}", 4) for i in range(200)} == {0, 1, 2, 3}
    # BLAKE2b, not Python's salted hash(): this value must never change between processes, and between releases
    # only with the key digests that name objects in a part's fragments (a run's parts and shards must agree).
    assert shard_of("x\x1fpost-1", 1000) == 710
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


def partial_arrays(partial: PartialEdges) -> dict:
    """Every array of a partial as (dtype, shape, bytes): equal means byte-identical."""
    return {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in partial.to_arrays().items()}


def through_npz(data: dict) -> dict:
    buffer = io.BytesIO()
    save_npz(buffer, data)
    buffer.seek(0)
    return load_npz(buffer)


def partition_files(arrays, params, n_shards):
    common = through_npz(partition_common(arrays, params, n_shards))
    return common, [through_npz(part) for part in partition_shards(arrays, params, n_shards)]


@pytest.fixture(scope="module")
def generated_arrays():
    sample = generate(4_000, seed=3)
    params = EngineParams()
    return build_arrays(sample.posts, sample.accounts, params), params


CODECS = ("index", "rank", "wide")  # the three MatchCodecs, forced by a lower coaction._LIMIT


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("n_shards", [1, 2, 16, 64])
def test_partitions_give_byte_identical_partials_and_results(generated_arrays, monkeypatch, n_shards, codec):
    arrays, params = generated_arrays
    limit = {"index": 2**63, "rank": arrays.n_accounts**2 * 2 * arrays.n_posts, "wide": 1}[codec]
    monkeypatch.setattr(coaction, "_LIMIT", limit)
    assert (coaction.match_codec(arrays).width == 0) == (codec == "wide")
    assert (coaction.match_codec(arrays).rank is not None) == (codec == "rank")
    common, parts = partition_files(arrays, params, n_shards)
    partials = [shard_edges_from_partition(common, part, params) for part in parts]
    for shard, partial in enumerate(partials):
        assert partial_arrays(partial) == partial_arrays(shard_edges(arrays, params, shard, n_shards)), shard
    assert sum(sum(p.n_pairs.values()) for p in partials) > 0
    restored = arrays_from_finalise(common, through_npz(finalise_arrays(arrays)))
    assert render(finalise(partials, restored, params)) == render(run(arrays, params=params))


@settings(max_examples=25, deadline=None)
@given(rows, st.sampled_from([1, 2, 16, 64]), modes)
def test_finalising_partitions_equals_one_run(data, k, params):
    arrays = build_arrays(build(data), params=params)
    common, parts = partition_files(arrays, params, k)
    partials = [shard_edges_from_partition(common, part, params) for part in parts]
    for shard, partial in enumerate(partials):
        assert partial_arrays(partial) == partial_arrays(shard_edges(arrays, params, shard, k))
    restored = arrays_from_finalise(common, through_npz(finalise_arrays(arrays)))
    assert render(finalise(partials, restored, params)) == render(run(arrays, params=params))


def test_a_shard_partition_holds_only_its_objects(generated_arrays):
    arrays, params = generated_arrays
    whole = partition_files(arrays, params, 1)[1][0]
    n_shards = 16
    _, parts = partition_files(arrays, params, n_shards)
    for behaviour in params.behaviours:
        table = arrays.objects[behaviour]
        shard_of_object = object_shards(table, n_shards)
        seen = []
        for shard, part in enumerate(parts):
            objects = part[f"objects:{behaviour}"]
            assert np.all(shard_of_object[objects] == shard), behaviour
            assert np.array_equal(objects[part[f"obj:{behaviour}"]], table.obj[shard_of_object[table.obj] == shard])
            seen.append(objects)
        assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(len(table.keys or table.bucket_key)))

    def action_bytes(part: dict) -> int:
        return sum(v.nbytes for k, v in part.items() if ":" in k and not k.startswith(("text_sig:", "text_bands:")))

    # Every action, and every object's row, is in one shard: the shards add up to the whole, and each is ~1/n.
    sizes = [action_bytes(part) for part in parts]
    assert sum(sizes) == action_bytes(whole)
    assert max(sizes) <= 3 * action_bytes(whole) / n_shards, [round(n * n_shards / sum(sizes), 2) for n in sizes]
    # A text sits in up to lsh_bands buckets, so its signature goes to each shard that holds one of them.
    rows = [len(part["text_sig:similar-text"]) for part in parts]
    assert sum(rows) <= params.lsh_bands * len(whole["text_sig:similar-text"])
    assert max(rows) < len(whole["text_sig:similar-text"]) / 2


def test_partition_files_hold_no_objects_and_refuse_other_parameters(generated_arrays):
    arrays, params = generated_arrays
    common, parts = partition_files(arrays, params, 2)
    for data in (common, *parts, finalise_arrays(arrays)):
        assert not any(v.dtype.hasobject for v in data.values())
    with pytest.raises(TypeError, match="object array"):
        save_npz(io.BytesIO(), {"keys": np.array(["a", None], dtype=object)})
    other = EngineParams(window_s=30)
    with pytest.raises(ValueError, match="other engine parameters"):
        shard_edges_from_partition(common, parts[0], other)
