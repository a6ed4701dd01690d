"""The sliding-window sweep: pairs of posts acting on the same object within the window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from detection.engine.arrays import ObjectTable, PostArrays, extend_in_place, unique_in_place
from detection.engine.params import EngineParams


def _pairs_from(obj: np.ndarray, t: np.ndarray, window: float) -> np.ndarray:
    """Per action, sorted by (object, time): the later actions on its object within the window."""
    # Complex numbers sort by (real, imaginary): one searchsorted finds each action's window end
    # inside its own object, exactly, whatever the time resolution.
    key = obj.astype(np.float64) + 1j * t
    hi = np.searchsorted(key, obj.astype(np.float64) + 1j * (t + window), side="right")
    return hi - np.arange(len(obj), dtype=np.int64) - 1


def window_pairs(obj: np.ndarray, t: np.ndarray, window: float, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs (i < j) of actions sorted by (object, time) with the same object and t_j - t_i <= window."""
    n = len(obj)
    if n < 2:
        return
    counts = _pairs_from(obj, t, window)
    cum = np.cumsum(counts)
    start = 0
    while start < n:
        base = int(cum[start - 1]) if start else 0
        end = max(int(np.searchsorted(cum, base + chunk, side="right")), start + 1)
        if cum[end - 1] > base:
            yield _chunk_pairs(counts[start:end], start)
        start = end


