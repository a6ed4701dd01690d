"""The engine's entry points: run on records, or finalise the partial edges of shards."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np

from detection.engine.arrays import PostArrays, build_arrays, pieces_unique
from detection.engine.budget import pair_budget_check
from detection.engine.coaction import match_codec
from detection.engine.evidence import EdgeDetails, EdgeIndex, describe_pairs, edge_details
from detection.engine.groups import find_groups, multiplex
from detection.engine.params import ENGINE_VERSION, EngineParams
from detection.engine.partition import NpzArrays
from detection.engine.records import AccountRecord, PostRecord
from detection.engine.scoring import KeptEdges, Scores, score
from detection.engine.shards import PartialEdges, shard_edges
from detection.engine.significance import SelectedEdges, edge_stats, select_edges


@dataclass
class BehaviourEdges(SelectedEdges):
    """The kept edges of one behaviour (a < b, sorted), their significance and their details."""

    details: EdgeDetails


@dataclass
class EngineResult:
    """Everything one run found, as arrays indexed by account code (see arrays.account_keys)."""

    params: EngineParams
    arrays: PostArrays
    edges: dict[str, BehaviourEdges]
    groups: list[np.ndarray]
    scores: Scores
    engine_version: str = ENGINE_VERSION
    summary: dict = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        return self.scores.account_score >= self.params.flag_threshold


def run(
    posts: Iterable[PostRecord] | PostArrays,
    accounts: Iterable[AccountRecord] = (),
    params: EngineParams | None = None,
    max_pairs: int | None = None,
) -> EngineResult:
    """Score one sample on one machine: the same as finalising the partials of any number of shards.

    With max_pairs, a run that would build more co-action pairs raises BudgetExceeded before building any.
    """
    params = params or EngineParams()
    arrays = posts if isinstance(posts, PostArrays) else build_arrays(posts, accounts, params)
    if max_pairs is not None:
        pair_budget_check(arrays, params, max_pairs)
    return finalise([shard_edges(arrays, params, 0, 1)], arrays, params)


def finalise(partials: list[PartialEdges], arrays: PostArrays, params: EngineParams) -> EngineResult:
    """Merge the shards' matches, test significance, find groups and score accounts and groups."""
    width = match_codec(arrays, with_rank=False).width
    activity = {b: t.activity for b, t in arrays.objects.items() if t.activity is not None}
    selected = select_edges_of(partials, arrays.account, arrays.n_accounts, width, activity, params)
    details = {b: edge_details(arrays, b, params, s.a, s.b) for b, s in selected.items()}
    return finalise_details(selected, details, arrays, params)


def finalise_from_pairs(
    selected: dict[str, SelectedEdges], shard_pairs: Iterable[NpzArrays], arrays: PostArrays, params: EngineParams
) -> EngineResult:
    """``finalise`` of a run in parts: the kept edges' details from the pairs of posts each shard found for them on
    its own objects (``partition.shard_pairs_from_partition``), not from a sweep of the whole sample. The arrays
    need only the posts' accounts and times and the accounts' records (``parts.reduce_inputs``)."""
    pieces: dict[str, list[np.ndarray]] = {behaviour: [] for behaviour in selected}
    for pairs in shard_pairs:
        for behaviour, found in pieces.items():
            found.append(pairs[f"pairs:{behaviour}"])
    details = {}
    for behaviour, s in selected.items():
        pair_keys = pieces_unique(pieces.pop(behaviour))
        index = EdgeIndex(s.a, s.b, arrays.n_accounts)
        details[behaviour] = describe_pairs(pair_keys, arrays.account, arrays.time, index, params)
    return finalise_details(selected, details, arrays, params)


def finalise_details(
    selected: dict[str, SelectedEdges], details: dict[str, EdgeDetails], arrays: PostArrays, params: EngineParams
) -> EngineResult:
    """Find groups and score accounts and groups from the kept edges of every behaviour and their details."""
    edges = {
        behaviour: BehaviourEdges(**{f.name: getattr(s, f.name) for f in fields(s)}, details=details[behaviour])
        for behaviour, s in selected.items()
    }
    kept = [
        KeptEdges(
            behaviour=e.behaviour,
            a=e.a,
            b=e.b,
            weight=e.weight,
            p_value=e.p_value,
            first_a=e.details.first_a,
            first_b=e.details.first_b,
            pair_edge=e.details.pair_edge,
            pair_post_a=e.details.pair_post_a,
            pair_post_b=e.details.pair_post_b,
        )
        for e in edges.values()
    ]
    ma, mb, mw = multiplex([k.a for k in kept], [k.b for k in kept], [k.weight for k in kept])
    groups = find_groups(ma, mb, mw, arrays.n_accounts, params.seed, params.louvain_resolution)
    scores = score(arrays, kept, groups, params)
    result = EngineResult(params=params, arrays=arrays, edges=edges, groups=groups, scores=scores)
    result.summary = _summary(result)
    return result


