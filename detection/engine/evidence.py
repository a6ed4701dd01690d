"""Per kept edge: the post pairs that make it, who acts first, and how close in time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.engine.arrays import PostArrays, hash_bits, pieces_unique, sorted_unique
from detection.engine.coaction import Actions, actions_of_accounts, actions_pairs, table_actions
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


class EdgeIndex:
    """The kept edges of one behaviour (a < b, sorted), to find which pairs of posts make one of them."""

    def __init__(self, a: np.ndarray, b: np.ndarray, n_accounts: int):
        self.n_accounts = n_accounts
        self.keys = a * n_accounts + b  # sorted, as the edges are
        self.involved = np.zeros(n_accounts, dtype=bool)
        self.involved[a] = True
        self.involved[b] = True

    def __len__(self) -> int:
        return len(self.keys)

    def pair_keys(self, actions: Actions, behaviour: str, params: EngineParams, n_posts: int) -> np.ndarray:
        """The distinct pairs of posts among the actions that make a kept edge, as post_a * n_posts + post_b
        sorted, with post_a the post of the edge's account a. A pair of posts sharing two objects (two URLs) is
        one pair of posts."""
        n_acc, n_edges = self.n_accounts, len(self.keys)
        if not n_edges or len(actions.obj) < 2:
            return np.zeros(0, dtype=np.int64)
        actions = actions_of_accounts(actions, self.involved)
        # A bit table of the edges' hashes turns most pairs away before the exact look-up.
        bits = min(max(int(n_edges * 16).bit_length(), 10), 28)
        table = np.zeros(1 << bits, dtype=bool)
        table[hash_bits(self.keys, bits)] = True
        parts = []
        for ia, ib in actions_pairs(actions, behaviour, params):
            ua, ub = actions.account[ia], actions.account[ib]
            key = np.minimum(ua, ub) * n_acc + np.maximum(ua, ub)
            maybe = np.flatnonzero(table[hash_bits(key, bits)])
            key, ia, ib, ua, ub = key[maybe], ia[maybe], ib[maybe], ua[maybe], ub[maybe]
            idx = np.searchsorted(self.keys, key)
            hit = (idx < n_edges) & (self.keys[np.minimum(idx, n_edges - 1)] == key)
            pa, pb = actions.post[ia[hit]], actions.post[ib[hit]]
            swap = ua[hit] > ub[hit]
            parts.append(sorted_unique(np.where(swap, pb, pa) * n_posts + np.where(swap, pa, pb)))
        return pieces_unique(parts)


def edge_details(arrays: PostArrays, behaviour: str, params: EngineParams, a: np.ndarray, b: np.ndarray) -> EdgeDetails:
    """Sweep again, restricted to the accounts of the kept edges, and describe every kept edge."""
    index = EdgeIndex(a, b, arrays.n_accounts)
    table = arrays.objects.get(behaviour)
    if table is None:
        pair_keys = np.zeros(0, dtype=np.int64)
    else:
        pair_keys = index.pair_keys(table_actions(arrays, table, None), behaviour, params, arrays.n_posts)
    return describe_pairs(pair_keys, arrays.account, arrays.time, index, params)


def describe_pairs(
    pair_keys: np.ndarray, account: np.ndarray, time: np.ndarray, index: EdgeIndex, params: EngineParams
) -> EdgeDetails:
    """Every kept edge described from its distinct pairs of posts (``EdgeIndex.pair_keys``, over every object):
    who acts first, the median lag, and the evidence rows, closest in time first."""
    n_posts, n_acc, n_edges = len(account), index.n_accounts, len(index)
    pa, pb = pair_keys // n_posts, pair_keys % n_posts
    e = np.searchsorted(index.keys, account[pa] * n_acc + account[pb])
    dt = time[pb] - time[pa]
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