def _chunk_pairs(counts: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of actions start, start + 1, ... with counts[k] later actions each: built in a function of its
    own, so that window_pairs holds none of them while its caller works on them."""
    ia = np.repeat(np.arange(start, start + len(counts), dtype=np.int64), counts)
    ib = np.arange(len(ia), dtype=np.int64)
    ib -= np.repeat(np.cumsum(counts) - counts, counts)
    ib += ia
    ib += 1
    return ia, ib


def pair_counts(arrays: PostArrays, params: EngineParams) -> dict[str, int]:
    """Per behaviour of the run: the post pairs its sweep builds (exactly what window_pairs yields, own pairs
    and, for similar-text, every band's candidates included), counted without building any."""
    counts = {}
    for behaviour in params.behaviours:
        table = arrays.objects.get(behaviour)
        if table is None or len(table.obj) < 2:
            counts[behaviour] = 0
        else:
            counts[behaviour] = int(_pairs_from(table.obj, arrays.time[table.post], params.window_s).sum())
    return counts


def similar_first_band(
    band: np.ndarray,
    text_row: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    text_bands: np.ndarray,
    text_sig: np.ndarray,
    params: EngineParams,
) -> np.ndarray:
    """Keep a candidate pair only in the first band where it collides, and only if similar enough.

    Per pair: `band` is the LSH band of its bucket, and text_row[a], text_row[b] the rows of its two posts in
    text_bands and text_sig (any rows holding the same values will do).
    """
    out = np.zeros(len(a), dtype=bool)
    step = max(1, params.chunk_pairs // max(1, params.n_hashes))
    for s in range(0, len(a), step):
        ra, rb = text_row[a[s : s + step]], text_row[b[s : s + step]]
        same_band = text_bands[ra] == text_bands[rb]
        first_band = np.argmax(same_band, axis=1)
        collides = same_band[np.arange(len(ra)), band[s : s + step]]  # the bucket key keeps 58 bits of the band hash
        # The signatures are compared only for the pairs that pass: the same figure as .mean(axis=1).
        cand = np.flatnonzero(collides & (first_band == band[s : s + step]))
        agree = np.count_nonzero(text_sig[ra[cand]] == text_sig[rb[cand]], axis=1)
        out[s + cand] = agree / text_sig.shape[1] >= params.similar_text_threshold
    return out


@dataclass(frozen=True)
class MatchCodec:
    """How one directed match (a post of account u matched by account v) is packed into one int64.

    Compact (width > 0): ((min(u, v) * n + max(u, v)) * 2 + (u > v)) * width + the post's number, so that
    one sort both removes repeated matches and groups them by undirected pair and direction: the directed
    weights are then run lengths. The post's number is its index (width = posts) when that fits in 63 bits,
    else its rank among its account's posts (width = posts of the busiest account). When neither fits,
    width is 0 and the key is post * n + v, as wide as the sample needs; the weights then take one more sort.
    """

    n_accounts: int
    width: int
    rank: np.ndarray | None = None  # per post: its rank among its account's posts; None: its index


_LIMIT = 2**63


def match_codec(arrays: PostArrays, with_rank: bool = True) -> MatchCodec:
    """The codec of a run: depends only on the arrays, so every shard and the finalise step agree.
    Decoding needs only the width (with_rank=False skips the per-post ranks)."""
    n_acc, n = arrays.n_accounts, arrays.n_posts
    if n_acc * n_acc * 2 * max(n, 1) < _LIMIT:
        return MatchCodec(n_accounts=n_acc, width=max(n, 1))
    return ranked_codec(arrays, with_rank)


def ranked_codec(arrays: PostArrays, with_rank: bool = True) -> MatchCodec:
    """The codec by rank among the account's posts, or the wide one when even that does not fit."""
    n_acc, n = arrays.n_accounts, arrays.n_posts
    per_account = np.bincount(arrays.account, minlength=n_acc)
    width = int(per_account.max())
    if n == 0 or n_acc * n_acc * 2 * width >= _LIMIT:
        return MatchCodec(n_accounts=n_acc, width=0)
    if not with_rank:
        return MatchCodec(n_accounts=n_acc, width=width)
    order = np.argsort(arrays.account, kind="stable")
    first = np.concatenate(([0], np.cumsum(per_account)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64) - first[arrays.account[order]]
    return MatchCodec(n_accounts=n_acc, width=width, rank=rank)


@dataclass
class Actions:
    """One behaviour's actions on some of its objects, sorted by (object, time, post): all that its sweep reads.

    Any codes that keep that order will do for the objects and the text rows, so a shard can hold its own.
    """

    obj: np.ndarray  # int64 object code per action
    post: np.ndarray  # int64 post index per action
    account: np.ndarray  # int64 account code per action
    time: np.ndarray  # float64 epoch seconds per action
    number: np.ndarray | None  # int64 per action: its post's number in the MatchCodec; None for the wide codec
    band: np.ndarray | None = None  # similar-text only: the LSH band of each object code
    text_row: np.ndarray | None = None  # similar-text only: per action, its row in text_sig and text_bands
    text_sig: np.ndarray | None = None
    text_bands: np.ndarray | None = None


def actions_of_accounts(actions: Actions, accounts: np.ndarray) -> Actions:
    """The actions of the accounts a boolean mask keeps (the objects' and texts' tables are shared)."""
    keep = accounts[actions.account]
    return replace(
        actions,
        obj=actions.obj[keep],
        post=actions.post[keep],
        account=actions.account[keep],
        time=actions.time[keep],
        number=None if actions.number is None else actions.number[keep],
        text_row=None if actions.text_row is None else actions.text_row[keep],
    )


def actions_pairs(actions: Actions, behaviour: str, params: EngineParams) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs (i, j) of actions of different accounts that co-act in one behaviour, as indices into the actions,
    chunk by chunk, each pair once."""
    for ia, ib in window_pairs(actions.obj, actions.time, params.window_s, params.chunk_pairs):
        if behaviour == "similar-text":
            assert actions.band is not None and actions.text_row is not None
            assert actions.text_bands is not None and actions.text_sig is not None
            ok = similar_first_band(
                actions.band[actions.obj[ia]], actions.text_row, ia, ib, actions.text_bands, actions.text_sig, params
            )
            ia, ib = ia[ok], ib[ok]
        other = actions.account[ia] != actions.account[ib]
        yield ia[other], ib[other]


def table_actions(
    arrays: PostArrays, table: ObjectTable, codec: MatchCodec | None, object_mask: np.ndarray | None = None
) -> Actions:
    """The actions of one table (those on the objects object_mask keeps), with what the sweep reads of them
    (without codec: without the posts' numbers, which only the matches need)."""
    obj, post = table.obj, table.post
    if object_mask is not None:
        keep = object_mask[obj]
        obj, post = obj[keep], post[keep]
    actions = Actions(
        obj=obj,
        post=post,
        account=arrays.account[post],
        time=arrays.time[post],
        number=(post if codec.rank is None else codec.rank[post]) if codec is not None and codec.width else None,
    )
    if table.band is not None:
        assert arrays.text_row is not None
        actions.band = table.band
        actions.text_row = arrays.text_row[post]
        actions.text_sig, actions.text_bands = arrays.text_sig, arrays.text_bands
    return actions


def matched_keys(
    arrays: PostArrays,
    behaviour: str,
    params: EngineParams,
    codec: MatchCodec,
    object_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The sweep of one behaviour over the arrays (the objects object_mask keeps): see actions_matched_keys."""
    table = arrays.objects.get(behaviour)
    if table is None or len(table.obj) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(arrays.n_accounts, dtype=np.int64), 0
    actions = table_actions(arrays, table, codec, object_mask)
    return actions_matched_keys(actions, behaviour, params, codec.n_accounts, codec.width)


def actions_matched_keys(
    actions: Actions, behaviour: str, params: EngineParams, n_accounts: int, width: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """From all in-window pairs of one behaviour's actions (own ones included): its distinct directed matches
    packed by the MatchCodec of that width, sorted; each account's crowd (in-window pairs it takes part in); the
    count of pairs of different accounts.

    Memory: a hot shard's sweep gathers hundreds of MB of keys. Each chunk's keys are built in one array, sorted
    and deduplicated in place, and appended to one buffer grown in place, which is sorted and deduplicated in
    place at the end: the peak is the keys gathered plus one chunk's work, where keeping the chunks' keys apart,
    then their concatenation, its sorted copy and the distinct ones all at once took four times the output. One
    in-place sort of the buffer is also faster here than merging the chunks' sorted runs pairwise.
    """
    n_acc = n_accounts
    crowd = np.zeros(n_acc, dtype=np.int64)
    obj, acc = actions.obj, actions.account
    number = actions.number if actions.number is not None else actions.post
    matched = np.zeros(0, dtype=np.int64)
    n_pairs = n_chunks = 0
    for ia, ib in window_pairs(obj, actions.time, params.window_s, params.chunk_pairs):
        if behaviour == "similar-text":
            assert actions.band is not None and actions.text_row is not None
            assert actions.text_bands is not None and actions.text_sig is not None
            ok = similar_first_band(
                actions.band[obj[ia]], actions.text_row, ia, ib, actions.text_bands, actions.text_sig, params
            )
            ia, ib = ia[ok], ib[ok]
        ua, ub = acc[ia], acc[ib]
        crowd += np.bincount(ua, minlength=n_acc)
        crowd += np.bincount(ub, minlength=n_acc)
        other = ua != ub
        ua, ub = ua[other], ub[other]
        na, nb = number[ia[other]], number[ib[other]]
        del ia, ib, other
        n_pairs += len(ua)
        keys = _match_keys(ua, ub, na, nb, n_acc, width)
        del ua, ub, na, nb
        keys.sort()
        keys = unique_in_place(keys)
        matched = extend_in_place(matched, keys) if n_chunks else keys
        n_chunks += 1
        del keys
    if n_chunks > 1:
        matched.sort()
        matched = unique_in_place(matched)
    return matched, crowd, n_pairs


def _match_keys(ua: np.ndarray, ub: np.ndarray, na: np.ndarray, nb: np.ndarray, n_acc: int, width: int) -> np.ndarray:
    """Both directed matches of each pair (post na of account ua matched by ub, post nb of ub matched by ua), packed
    by the MatchCodec of that width (na, nb: the posts' numbers; for the wide codec, their indices), in one new
    array: the first half the matches of the a side, the second those of the b side."""
    n = len(ua)
    keys = np.empty(2 * n, dtype=np.int64)
    first, second = keys[:n], keys[n:]
    if width:
        backward = ua > ub
        np.minimum(ua, ub, out=first)
        first *= n_acc
        first += np.maximum(ua, ub)
        first *= 2
        np.add(first, ~backward, out=second)
        first += backward
        first *= width
        first += na
        second *= width
        second += nb
    else:
        np.multiply(na, n_acc, out=first)
        first += ub
        np.multiply(nb, n_acc, out=second)
        second += ua
    return keys
