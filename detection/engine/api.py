"""The engine's entry points: run on records, or finalise the partial edges of shards."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from detection.engine.arrays import PostArrays, build_arrays, sorted_unique
from detection.engine.budget import pair_budget_check
from detection.engine.coaction import match_codec
from detection.engine.evidence import EdgeDetails, edge_details
from detection.engine.groups import find_groups, multiplex
from detection.engine.params import ENGINE_VERSION, EngineParams
from detection.engine.records import AccountRecord, PostRecord
from detection.engine.scoring import KeptEdges, Scores, score
from detection.engine.shards import PartialEdges, shard_edges
from detection.engine.significance import EdgeStats, edge_stats, select_edges


@dataclass
class BehaviourEdges:
    """The kept edges of one behaviour (a < b, sorted), their significance and their details."""

    behaviour: str
    a: np.ndarray
    b: np.ndarray
    w_ab: np.ndarray
    w_ba: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    details: EdgeDetails
    n_candidates: int  # account pairs with at least one co-action
    n_coaction_pairs: int  # post pairs in the window, over all objects

    @property
    def weight(self) -> np.ndarray:
        return np.maximum(self.w_ab, self.w_ba)


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
    edges = merge_edges(partials, arrays, params)
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


@dataclass
class Selected:
    """One behaviour's candidate edges merged over the shards, and which of them are kept."""

    stats: EdgeStats
    keep: np.ndarray  # indices into stats of the kept edges
    expected: np.ndarray  # of the kept edges
    p_value: np.ndarray
    q_value: np.ndarray
    n_coaction_pairs: int

    @property
    def a(self) -> np.ndarray:
        return self.stats.a[self.keep]

    @property
    def b(self) -> np.ndarray:
        return self.stats.b[self.keep]


def select_behaviour(
    partials: list[PartialEdges], arrays: PostArrays, params: EngineParams, behaviour: str
) -> Selected:
    """The edges of one behaviour from the shards' matches: weights, significance, and the kept ones."""
    parts = [p.matched.get(behaviour, np.zeros(0, np.int64)) for p in partials]
    matched = parts[0] if len(parts) == 1 else sorted_unique(np.concatenate(parts))
    stats = edge_stats(matched, arrays.account, arrays.n_accounts, match_codec(arrays, with_rank=False).width)
    crowd = np.zeros(arrays.n_accounts, dtype=np.int64)
    for p in partials:
        if behaviour in p.crowd:
            crowd += p.crowd[behaviour]
    table = arrays.objects.get(behaviour)
    activity = table.activity if table is not None and table.activity is not None else crowd * 0
    keep, expected, p_value, q_value = select_edges(stats, activity, crowd, params)
    n_pairs = sum(p.n_pairs.get(behaviour, 0) for p in partials)
    return Selected(stats, keep, expected, p_value, q_value, n_pairs)


def merge_edges(partials: list[PartialEdges], arrays: PostArrays, params: EngineParams) -> dict[str, BehaviourEdges]:
    """Merge the shards' matches into the kept edges of every behaviour, with significance and evidence."""
    _check_partials(partials, arrays)
    edges: dict[str, BehaviourEdges] = {}
    for behaviour in params.behaviours:
        sel = select_behaviour(partials, arrays, params, behaviour)
        a, b = sel.a, sel.b
        edges[behaviour] = BehaviourEdges(
            behaviour=behaviour,
            a=a,
            b=b,
            w_ab=sel.stats.w_ab[sel.keep],
            w_ba=sel.stats.w_ba[sel.keep],
            expected=sel.expected,
            p_value=sel.p_value,
            q_value=sel.q_value,
            details=edge_details(arrays, behaviour, params, a, b),
            n_candidates=len(sel.stats.a),
            n_coaction_pairs=sel.n_coaction_pairs,
        )
    return edges


def _check_partials(partials: list[PartialEdges], arrays: PostArrays) -> None:
    if not partials:
        raise ValueError("finalise needs the partial edges of at least one shard")
    n_shards = partials[0].n_shards
    shards = sorted(p.shard for p in partials)
    if shards != list(range(n_shards)) or any(p.n_shards != n_shards for p in partials):
        raise ValueError(f"finalise needs each of the {n_shards} shards exactly once, got {shards}")
    if any(p.n_accounts != arrays.n_accounts for p in partials):
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
