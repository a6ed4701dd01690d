"""The sliding-window sweep: pairs of posts acting on the same object within the window."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from detection.engine.arrays import ObjectTable, PostArrays, sorted_unique
from detection.engine.params import EngineParams


def window_pairs(obj: np.ndarray, t: np.ndarray, window: float, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs (i < j) of actions sorted by (object, time) with the same object and t_j - t_i <= window."""
    n = len(obj)
    if n < 2:
        return
    # Complex numbers sort by (real, imaginary): one searchsorted finds each action's window end
    # inside its own object, exactly, whatever the time resolution.
    key = obj.astype(np.float64) + 1j * t
    hi = np.searchsorted(key, obj.astype(np.float64) + 1j * (t + window), side="right")
    counts = hi - np.arange(n, dtype=np.int64) - 1
    cum = np.cumsum(counts)
    start = 0
    while start < n:
        base = int(cum[start - 1]) if start else 0
        end = max(int(np.searchsorted(cum, base + chunk, side="right")), start + 1)
        c = counts[start:end]
        total = int(c.sum())
        if total:
            ia = np.repeat(np.arange(start, end, dtype=np.int64), c)
            offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
            yield ia, ia + 1 + offsets
        start = end


def behaviour_pairs(
    arrays: PostArrays,
    behaviour: str,
    params: EngineParams,
    object_mask: np.ndarray | None = None,
    account_mask: np.ndarray | None = None,
    same_account: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Post pairs (a, b) of different accounts that co-act in one behaviour, chunk by chunk, each pair once.

    object_mask keeps the objects of one shard; account_mask keeps the posts of some accounts only;
    same_account also yields the pairs of one account's own posts (the null model counts them).
    """
    table = arrays.objects.get(behaviour)
    if table is None or len(table.obj) < 2:
        return
    obj, post = table.obj, table.post
    keep = None
    if object_mask is not None:
        keep = object_mask[obj]
    if account_mask is not None:
        by_account = account_mask[arrays.account[post]]
        keep = by_account if keep is None else keep & by_account
    if keep is not None:
        obj, post = obj[keep], post[keep]
    for ia, ib in window_pairs(obj, arrays.time[post], params.window_s, params.chunk_pairs):
        pa, pb = post[ia], post[ib]
        ok = np.ones(len(pa), dtype=bool) if same_account else arrays.account[pa] != arrays.account[pb]
        if behaviour == "similar-text":
            ok &= _similar_first_band(arrays, table, obj[ia], pa, pb, params)
        yield pa[ok], pb[ok]


def _similar_first_band(
    arrays: PostArrays, table: ObjectTable, obj: np.ndarray, pa: np.ndarray, pb: np.ndarray, params: EngineParams
) -> np.ndarray:
    """Keep a candidate pair only in the first band where it collides, and only if similar enough."""
    assert arrays.text_sig is not None and arrays.text_bands is not None and arrays.text_row is not None
    assert table.band is not None
    out = np.zeros(len(pa), dtype=bool)
    step = max(1, params.chunk_pairs // max(1, params.n_hashes))
    for s in range(0, len(pa), step):
        ra, rb = arrays.text_row[pa[s : s + step]], arrays.text_row[pb[s : s + step]]
        band = table.band[obj[s : s + step]]
        same_band = arrays.text_bands[ra] == arrays.text_bands[rb]
        first_band = np.argmax(same_band, axis=1)
        collides = same_band[np.arange(len(ra)), band]  # the bucket key keeps 58 bits of the band hash
        similar = (arrays.text_sig[ra] == arrays.text_sig[rb]).mean(axis=1) >= params.similar_text_threshold
        out[s : s + step] = similar & collides & (first_band == band)
    return out


def matched_keys(
    arrays: PostArrays, pairs: Iterator[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, int]:
    """From all in-window pairs (own ones included): distinct (post, other account) matches as
    post * n_accounts + account, sorted; each account's crowd (in-window pairs it takes part in); the pair count."""
    n_acc = arrays.n_accounts
    parts: list[np.ndarray] = []
    crowd = np.zeros(n_acc, dtype=np.int64)
    n_pairs = 0
    for pa, pb in pairs:
        ua, ub = arrays.account[pa], arrays.account[pb]
        crowd += np.bincount(ua, minlength=n_acc) + np.bincount(ub, minlength=n_acc)
        other = ua != ub
        pa, pb, ua, ub = pa[other], pb[other], ua[other], ub[other]
        n_pairs += len(pa)
        parts.append(sorted_unique(np.concatenate([pa * n_acc + ub, pb * n_acc + ua])))
    if not parts:
        matched = np.zeros(0, dtype=np.int64)
    else:
        matched = parts[0] if len(parts) == 1 else sorted_unique(np.concatenate(parts))
    return matched, crowd, n_pairs
