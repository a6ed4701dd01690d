"""Per kept edge: the post pairs that make it, who acts first, and how close in time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.engine.arrays import PostArrays, hash_bits, sorted_unique
from detection.engine.coaction import behaviour_pairs
from detection.engine.params import EngineParams


@dataclass
class EdgeDetails:
    """Details of the kept edges of one behaviour, aligned with the edges (a < b)."""

    first_a: np.ndarray  # distinct post pairs where a acted first
    first_b: np.ndarray
    median_dt: np.ndarray  # median |dt| in seconds over the edge's distinct post pairs
    n_pairs: np.ndarray
    ev_edge: np.ndarray  # evidence rows: edge index, post of a, post of b, dt (t_b - t_a)
    ev_post_a: np.ndarray
    ev_post_b: np.ndarray
    ev_dt: np.ndarray
    pair_edge: np.ndarray  # every distinct pair: edge index and posts, for account-level signals
    pair_post_a: np.ndarray
    pair_post_b: np.ndarray


def edge_details(arrays: PostArrays, behaviour: str, params: EngineParams, a: np.ndarray, b: np.ndarray) -> EdgeDetails:
    """Sweep again, restricted to the accounts of the kept edges, and describe every kept edge."""
    n_acc = arrays.n_accounts
    n_edges = len(a)
    edge_keys = a * n_acc + b  # sorted, as the edges are
    involved = np.zeros(n_acc, dtype=bool)
    involved[a] = True
    involved[b] = True
    parts_pa, parts_pb = [], []
    if n_edges:
        # A bit table of the edges' hashes turns most pairs away before the exact look-up.
        bits = min(max(int(n_edges * 16).bit_length(), 10), 28)
        table = np.zeros(1 << bits, dtype=bool)
        table[hash_bits(edge_keys, bits)] = True
        for pa, pb in behaviour_pairs(arrays, behaviour, params, account_mask=involved):
            ua, ub = arrays.account[pa], arrays.account[pb]
            key = np.minimum(ua, ub) * n_acc + np.maximum(ua, ub)
            maybe = np.flatnonzero(table[hash_bits(key, bits)])
            key, pa, pb, ua, ub = key[maybe], pa[maybe], pb[maybe], ua[maybe], ub[maybe]
            idx = np.searchsorted(edge_keys, key)
            hit = (idx < n_edges) & (edge_keys[np.minimum(idx, n_edges - 1)] == key)
            swap = ua > ub
            pa, pb = np.where(swap, pb, pa), np.where(swap, pa, pb)
            parts_pa.append(pa[hit])
            parts_pb.append(pb[hit])
    pa = np.concatenate(parts_pa) if parts_pa else np.zeros(0, np.int64)
    pb = np.concatenate(parts_pb) if parts_pb else np.zeros(0, np.int64)
    # A pair of posts sharing two objects (two URLs) is one pair of posts; the posts determine the edge.
    n_posts = arrays.n_posts
    pair_key = sorted_unique(pa * n_posts + pb)
    pa, pb = pair_key // n_posts, pair_key % n_posts
    e = np.searchsorted(edge_keys, arrays.account[pa] * n_acc + arrays.account[pb])
    dt = arrays.time[pb] - arrays.time[pa]
    # Stable: ties in (edge, |dt|) stay in (post a, post b) order.
    order = np.lexsort((np.abs(dt), e))
    e, pa, pb, dt = e[order], pa[order], pb[order], dt[order]
    n_pairs = np.bincount(e, minlength=n_edges)
    first_a = np.bincount(e[dt > 0], minlength=n_edges)
    first_b = np.bincount(e[dt < 0], minlength=n_edges)
    start = np.concatenate(([0], np.cumsum(n_pairs)[:-1])).astype(np.int64)
    absdt = np.abs(dt)
    median_dt = np.zeros(n_edges)
    has = n_pairs > 0
    lo_i = start[has] + (n_pairs[has] - 1) // 2
    hi_i = start[has] + n_pairs[has] // 2
    median_dt[has] = (absdt[lo_i] + absdt[hi_i]) / 2
    rank = np.arange(len(e)) - start[e] if len(e) else np.zeros(0, np.int64)
    ev = rank < params.evidence_cap
    return EdgeDetails(
        first_a=first_a,
        first_b=first_b,
        median_dt=median_dt,
        n_pairs=n_pairs,
        ev_edge=e[ev],
        ev_post_a=pa[ev],
        ev_post_b=pb[ev],
        ev_dt=dt[ev],
        pair_edge=e,
        pair_post_a=pa,
        pair_post_b=pb,
    )
