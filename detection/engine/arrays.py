"""Compact, order-independent numpy arrays built from sample records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, compress, count, repeat
from operator import attrgetter

import numpy as np

from detection.engine.params import EngineParams
from detection.engine.records import AccountRecord, PostRecord, merge_post
from detection.engine.textsim import band_hashes, minhash_signatures, normalise_texts

SEP = "\x1f"  # joins platform and id in keys; never appears in ids read from text formats


@dataclass
class ObjectTable:
    """The actions of one behaviour: which post acted on which object, sorted by (object, time, post)."""

    keys: list[str]  # object keys, sorted; object code i is keys[i] (empty for similar-text: see bucket_key)
    obj: np.ndarray  # int64 object code per action
    post: np.ndarray  # int64 post index per action
    band: np.ndarray | None = None  # similar-text only: LSH band of each object
    bucket_key: np.ndarray | None = None  # similar-text only: uint64 (band, band hash) of each object
    activity: np.ndarray | None = None  # int64 per account: its actions in this behaviour, lone ones included


@dataclass
class PostArrays:
    """All posts of a run as arrays, indexed by post order (sorted by platform, post id)."""

    post_keys: list[str]  # "platform<SEP>post_id", sorted; empty in a run's reduce, which names posts by database key
    account_keys: list[str]  # "platform<SEP>account_id", sorted
    account: np.ndarray  # int64 account code per post
    time: np.ndarray  # float64 epoch seconds per post
    objects: dict[str, ObjectTable]
    text_sig: np.ndarray | None = None  # uint64 (n_distinct_texts, n_hashes) MinHash
    text_bands: np.ndarray | None = None  # uint64 (n_distinct_texts, bands)
    text_row: np.ndarray | None = None  # int64 per post: its row in text_sig, -1 when it takes no part
    accounts: dict[str, AccountRecord] = field(default_factory=dict)  # account key -> record
    handles: dict[str, str] = field(default_factory=dict)  # account key -> handle seen on posts

    @property
    def n_posts(self) -> int:
        return len(self.time)

    @property
    def n_accounts(self) -> int:
        return len(self.account_keys)


def _merge(a: PostRecord, b: PostRecord) -> PostRecord:
    """Two rows of one post (CooRTweet's German layout writes one row per object) merged by `merge_post`.

    The row taken first is the earlier by `_record_order`, whichever of the two comes first in the input.
    Before `merge_post` this merge took the union of two lists in sorted order. The arrays never look at the
    order of a post's items (each behaviour sorts its objects, and its actions by object and time), so only a
    row that names one item twice (a URL written twice) can come out differently: how many times the merged
    post names it, which counts in its account's activity for that behaviour.
    """
    return merge_post(a, b) if _record_order(a) <= _record_order(b) else merge_post(b, a)


def _record_order(r: PostRecord) -> tuple:
    return (r.created_at.timestamp(), r.account_id, r.reshare_of, r.reply_to, r.text, r.quote_of, r.handle)


def factorise(keys: list[str], sort: bool = True) -> tuple[list[str], np.ndarray]:
    """Distinct keys, sorted (else in first-seen order), and each key's code (its index there).

    Sorted codes never depend on the order of `keys`; first-seen ones do, so leave `sort` on unless the keys
    come in post order. One pass over the keys in C (dict.setdefault through map), never per key in Python:
    each key gets the position where it was first seen, and an array maps those to codes.
    """
    index: dict[str, int] = {}
    first = np.fromiter(map(index.setdefault, keys, count()), dtype=np.int64, count=len(keys))
    distinct = list(index)
    seen_at = np.fromiter(index.values(), dtype=np.int64, count=len(distinct))
    code_of_position = np.empty(len(keys), dtype=np.int64)
    if sort:
        order = sorted(range(len(distinct)), key=distinct.__getitem__)
        distinct = list(map(distinct.__getitem__, order))
        seen_at = seen_at[order]
    code_of_position[seen_at] = np.arange(len(distinct), dtype=np.int64)
    return distinct, code_of_position[first]


def hash_bits(key: np.ndarray, bits: int) -> np.ndarray:
    """The top `bits` bits of a multiplicative (Fibonacci) hash of 64-bit keys, as indices."""
    with np.errstate(over="ignore"):
        return ((key.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.intp)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique for int64 keys by one sort (faster than numpy's hash-based unique at this size), of a copy that
    is then deduplicated in place: x and one copy at the peak."""
    if len(x) == 0:
        return x
    return unique_in_place(np.sort(x))


def pieces_unique(pieces: list[np.ndarray]) -> np.ndarray:
    """The distinct int64 keys of several arrays, sorted; empties the list, so that each piece goes as soon as it
    is copied: the pieces and one copy at the peak, then the copy alone."""
    if not pieces:
        return np.zeros(0, dtype=np.int64)
    if len(pieces) == 1:
        return sorted_unique(pieces.pop())
    keys = np.concatenate(pieces)
    pieces.clear()
    keys.sort()
    return unique_in_place(keys)


_BLOCK = 1 << 20


def unique_in_place(s: np.ndarray) -> np.ndarray:
    """Sorted int64 keys without their repeats, in their own buffer: s itself, shrunk to the keys it keeps.

    s must own its buffer and no other array may view it (ndarray.resize reallocates it). The kept keys move to
    the front a block at a time, so the only copy is of one block, and the realloc gives the tail back.
    """
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    if keep.all():
        return s
    kept = 0
    for start in range(0, len(s), _BLOCK):
        block = s[start : start + _BLOCK][keep[start : start + _BLOCK]]
        s[kept : kept + len(block)] = block
        kept += len(block)
    s.resize(kept, refcheck=False)
    return s


def extend_in_place(s: np.ndarray, values: np.ndarray) -> np.ndarray:
    """s with values appended, in s's own buffer grown by realloc (a large buffer grows by remapping its pages,
    never by copying them beside a second buffer). s must own its buffer and no other array may view it."""
    n = len(s)
    s.resize(n + len(values), refcheck=False)
    s[n:] = values
    return s


@dataclass
class TimeOrder:
    """The posts in (time, post) order, and each post's rank there: one sort serves every table."""

    by_time: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, time: np.ndarray) -> TimeOrder:
        by_time = np.argsort(time, kind="stable")
        rank = np.empty(len(time), dtype=np.int64)
        rank[by_time] = np.arange(len(time), dtype=np.int64)
        return cls(by_time=by_time, rank=rank)


