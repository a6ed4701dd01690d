"""Edge weights from the matches, and the null model that says which edges chance cannot explain.

Null model, in two sentences: under random mixing, each co-action an account takes part in lands on any
other account in proportion to that account's share of all co-actions of the behaviour (its strength, which
grows with both its activity and the popularity and time density of the objects it touches), so a pair
expects s_u * s_v / S co-actions. The observed count is tested against a Poisson tail with that mean, and
Benjamini-Hochberg controls the false discovery rate over all pairs of active accounts.
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
    strength: np.ndarray  # per account: sum of its directed weights, both ways

    @property
    def weight(self) -> np.ndarray:
        """The peers' weight: the larger of the two directed weights."""
        return np.maximum(self.w_ab, self.w_ba)


def edge_stats(matched: np.ndarray, account_of_post: np.ndarray, n_accounts: int) -> EdgeStats:
    """Directed weights counted from distinct (post, other account) matches, folded into undirected edges."""
    u = account_of_post[matched // n_accounts]
    v = matched % n_accounts
    directed, w = np.unique(u * n_accounts + v, return_counts=True)
    du, dv = directed // n_accounts, directed % n_accounts
    lo, hi = np.minimum(du, dv), np.maximum(du, dv)
    undirected, inverse = np.unique(lo * n_accounts + hi, return_inverse=True)
    w_ab = np.zeros(len(undirected), dtype=np.int64)
    w_ba = np.zeros(len(undirected), dtype=np.int64)
    forward = du < dv
    w_ab[inverse[forward]] = w[forward]
    w_ba[inverse[~forward]] = w[~forward]
    strength = np.bincount(du, weights=w, minlength=n_accounts) + np.bincount(dv, weights=w, minlength=n_accounts)
    return EdgeStats(a=undirected // n_accounts, b=undirected % n_accounts, w_ab=w_ab, w_ba=w_ba, strength=strength)


def poisson_test(stats: EdgeStats) -> tuple[np.ndarray, np.ndarray, int]:
    """Expected co-actions under random mixing, the Poisson tail p-value of each edge, and the family size."""
    total = float(stats.strength.sum())
    observed = stats.w_ab + stats.w_ba
    if total == 0 or len(observed) == 0:
        return np.zeros(len(observed)), np.ones(len(observed)), 0
    expected = stats.strength[stats.a] * stats.strength[stats.b] / total
    p_value = pdtrc(observed - 1, expected)
    active = int(np.count_nonzero(stats.strength))
    return expected, np.clip(p_value, 0.0, 1.0), active * (active - 1) // 2


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


def select_edges(stats: EdgeStats, params: EngineParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which edges to keep: (keep mask, expected, p-value, q-value), by significance or by min_weight."""
    expected, p_value, m = poisson_test(stats)
    q_value = bh_qvalues(p_value, m)
    if params.min_weight is not None:
        keep = stats.weight >= params.min_weight
    else:
        keep = (q_value <= params.alpha) & (stats.weight >= params.min_support)
    return keep, expected, p_value, q_value
