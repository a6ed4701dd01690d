"""Compact, order-independent numpy arrays built from sample records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from detection.engine.params import BEHAVIOURS, EngineParams
from detection.engine.records import AccountRecord, PostRecord
from detection.engine.textsim import band_hashes, minhash_signatures, normalise_text

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

    post_keys: list[str]  # "platform<SEP>post_id", sorted
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
        return len(self.post_keys)

    @property
    def n_accounts(self) -> int:
        return len(self.account_keys)


def _merge(a: PostRecord, b: PostRecord) -> PostRecord:
    """Two rows of one post (CooRTweet's German layout writes one row per object): keep one, union lists."""
    first, second = (a, b) if _record_order(a) <= _record_order(b) else (b, a)

    def union(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
        if not y or x == y:
            return x
        if not x:
            return y
        return tuple(sorted(set(x) | set(y)))

    return PostRecord(
        platform=first.platform,
        post_id=first.post_id,
        account_id=first.account_id,
        created_at=first.created_at,
        line=min(a.line, b.line),
        text=first.text or second.text,
        reshare_of=first.reshare_of or second.reshare_of,
        reply_to=first.reply_to or second.reply_to,
        quote_of=first.quote_of or second.quote_of,
        urls=union(first.urls, second.urls),
        normalised_urls=union(first.normalised_urls, second.normalised_urls),
        domains=union(first.domains, second.domains),
        hashtags=union(first.hashtags, second.hashtags),
        mentions=union(first.mentions, second.mentions),
        media_hashes=union(first.media_hashes, second.media_hashes),
        lang=first.lang or second.lang,
        handle=first.handle or second.handle,
    )


def _record_order(r: PostRecord) -> tuple:
    return (r.created_at.timestamp(), r.account_id, r.reshare_of, r.reply_to, r.text, r.quote_of, r.handle)


def _codes(pairs_post: list[int], pairs_key: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Map object keys to codes in sorted-key order, so codes never depend on input order."""
    index: dict[str, int] = {}
    raw = np.fromiter((index.setdefault(k, len(index)) for k in pairs_key), dtype=np.int64, count=len(pairs_key))
    keys = sorted(index)
    remap = np.empty(len(keys), dtype=np.int64)
    for new, k in enumerate(keys):
        remap[index[k]] = new
    return keys, remap[raw] if len(raw) else raw, np.asarray(pairs_post, dtype=np.int64)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique for int64 keys by one sort (faster than numpy's hash-based unique at this size)."""
    if len(x) == 0:
        return x
    s = np.sort(x)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _table(
    post: np.ndarray, obj: np.ndarray, n_objects: int, time: np.ndarray, dedupe: bool = True
) -> tuple[ObjectTable, np.ndarray]:
    """Sort actions by (object, time, post); drop repeated actions and objects only one post touches."""
    if dedupe and len(post):
        # One post may name an object twice (a URL written twice): it is one action.
        width = int(post.max()) + 1
        uniq = sorted_unique(obj * width + post)
        obj, post = uniq // width, uniq % width
    counts = np.bincount(obj, minlength=n_objects)
    kept_objects = np.flatnonzero(counts >= 2)
    recode = np.full(n_objects, -1, dtype=np.int64)
    recode[kept_objects] = np.arange(len(kept_objects))
    keep = counts[obj] >= 2
    obj, post = recode[obj[keep]], post[keep]
    order = np.lexsort((post, time[post], obj))
    return ObjectTable(keys=[], obj=obj[order], post=post[order]), kept_objects


def build_arrays(
    posts: Iterable[PostRecord], accounts: Iterable[AccountRecord] = (), params: EngineParams | None = None
) -> PostArrays:
    """Turn records (any order, duplicates merged by platform and post id) into the engine's arrays."""
    params = params or EngineParams()
    merged: dict[tuple[str, str], PostRecord] = {}
    for rec in posts:
        key = (rec.platform, rec.post_id)
        prev = merged.get(key)
        merged[key] = rec if prev is None else _merge(prev, rec)
    ordered = [merged[k] for k in sorted(merged)]
    post_keys = [f"{p}{SEP}{i}" for p, i in sorted(merged)]

    acc_index: dict[str, int] = {}
    raw_acc = np.fromiter(
        (acc_index.setdefault(f"{r.platform}{SEP}{r.account_id}", len(acc_index)) for r in ordered),
        dtype=np.int64,
        count=len(ordered),
    )
    account_records: dict[str, AccountRecord] = {}
    for a in accounts:
        key = f"{a.platform}{SEP}{a.account_id}"
        acc_index.setdefault(key, len(acc_index))
        prev_a = account_records.get(key)
        if prev_a is None or (a.line, a.handle) < (prev_a.line, prev_a.handle):
            account_records[key] = a
    account_keys = sorted(acc_index)
    remap = np.empty(len(account_keys), dtype=np.int64)
    for new, k in enumerate(account_keys):
        remap[acc_index[k]] = new
    account = remap[raw_acc] if len(raw_acc) else raw_acc
    time = np.fromiter((r.created_at.timestamp() for r in ordered), dtype=np.float64, count=len(ordered))
    handles: dict[str, str] = {}
    for r in ordered:
        if r.handle:
            k = f"{r.platform}{SEP}{r.account_id}"
            handles[k] = min(handles.get(k, r.handle), r.handle)

    wanted = set(params.behaviours)
    # Collected for every behaviour (cheap), turned into tables only for the wanted ones.
    lists: dict[str, tuple[list[int], list[str]]] = {b: ([], []) for b in BEHAVIOURS if b != "similar-text"}
    norm_texts: list[str] = [""] * len(ordered)
    need_text = bool(wanted & {"same-text", "similar-text"})
    reshare_p, reshare_k = lists["co-reshare"]
    reply_p, reply_k = lists["co-reply"]
    link_p, link_k = lists["co-link"]
    domain_p, domain_k = lists["co-domain"]
    tag_p, tag_k = lists["co-hashtag"]
    mention_p, mention_k = lists["co-mention"]
    media_p, media_k = lists["same-media"]
    text_p, text_k = lists["same-text"]
    for i, r in enumerate(ordered):
        if r.reshare_of:
            reshare_p.append(i)
            reshare_k.append(f"{r.platform}{SEP}{r.reshare_of}")
            continue
        if r.reply_to:
            reply_p.append(i)
            reply_k.append(f"{r.platform}{SEP}{r.reply_to}")
        for u in r.normalised_urls or r.urls:
            link_p.append(i)
            link_k.append(u)
        for d in r.domains:
            domain_p.append(i)
            domain_k.append(d)
        for h in r.hashtags:
            tag_p.append(i)
            tag_k.append(h)
        for m in r.mentions:
            mention_p.append(i)
            mention_k.append(f"{r.platform}{SEP}{m}")
        for h in r.media_hashes:
            media_p.append(i)
            media_k.append(h)
        if need_text and r.text:
            norm_texts[i] = normalise_text(r.text)
            if norm_texts[i]:
                text_p.append(i)
                text_k.append(norm_texts[i])

    objects: dict[str, ObjectTable] = {}
    for behaviour in sorted(wanted & set(lists)):
        keys, obj, post = _codes(lists[behaviour][0], lists[behaviour][1])
        table, kept = _table(post, obj, len(keys), time)
        table.keys = [keys[k] for k in kept.tolist()]
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
        _add_similar_text(arrays, norm_texts, params)
    return arrays


def _add_similar_text(arrays: PostArrays, norm_texts: list[str], params: EngineParams) -> None:
    """MinHash each distinct text once; the objects are the LSH buckets (band, band hash)."""
    n = arrays.n_posts
    text_posts = np.fromiter((i for i, t in enumerate(norm_texts) if len(t) >= params.text_min_chars), dtype=np.int64)
    distinct: dict[str, int] = {}
    which = np.fromiter(
        (distinct.setdefault(norm_texts[i], len(distinct)) for i in text_posts.tolist()),
        dtype=np.int64,
        count=len(text_posts),
    )
    texts = sorted(distinct)
    rank = np.empty(len(texts), dtype=np.int64)
    for new, t in enumerate(texts):
        rank[distinct[t]] = new
    sig = minhash_signatures(texts, params.shingle_size, params.n_hashes, params.seed)
    bands = band_hashes(sig, params.lsh_bands, params.lsh_rows)
    row = rank[which] if len(which) else which
    text_row = np.full(n, -1, dtype=np.int64)
    text_row[text_posts] = row
    arrays.text_sig, arrays.text_bands, arrays.text_row = sig, bands, text_row

    nb = params.lsh_bands
    # Bucket key: the band in the top bits, its hash below, so one sort orders buckets by (band, hash).
    bucket_of_text = (np.arange(nb, dtype=np.uint64)[None, :] << np.uint64(58)) | (bands >> np.uint64(6))
    key = bucket_of_text[row].reshape(-1)
    post = np.repeat(text_posts, nb)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    new_bucket = np.ones(len(key), dtype=bool)
    new_bucket[1:] = sorted_key[1:] != sorted_key[:-1]
    obj = np.empty(len(key), dtype=np.int64)
    obj[order] = np.cumsum(new_bucket) - 1
    first_key = sorted_key[new_bucket]
    table, kept = _table(post, obj, len(first_key), arrays.time, dedupe=False)
    table.bucket_key = first_key[kept]
    table.band = (table.bucket_key >> np.uint64(58)).astype(np.int64)
    table.activity = np.bincount(arrays.account[text_posts], minlength=arrays.n_accounts)
    arrays.objects["similar-text"] = table