def _table(
    post: np.ndarray, obj: np.ndarray, n_objects: int, order: TimeOrder, dedupe: bool = True
) -> tuple[ObjectTable, np.ndarray]:
    """Sort actions by (object, time, post); drop repeated actions and objects only one post touches."""
    n = len(order.rank)
    # One int64 sort: (object, time rank) orders by (object, time, post), and a repeated key is one post
    # naming an object twice (a URL written twice): it is one action.
    key = obj * n + order.rank[post]
    key = sorted_unique(key) if dedupe else np.sort(key)
    obj, post = key // n, order.by_time[key % n]
    counts = np.bincount(obj, minlength=n_objects)
    kept_objects = np.flatnonzero(counts >= 2)
    if len(kept_objects) < n_objects:
        recode = np.full(n_objects, -1, dtype=np.int64)
        recode[kept_objects] = np.arange(len(kept_objects))
        keep = counts[obj] >= 2
        obj, post = recode[obj[keep]], post[keep]
    return ObjectTable(keys=[], obj=obj, post=post), kept_objects


def _ordered_posts(posts: list[PostRecord]) -> list[PostRecord]:
    """The posts sorted by (platform, post id), rows of one post merged."""
    ids = list(map(attrgetter("post_id"), posts))
    platforms = set(map(attrgetter("platform"), posts))
    keys: list = ids if len(platforms) <= 1 else list(zip(map(attrgetter("platform"), posts), ids, strict=True))
    if len(set(keys)) == len(keys):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return list(map(posts.__getitem__, order))
    merged: dict[tuple[str, str], PostRecord] = {}
    for rec in posts:
        key = (rec.platform, rec.post_id)
        prev = merged.get(key)
        merged[key] = rec if prev is None else _merge(prev, rec)
    return [merged[k] for k in sorted(merged)]


