"""Edge weights from the matches, and the null model that says which edges chance cannot explain.

Null model, in two sentences: under random mixing, each action within the window of one of u's actions on
the same object is v's with probability v's share of all actions of the behaviour, so u's posts expect
share_v * crowd_u matches by v, where crowd_u counts the actions within the window of u's own (it grows with
u's activity and with the popularity and time density of the objects u touches). Given that a pair co-acts
at all, each direction's count is tested against that Poisson law (P(X >= w) / P(X >= 1)), an edge needs both
directions to be surprising, and Benjamini-Hochberg controls the false discovery rate over the co-acting pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import pdtrc

from detection.engine.params import EngineParams


@dataclass
class EdgeStats:
    """Undirected candidate edges of one behaviour (a < b), with both directed weights."""

    a: np.ndarray
    b: np.ndarray
    w_ab: np.ndarray  # distinct posts of a matched by b within the window
    w_ba: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        """The peers' weight: the larger of the two directed weights."""
        return np.maximum(self.w_ab, self.w_ba)


@dataclass
class SelectedEdges:
    """The kept edges of one behaviour (a < b, sorted) with their weights and significance, before their details."""

    behaviour: str
    a: np.ndarray
    b: np.ndarray
    w_ab: np.ndarray
    w_ba: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    n_candidates: int  # account pairs with at least one co-action
    n_coaction_pairs: int  # post pairs in the window, over all objects

    @property
    def weight(self) -> np.ndarray:
        return np.maximum(self.w_ab, self.w_ba)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for numpy.savez, named ``<field>:<behaviour>``."""
        out = {f"{name}:{self.behaviour}": getattr(self, name) for name in _SELECTED_ARRAYS}
        out[f"counts:{self.behaviour}"] = np.array([self.n_candidates, self.n_coaction_pairs], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray], behaviour: str) -> SelectedEdges:
        """The inverse of to_arrays (accepts a loaded .npz)."""
        n_candidates, n_coaction_pairs = (int(x) for x in data[f"counts:{behaviour}"])
        arrays = {name: data[f"{name}:{behaviour}"] for name in _SELECTED_ARRAYS}
        return cls(behaviour=behaviour, n_candidates=n_candidates, n_coaction_pairs=n_coaction_pairs, **arrays)


_SELECTED_ARRAYS = ("a", "b", "w_ab", "w_ba", "expected", "p_value", "q_value")


def edge_stats(matched: np.ndarray, account_of_post: np.ndarray, n_accounts: int, width: int = 0) -> EdgeStats:
    """Directed weights counted from distinct matches, folded into undirected edges.

    `width` > 0: the matches are packed compactly (see coaction.MatchCodec) and already sorted by undirected
    pair and direction, so the weights are run lengths; 0: the matches are post * n_accounts + account.
    """
    if len(matched) == 0:
        z = np.zeros(0, dtype=np.int64)
        return EdgeStats(a=z, b=z, w_ab=z, w_ba=z)
    if width:
        key = matched // width  # (undirected pair) * 2 + direction, sorted since the matches are
    else:
        u = account_of_post[matched // n_accounts]
        v = matched % n_accounts
        # One sort of (undirected pair, direction) gives both directed weights of every pair.
        key = (np.minimum(u, v) * n_accounts + np.maximum(u, v)) * 2 + (u > v)
        key.sort()
    new_run = np.empty(len(key), dtype=bool)
    new_run[0] = True
    np.not_equal(key[1:], key[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    del new_run
    counts = np.diff(starts, append=len(key))
    directed = key[starts]
    del starts
    pair = directed >> 1
    # Each pair has one run per direction it has: forward (a's posts) first, then backward (b's posts).
    first = np.empty(len(pair), dtype=bool)
    first[0] = True
    np.not_equal(pair[1:], pair[:-1], out=first[1:])
    first_run = np.flatnonzero(first)
    last_run = np.append(first_run[1:], len(pair)) - 1
    forward = (directed[first_run] & 1) == 0
    backward = (directed[last_run] & 1) == 1
    w_ab = np.where(forward, counts[first_run], 0)
    w_ba = np.where(backward, counts[last_run], 0)
    undirected = pair[first_run]
    return EdgeStats(a=undirected // n_accounts, b=undirected % n_accounts, w_ab=w_ab, w_ba=w_ba)


def poisson_test(stats: EdgeStats, activity: np.ndarray, crowd: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Expected co-actions under random mixing, the Poisson tail p-value of each edge, and the family size."""
    total = float(activity.sum())
    if total == 0 or len(stats.a) == 0:
        return np.zeros(len(stats.a)), np.ones(len(stats.a)), 0
    share = activity / total
    expected_ab = share[stats.b] * crowd[stats.a]
    expected_ba = share[stats.a] * crowd[stats.b]
    # One co-action usually adds one to each direction: testing their sum would count it twice.
    p_value = np.maximum(_tail_given_one(stats.w_ab, expected_ab), _tail_given_one(stats.w_ba, expected_ba))
    expected = np.maximum(expected_ab, expected_ba)
    return expected, np.clip(p_value, 0.0, 1.0), len(stats.a)


def _tail_given_one(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """P(X >= observed | X >= 1) for X ~ Poisson(expected)."""
    lam = np.maximum(expected, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = pdtrc(np.maximum(observed - 1, 0), lam) / -np.expm1(-lam)
    return np.where(observed > 1, np.nan_to_num(p, nan=0.0), 1.0)


def bh_qvalues(p_value: np.ndarray, m: int) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values for `p_value` out of a family of m tests (m >= len)."""
    n = len(p_value)
    if n == 0:
        return p_value.copy()
    m = max(m, n)
    order = np.argsort(p_value, kind="stable")
    ranked = p_value[order] * m / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def select_edges(
    stats: EdgeStats, activity: np.ndarray, crowd: np.ndarray, params: EngineParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which edges to keep, by significance or by min_weight: (kept indices, and their expected count,
    p-value and q-value).

    The same figures as poisson_test and bh_qvalues over every candidate, computed where they can differ
    from 1: an edge whose weight is 1 in either direction has p = 1 exactly (one co-action is never
    surprising), so its q-value is 1 too and the others' ranks and q-values do not depend on it.
    """
    n = len(stats.a)
    total = float(activity.sum())
    p_value = np.ones(n)
    q_value = np.ones(n)
    if n and total > 0:
        share = activity / total
        test = np.flatnonzero((stats.w_ab > 1) & (stats.w_ba > 1))
        a, b = stats.a[test], stats.b[test]
        p_test = np.maximum(
            _tail_given_one(stats.w_ab[test], share[b] * crowd[a]),
            _tail_given_one(stats.w_ba[test], share[a] * crowd[b]),
        )
        p_value[test] = np.clip(p_test, 0.0, 1.0)
        q_value[test] = bh_qvalues(p_value[test], n)
    if params.min_weight is not None:
        keep = np.flatnonzero(stats.weight >= params.min_weight)
    else:
        keep = np.flatnonzero((q_value <= params.alpha) & (stats.weight >= params.min_support))
    if total > 0:
        share = activity / total
        a, b = stats.a[keep], stats.b[keep]
        expected = np.maximum(share[b] * crowd[a], share[a] * crowd[b])
    else:
        expected = np.zeros(len(keep))
    return keep, expected, p_value[keep], q_value[keep]
