"""A prepare split into parts and shards gives the single-process engine's results, byte for byte."""

import io

import numpy as np
import pytest

from detection.engine import EngineParams, PartialEdges, build_arrays, coaction, render, run
from detection.engine.api import finalise_from_pairs, select_edges_of
from detection.engine.arrays import SEP
from detection.engine.partition import (
    arrays_from_finalise,
    load_npz,
    partition_shards,
    save_npz,
    shard_edges_from_partition,
    shard_pairs_from_partition,
    strings_to_arrays,
)
from detection.engine.parts import (
    PartColumns,
    PartError,
    PartPosts,
    part_fragments,
    part_summary,
    partition_from_fragments,
    reduce_inputs,
    run_common,
    select_inputs,
)
from detection.engine.records import AccountRecord
from detection.engine.shards import object_shards
from detection.engine.significance import SelectedEdges
from detection.engine.synthetic import generate
from tests.engine.helpers import post


def through_npz(data):
    buffer = io.BytesIO()
    save_npz(buffer, data)
    buffer.seek(0)
    return load_npz(buffer)


def parted_run(posts, accounts, params, n_parts, n_shards, seen=None):
    """The run as the workers do it: a dictionary of accounts, parts, fragments, shards, then the reduce.

    seen: a dict that receives the fragments (per part, per shard) and the partitions (per shard)."""
    posts = sorted(posts, key=lambda r: (r.platform, r.post_id))
    keys = sorted({f"{a.platform}{SEP}{a.account_id}" for a in accounts})
    code = {k: i for i, k in enumerate(keys)}
    by_key = {f"{a.platform}{SEP}{a.account_id}": a for a in accounts}
    account = np.array([code[f"{r.platform}{SEP}{r.account_id}"] for r in posts], dtype=np.int64)
    busiest = int(np.bincount(account, minlength=len(keys)).max())
    common = through_npz(
        run_common(
            params, n_posts=len(posts), n_accounts=len(keys), busiest=busiest, n_shards=n_shards, n_parts=n_parts
        )
    )
    dictionary = strings_to_arrays("account_keys", keys) | strings_to_arrays(
        "record_handle", [by_key[k].handle for k in keys]
    )
    dictionary["record_created"] = np.array(
        [by_key[k].created_at.timestamp() if by_key[k].created_at else np.nan for k in keys]
    )
    step = -(-len(posts) // n_parts)
    summaries, fragments = [], []
    for part, start in enumerate(range(0, len(posts), step)):
        columns = PartColumns(
            PartPosts.from_records(posts[start : start + step]), account[start : start + step], start, params, len(keys)
        )
        summaries.append(through_npz(part_summary(columns, params, part)))
        fragments.append([through_npz(f) for f in part_fragments(columns, params, part, n_shards)])
    partitions = [
        through_npz(
            partition_from_fragments(
                common, [f[shard] for f in fragments], params, shard, [s["counts"] for s in summaries]
            )
        )
        for shard in range(n_shards)
    ]
    if seen is not None:
        seen.update(fragments=fragments, partitions=partitions)
    partials = [
        PartialEdges.from_arrays(through_npz(shard_edges_from_partition(common, p, params).to_arrays()))
        for p in partitions
    ]
    account, activity = select_inputs(common, summaries)
    width = int(common["meta"][2])
    selected = select_edges_of(partials, account, len(keys), width, activity, params)
    kept = through_npz({name: a for s in selected.values() for name, a in s.to_arrays().items()})
    selected = {b: SelectedEdges.from_arrays(kept, b) for b in selected}
    shard_pairs = [through_npz(shard_pairs_from_partition(common, p, params, selected)) for p in partitions]
    common, data = reduce_inputs(common, dictionary, summaries, shard_pairs)
    result = finalise_from_pairs(selected, shard_pairs, arrays_from_finalise(common, through_npz(data)), params)
    # The reduce names posts by their database keys; the rendered outputs name them by the engine's.
    result.arrays.post_keys = [f"{r.platform}{SEP}{r.post_id}" for r in posts]
    return result


@pytest.fixture(scope="module")
def generated():
    sample = generate(4_000, seed=3)
    known = {(a.platform, a.account_id): a for a in sample.accounts}
    accounts = [
        known.get((r.platform, r.account_id), AccountRecord(platform=r.platform, account_id=r.account_id))
        for r in {(r.platform, r.account_id): r for r in sample.posts}.values()
    ]
    return sample.posts, accounts


@pytest.mark.parametrize("codec", ["index", "rank", "wide"])
@pytest.mark.parametrize(("n_parts", "n_shards"), [(1, 1), (2, 2), (7, 16), (2, 64), (7, 1)])
def test_parts_and_shards_give_the_engines_results(generated, monkeypatch, n_parts, n_shards, codec):
    posts, accounts = generated
    n_accounts = len(accounts)
    limit = {"index": 2**63, "rank": n_accounts**2 * 2 * len(posts), "wide": 1}[codec]
    monkeypatch.setattr(coaction, "_LIMIT", limit)
    monkeypatch.setattr("detection.engine.parts._LIMIT", limit)
    params = EngineParams()
    expected = render(run(posts, accounts, params))
    seen = {}
    parted = parted_run(posts, accounts, params, n_parts, n_shards, seen)
    assert render(parted) == expected
    # The texts are numbered as build_arrays numbers them, and the signatures the shards' sweeps compare are its own.
    whole = build_arrays(posts, accounts, params)
    assert np.array_equal(parted.arrays.text_row, whole.text_row)
    compared = 0
    for partition in seen["partitions"]:
        if "post:similar-text" in partition:
            rows = whole.text_row[partition["post:similar-text"]]
            ours = partition["text_sig:similar-text"][partition["text_row:similar-text"]]
            assert np.array_equal(ours, whole.text_sig[rows])
            compared += len(rows)
    assert compared


def test_every_text_takes_part_when_text_min_chars_is_zero(generated):
    posts, accounts = generated
    params = EngineParams(text_min_chars=0, min_weight=1)
    parted = parted_run(posts, accounts, params, 3, 4)
    assert render(parted) == render(run(posts, accounts, params))
    assert np.array_equal(parted.arrays.text_row, build_arrays(posts, accounts, params).text_row)


def test_a_part_refuses_posts_out_of_order(generated):
    posts, _ = generated
    ordered = sorted(posts[:10], key=lambda r: (r.platform, r.post_id))
    with pytest.raises(PartError, match="not in"):
        PartColumns(PartPosts.from_records(ordered[::-1]), np.zeros(10, np.int64), 0, EngineParams(), 1)


def test_fragments_name_objects_by_numbers_only(generated):
    posts, accounts = generated
    params = EngineParams()
    seen = {}
    parted_run(posts, accounts, params, 3, 4, seen)
    header = {"engine_version", "params_fingerprint"}
    for fragment in (f for part in seen["fragments"] for f in part):
        assert not any(name.endswith((":utf8", ":ends")) for name in fragment)
        assert all(value.dtype.kind in "iuf" for name, value in fragment.items() if name not in header)
        for behaviour in params.behaviours:
            if behaviour != "similar-text" and f"post:{behaviour}" in fragment:
                digest = fragment[f"digest:{behaviour}"]
                assert digest.dtype == np.uint64 and digest.shape == (len(fragment[f"post:{behaviour}"]), 2)


@pytest.mark.parametrize("n_shards", [1, 3, 16])
def test_parts_put_every_object_in_the_shard_of_one_process(generated, n_shards):
    posts, accounts = generated
    params = EngineParams()
    seen = {}
    parted_run(posts, accounts, params, 5, n_shards, seen)
    arrays = build_arrays(posts, accounts, params)
    theirs_all = list(partition_shards(arrays, params, n_shards))
    for shard, (ours, theirs) in enumerate(zip(seen["partitions"], theirs_all, strict=True)):
        for behaviour in params.behaviours:
            table = arrays.objects[behaviour]
            objects = theirs[f"objects:{behaviour}"]
            assert np.all(object_shards(table, n_shards)[objects] == shard)
            assert len(np.unique(ours[f"obj:{behaviour}"])) == len(objects), behaviour
            assert np.array_equal(np.sort(ours[f"post:{behaviour}"]), np.sort(theirs[f"post:{behaviour}"])), behaviour


def test_keys_differing_in_case_or_unicode_normalisation_are_two_objects():
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    posts = [
        post("1", "a", 0, hashtags=(nfc,), urls=("https://x.org/A",), normalised_urls=("https://x.org/A",)),
        post("2", "b", 5, hashtags=(nfc,), urls=("https://x.org/A",), normalised_urls=("https://x.org/A",)),
        post("3", "c", 10, hashtags=(nfd,), urls=("https://x.org/a",), normalised_urls=("https://x.org/a",)),
        post("4", "d", 15, hashtags=(nfd,), urls=("https://x.org/a",), normalised_urls=("https://x.org/a",)),
    ]
    accounts = [AccountRecord(platform="x", account_id=a) for a in "abcd"]
    params = EngineParams(min_weight=1, behaviours=("co-link", "co-hashtag"))
    for n_shards in (1, 4):
        seen = {}
        parted = parted_run(posts, accounts, params, 2, n_shards, seen)
        assert render(parted) == render(run(posts, accounts, params))
        for behaviour in params.behaviours:
            objects = [(shard, obj) for shard, p in enumerate(seen["partitions"]) for obj in p[f"obj:{behaviour}"]]
            assert len(set(objects)) == 2, behaviour
            assert len(objects) == 4, behaviour
        edges = parted.edges["co-hashtag"]
        assert sorted(zip(edges.a.tolist(), edges.b.tolist(), strict=True)) == [(0, 1), (2, 3)]