def _flatten(index: np.ndarray, lists: list[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    """(post index of each item, the items) of per-post tuples."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return np.repeat(index, lengths), list(chain.from_iterable(lists))


def build_arrays(
    posts: Iterable[PostRecord], accounts: Iterable[AccountRecord] = (), params: EngineParams | None = None
) -> PostArrays:
    """Turn records (any order, duplicates merged by platform and post id) into the engine's arrays."""
    params = params or EngineParams()
    ordered = _ordered_posts(posts if isinstance(posts, list) else list(posts))
    accounts = list(accounts)
    n = len(ordered)
    post_platform = list(map(attrgetter("platform"), ordered))
    platforms = set(post_platform) | set(map(attrgetter("platform"), accounts))
    # With one platform (the usual case) keys are factorised on the raw ids and prefixed once, when distinct:
    # sorting "p<SEP>id" by string is sorting id when p is shared.
    single = len(platforms) <= 1
    prefix = f"{next(iter(platforms))}{SEP}" if single and platforms else ""

    def keyed(values: Iterable[str], platform_of: Iterable[str]) -> list[str]:
        if single:
            return values if isinstance(values, list) else list(values)
        return [f"{p}{SEP}{v}" for p, v in zip(platform_of, values, strict=True)]

    def prefixed(keys: list[str]) -> list[str]:
        return list(map(prefix.__add__, keys)) if single else keys

    post_keys = prefixed(keyed(list(map(attrgetter("post_id"), ordered)), post_platform))
    post_accounts = keyed(list(map(attrgetter("account_id"), ordered)), post_platform)
    account_records: dict[str, AccountRecord] = {}
    for a in accounts:
        key = f"{a.platform}{SEP}{a.account_id}"
        prev_a = account_records.get(key)
        if prev_a is None or (a.line, a.handle) < (prev_a.line, prev_a.handle):
            account_records[key] = a
    record_keys = keyed(list(map(attrgetter("account_id"), accounts)), map(attrgetter("platform"), accounts))
    distinct_accounts, codes = factorise(post_accounts + record_keys)
    account_keys = prefixed(distinct_accounts)
    account = codes[:n]
    time = np.fromiter(map(datetime.timestamp, map(attrgetter("created_at"), ordered)), dtype=np.float64, count=n)
    handles: dict[str, str] = {}
    for i in np.flatnonzero(np.fromiter(map(bool, map(attrgetter("handle"), ordered)), dtype=bool, count=n)).tolist():
        r = ordered[i]
        k = f"{r.platform}{SEP}{r.account_id}"
        handles[k] = min(handles.get(k, r.handle), r.handle)

    wanted = set(params.behaviours)
    actions: dict[str, tuple[np.ndarray, list[str], bool]] = {}  # behaviour -> (post index, keys, prefixed)
    reshare_of = list(map(attrgetter("reshare_of"), ordered))
    is_reshare = np.fromiter(map(bool, reshare_of), dtype=bool, count=n)
    reshares = np.flatnonzero(is_reshare)
    if "co-reshare" in wanted:
        keys = keyed(list(filter(None, reshare_of)), compress(post_platform, is_reshare))
        actions["co-reshare"] = (reshares, keys, True)
    # The content behaviours look at the posts that are not reshares.
    content = np.flatnonzero(~is_reshare)
    recs = list(map(ordered.__getitem__, content.tolist())) if len(reshares) else ordered
    platform_of = list(map(attrgetter("platform"), recs)) if not single else []
    if "co-reply" in wanted:
        reply_to = list(map(attrgetter("reply_to"), recs))
        has = np.fromiter(map(bool, reply_to), dtype=bool, count=len(recs))
        actions["co-reply"] = (content[has], keyed(list(filter(None, reply_to)), compress(platform_of, has)), True)
    if "co-link" in wanted:
        normalised = map(attrgetter("normalised_urls"), recs)
        urls = [a or b for a, b in zip(normalised, map(attrgetter("urls"), recs), strict=True)]
        actions["co-link"] = (*_flatten(content, urls), False)
    for behaviour, name in (("co-domain", "domains"), ("co-hashtag", "hashtags"), ("same-media", "media_hashes")):
        if behaviour in wanted:
            actions[behaviour] = (*_flatten(content, list(map(attrgetter(name), recs))), False)
    if "co-mention" in wanted:
        mentions = list(map(attrgetter("mentions"), recs))
        where, items = _flatten(content, mentions)
        if not single:
            platform_of_item = chain.from_iterable(map(repeat, platform_of, map(len, mentions)))
            items = [f"{p}{SEP}{m}" for p, m in zip(platform_of_item, items, strict=True)]
        actions["co-mention"] = (where, items, True)
    norm_texts: list[str] = []
    texts: tuple[np.ndarray, list[str], np.ndarray] | None = None  # posts with text, distinct texts, codes
    if wanted & {"same-text", "similar-text"}:
        norm_texts = normalise_texts(list(map(attrgetter("text"), recs)))
        has = np.fromiter(map(bool, norm_texts), dtype=bool, count=len(recs))
        # Texts are many and long: codes in post order (itself canonical) spare sorting them, and one
        # factorisation serves both text behaviours.
        texts = (content[has], *factorise(list(filter(None, norm_texts)), sort=False))

    objects: dict[str, ObjectTable] = {}
    time_order = TimeOrder.of(time)
    if "same-text" in wanted and texts is not None:
        actions["same-text"] = (texts[0], texts[1], False)
    for behaviour in sorted(actions):
        post, raw_keys, platform_keys = actions[behaviour]
        if behaviour == "same-text" and texts is not None:
            keys, obj = texts[1], texts[2]
        else:
            keys, obj = factorise(raw_keys)
        table, kept = _table(post, obj, len(keys), time_order)
        kept_keys = [keys[k] for k in kept.tolist()]
        table.keys = prefixed(kept_keys) if platform_keys else kept_keys
        table.activity = np.bincount(account[post], minlength=len(account_keys))
        objects[behaviour] = table

    arrays = PostArrays(
        post_keys=post_keys,
        account_keys=account_keys,
        account=account,
        time=time,
        objects=objects,
        accounts=account_records,
        handles=handles,
    )
    if "similar-text" in wanted:
        _add_similar_text(arrays, content, norm_texts, params, time_order, texts)
    return arrays


def _add_similar_text(
    arrays: PostArrays,
    content: np.ndarray,
    norm_texts: list[str],
    params: EngineParams,
    time_order: TimeOrder,
    texts: tuple[np.ndarray, list[str], np.ndarray] | None = None,
) -> None:
    """MinHash each distinct text once; the objects are the LSH buckets (band, band hash)."""
    n = arrays.n_posts
    if params.text_min_chars <= 0 or texts is None:
        if params.text_min_chars <= 0:  # every post takes part, reshares and empty texts included
            every = [""] * n
            for i, text in zip(content.tolist(), norm_texts, strict=True):
                every[i] = text
            content, norm_texts = np.arange(n, dtype=np.int64), every
        long_enough = np.fromiter(map(len, norm_texts), dtype=np.int64, count=len(norm_texts)) >= params.text_min_chars
        text_posts = content[long_enough]
        # Rows in post order: only their values matter (signatures are compared, never the rows' order).
        distinct, row = factorise(list(compress(norm_texts, long_enough)), sort=False)
    else:
        # The distinct texts long enough, in the same (first-seen) order, and the posts that have one.
        posts_with_text, all_texts, code = texts
        long_text = np.fromiter(map(len, all_texts), dtype=np.int64, count=len(all_texts)) >= params.text_min_chars
        rank = np.cumsum(long_text) - 1
        kept = long_text[code]
        text_posts, row = posts_with_text[kept], rank[code[kept]]
        distinct = list(compress(all_texts, long_text))
    sig = minhash_signatures(distinct, params.shingle_size, params.n_hashes, params.seed)
    bands = band_hashes(sig, params.lsh_bands, params.lsh_rows)
    text_row = np.full(n, -1, dtype=np.int64)
    text_row[text_posts] = row
    arrays.text_sig, arrays.text_bands, arrays.text_row = sig, bands, text_row

    nb = params.lsh_bands
    # Bucket key: the band in the top bits, its hash below, so one sort orders buckets by (band, hash).
    bucket_of_text = (np.arange(nb, dtype=np.uint64)[None, :] << np.uint64(58)) | (bands >> np.uint64(6))
    key = bucket_of_text[row].reshape(-1)
    post = np.repeat(text_posts, nb)
    # Only buckets of two posts or more can pair: their codes are their ranks among such buckets.
    sorted_key = np.sort(key)
    repeated = sorted_key[1:] == sorted_key[:-1]
    shared = sorted_unique(sorted_key[1:][repeated])
    # A bit table of the shared keys' hashes turns most keys away before the exact look-up.
    bits = min(max((len(shared) * 16).bit_length(), 10), 26)
    hits = np.zeros(1 << bits, dtype=bool)
    hits[hash_bits(shared, bits)] = True
    maybe = np.flatnonzero(hits[hash_bits(key, bits)])
    obj = np.searchsorted(shared, key[maybe])
    inside = obj < len(shared)
    inside[inside] = shared[obj[inside]] == key[maybe[inside]]
    table, _ = _table(post[maybe[inside]], obj[inside], len(shared), time_order, dedupe=False)
    table.bucket_key = shared
    table.band = (table.bucket_key >> np.uint64(58)).astype(np.int64)
    table.activity = np.bincount(arrays.account[text_posts], minlength=arrays.n_accounts)
    arrays.objects["similar-text"] = table