def select_edges_of(
    partials: list[PartialEdges],
    account: np.ndarray,
    n_accounts: int,
    width: int,
    activity: dict[str, np.ndarray],
    params: EngineParams,
) -> dict[str, SelectedEdges]:
    """The kept edges of every behaviour from the shards' matches (taken out of the partials as they are merged).

    account: per post, its account (read only for the wide codec, width 0); activity: per behaviour and account,
    its actions (a behaviour without any has none)."""
    _check_partials(partials, n_accounts)
    return {
        behaviour: select_behaviour(partials, account, n_accounts, width, activity.get(behaviour), params, behaviour)
        for behaviour in params.behaviours
    }


def select_behaviour(
    partials: list[PartialEdges],
    account: np.ndarray,
    n_accounts: int,
    width: int,
    activity: np.ndarray | None,
    params: EngineParams,
    behaviour: str,
) -> SelectedEdges:
    """The edges of one behaviour from the shards' matches: weights, significance, and the kept ones."""
    # Each shard's matches are already sorted and distinct; they go from the partials as they are merged.
    parts = [p.matched.pop(behaviour, np.zeros(0, np.int64)) for p in partials]
    matched = parts[0] if len(parts) == 1 else pieces_unique(parts)
    stats = edge_stats(matched, account, n_accounts, width)
    del matched, parts
    crowd = np.zeros(n_accounts, dtype=np.int64)
    for p in partials:
        if behaviour in p.crowd:
            crowd += p.crowd[behaviour]
    activity = activity if activity is not None else np.zeros(n_accounts, dtype=np.int64)
    keep, expected, p_value, q_value = select_edges(stats, activity, crowd, params)
    return SelectedEdges(
        behaviour=behaviour,
        a=stats.a[keep],
        b=stats.b[keep],
        w_ab=stats.w_ab[keep],
        w_ba=stats.w_ba[keep],
        expected=expected,
        p_value=p_value,
        q_value=q_value,
        n_candidates=len(stats.a),
        n_coaction_pairs=sum(p.n_pairs.get(behaviour, 0) for p in partials),
    )


def _check_partials(partials: list[PartialEdges], n_accounts: int) -> None:
    if not partials:
        raise ValueError("finalise needs the partial edges of at least one shard")
    n_shards = partials[0].n_shards
    shards = sorted(p.shard for p in partials)
    if shards != list(range(n_shards)) or any(p.n_shards != n_shards for p in partials):
        raise ValueError(f"finalise needs each of the {n_shards} shards exactly once, got {shards}")
    if any(p.n_accounts != n_accounts for p in partials):
        raise ValueError("the partial edges were computed on different arrays")
    if any(p.engine_version != ENGINE_VERSION for p in partials):
        raise ValueError("the partial edges come from another engine version")


def _summary(result: EngineResult) -> dict:
    params = result.params
    flagged = result.flagged
    return {
        "engine_version": result.engine_version,
        "params": {
            "window_s": params.window_s,
            "behaviours": list(params.behaviours),
            "min_weight": params.min_weight,
            "alpha": params.alpha,
            "min_support": params.min_support,
            "evidence_cap": params.evidence_cap,
            "text_min_chars": params.text_min_chars,
            "shingle_size": params.shingle_size,
            "lsh_bands": params.lsh_bands,
            "lsh_rows": params.lsh_rows,
            "similar_text_threshold": params.similar_text_threshold,
            "flag_threshold": params.flag_threshold,
            "louvain_resolution": params.louvain_resolution,
            "seed": params.seed,
        },
        "selection": "min_weight" if params.min_weight is not None else "significance",
        "posts": result.arrays.n_posts,
        "accounts": result.arrays.n_accounts,
        "behaviours": {
            name: {
                "coaction_pairs": e.n_coaction_pairs,
                "candidate_edges": e.n_candidates,
                "edges": len(e.a),
                "accounts": len(np.unique(np.concatenate([e.a, e.b]))),
            }
            for name, e in result.edges.items()
        },
        "groups": len(result.groups),
        "flagged_accounts": int(np.count_nonzero(flagged)),
    }
