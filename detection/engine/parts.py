"""A run's prepare split into parts, so that no single task holds the whole sample.

The posts are split into ranges of the engine's post order (platform, post id): part m holds the posts numbered
``offset`` to ``offset + len(posts) - 1``. Given each of its posts' account codes (from a dictionary of the
sample's accounts, sorted as ``build_arrays`` sorts them), a part writes, without seeing any other part:

- ``part_summary``: per post its key, account and time; per account its posts here and its activity in each
  behaviour (sums over the parts give the engine's figures);
- ``part_fragments``: per shard, the actions of its posts on the objects of that shard, each object named by the
  128-bit BLAKE2b digest of its key (``shards.key_digests``; for similar-text, by its LSH bucket key), never by a
  code (codes need every part) and never by the key string (a shard finds its objects by sorting numbers).

A shard then assembles its partition from the fragments of every part, in part order (``partition_from_fragments``):
the actions of its objects sorted by (object, time, post), repeated actions and objects with a single action
dropped, as ``build_arrays`` does for the whole sample, with object codes of its own. ``shard_edges_from_partition``
reads it as it reads a partition of ``partition_shards``, and gives the same matches. ``arrays_from_parts`` gives
the reduce the arrays ``finalise`` reads, with every shard's objects one after the other: ``finalise`` depends on
the objects' order nowhere, only on each object's actions being sorted by time.

Naming objects by digest can change a result only if two different keys of one behaviour share all 128 bits: they
would be one object. Among n distinct keys the odds of any such pair are below n²/2¹²⁹ (the birthday bound):
about 1.5e-21 for a billion keys, far below the odds of a hardware fault, so the results are the single-process
engine's, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import attrgetter

import numpy as np

from detection.engine.arrays import SEP, factorise
from detection.engine.coaction import _LIMIT, _pairs_from
from detection.engine.params import EngineParams
from detection.engine.partition import NpzArrays, _check_header, _header
from detection.engine.records import PostRecord
from detection.engine.shards import bucket_shards, digest_shards, key_digests
from detection.engine.textsim import band_hashes, minhash_signatures, normalise_texts

# How a match names its post (coaction.MatchCodec): by its index, by its rank among its account's posts, or not.
COMPACT, RANKED, WIDE = 1, 2, 0
STRING_BEHAVIOURS = ("co-reshare", "co-reply", "co-link", "co-domain", "co-hashtag", "co-mention", "same-text")


class PartError(ValueError):
    """A part's posts are not the range the plan gave it (out of order, repeated, or not as many)."""


def codec_of(n_posts: int, n_accounts: int, busiest: int) -> tuple[int, int]:
    """(mode, width) of the match codec, as coaction.match_codec decides it on the arrays: busiest is the most
    posts of one account."""
    if n_accounts * n_accounts * 2 * max(n_posts, 1) < _LIMIT:
        return COMPACT, max(n_posts, 1)
    if n_posts == 0 or n_accounts * n_accounts * 2 * busiest >= _LIMIT:
        return WIDE, 0
    return RANKED, busiest


def run_common(
    params: EngineParams, *, n_posts: int, n_accounts: int, busiest: int, n_shards: int, n_parts: int
) -> NpzArrays:
    """The file every step of a parted run reads: sizes, the codec, behaviours, parameters and version."""
    mode, width = codec_of(n_posts, n_accounts, busiest)
    return {
        **_header(params),
        "meta": np.array([n_posts, n_accounts, width, n_shards], dtype=np.int64),
        "codec": np.array([mode, n_parts], dtype=np.int64),
        "behaviours": np.array(list(params.behaviours), dtype=np.str_),
    }


_PART_FIELDS = (
    "platform",
    "post_id",
    "reshare_of",
    "reply_to",
    "text",
    "urls",
    "normalised_urls",
    "domains",
    "hashtags",
    "mentions",
    "media_hashes",
)


@dataclass(frozen=True, eq=False)
class PartPosts:
    """A part's posts as columns, in post order: what ``PartColumns`` reads of them.

    ``time`` is each post's time as epoch seconds (``datetime.timestamp``); the list fields hold a tuple per post.
    A reader fills it column by column (the database gives the times as numbers, no datetime is ever built);
    ``from_records`` makes it from engine records.
    """

    platform: Sequence[str]
    post_id: Sequence[str]
    time: np.ndarray
    reshare_of: Sequence[str]
    reply_to: Sequence[str]
    text: Sequence[str]
    urls: Sequence[tuple[str, ...]]
    normalised_urls: Sequence[tuple[str, ...]]
    domains: Sequence[tuple[str, ...]]
    hashtags: Sequence[tuple[str, ...]]
    mentions: Sequence[tuple[str, ...]]
    media_hashes: Sequence[tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.platform)

    @classmethod
    def from_records(cls, records: Sequence[PostRecord]) -> PartPosts:
        """The columns of engine records, given in post order."""
        columns = {name: list(map(attrgetter(name), records)) for name in _PART_FIELDS}
        created = map(datetime.timestamp, map(attrgetter("created_at"), records))
        return cls(**columns, time=np.fromiter(created, np.float64, count=len(records)))


def _check_order(posts: PartPosts) -> None:
    keys = list(zip(posts.platform, posts.post_id, strict=True))
    if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
        raise PartError("the part's posts are not in (platform, post id) order, each once")


def _local_rank(account: np.ndarray, n_accounts: int) -> np.ndarray:
    """Each post's rank among the posts of its account in this part, in post order."""
    order = np.argsort(account, kind="stable")
    counts = np.bincount(account, minlength=n_accounts)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(account), dtype=np.int64)
    rank[order] = np.arange(len(account), dtype=np.int64) - first[account[order]]
    return rank


class PartColumns:
    """One part's posts as columns: what its summary and fragments are written from."""

    def __init__(
        self, posts: PartPosts, account: np.ndarray, offset: int, params: EngineParams, n_accounts: int
    ) -> None:
        _check_order(posts)
        if len(account) != len(posts):
            raise PartError("one account code per post is needed")
        n = len(posts)
        self.params = params
        self.n_accounts = n_accounts
        self.offset = offset
        self.account = np.asarray(account, dtype=np.int64)
        self.time = np.asarray(posts.time, dtype=np.float64)
        if len(self.time) != n:
            raise PartError("one time per post is needed")
        self.rank = _local_rank(self.account, n_accounts)
        # Per behaviour: (local post index per action, object key per action) or, for similar-text, the LSH
        # bucket keys and text rows.
        self.actions: dict[str, tuple[np.ndarray, list[str]]] = {}
        self.activity: dict[str, np.ndarray] = {}
        wanted = set(params.behaviours)
        platform, reshare_of = posts.platform, posts.reshare_of
        is_reshare = np.fromiter(map(bool, reshare_of), dtype=bool, count=n)
        content = np.flatnonzero(~is_reshare)
        rows = content.tolist()
        if "co-reshare" in wanted:
            where = np.flatnonzero(is_reshare)
            self.actions["co-reshare"] = (where, [f"{platform[i]}{SEP}{reshare_of[i]}" for i in where.tolist()])
        if "co-reply" in wanted:
            reply_to = posts.reply_to
            replies = [i for i in rows if reply_to[i]]
            self.actions["co-reply"] = (
                np.array(replies, np.int64),
                [f"{platform[i]}{SEP}{reply_to[i]}" for i in replies],
            )
        lists = {
            "co-link": [posts.normalised_urls[i] or posts.urls[i] for i in rows],
            "co-domain": [posts.domains[i] for i in rows],
            "co-hashtag": [posts.hashtags[i] for i in rows],
            "same-media": [posts.media_hashes[i] for i in rows],
            "co-mention": [tuple(f"{platform[i]}{SEP}{m}" for m in posts.mentions[i]) for i in rows],
        }
        for behaviour, items in lists.items():
            if behaviour in wanted:
                lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
                self.actions[behaviour] = (np.repeat(content, lengths), list(chain.from_iterable(items)))
        norm_texts = normalise_texts([posts.text[i] for i in rows]) if wanted & {"same-text", "similar-text"} else []
        if "same-text" in wanted:
            has = np.fromiter(map(bool, norm_texts), dtype=bool, count=len(rows))
            self.actions["same-text"] = (content[has], [t for t in norm_texts if t])
        for behaviour, (where, _) in self.actions.items():
            self.activity[behaviour] = np.bincount(self.account[where], minlength=n_accounts)
        if "similar-text" in wanted:
            self._similar_text(content, norm_texts, n)

    def _similar_text(self, content: np.ndarray, norm_texts: list[str], n: int) -> None:
        """MinHash each distinct text of the part; the objects are the LSH buckets (band, band hash)."""
        params = self.params
        if params.text_min_chars <= 0:  # every post takes part, reshares and empty texts included
            every = [""] * n
            for i, text in zip(content.tolist(), norm_texts, strict=True):
                every[i] = text
            content, norm_texts = np.arange(n, dtype=np.int64), every
        long_enough = np.fromiter(map(len, norm_texts), dtype=np.int64, count=len(norm_texts)) >= params.text_min_chars
        if params.text_min_chars > 0:
            long_enough &= np.fromiter(map(bool, norm_texts), dtype=bool, count=len(norm_texts))
        text_posts = content[long_enough]
        distinct, row = factorise([t for t, k in zip(norm_texts, long_enough.tolist(), strict=True) if k], sort=False)
        sig = minhash_signatures(distinct, params.shingle_size, params.n_hashes, params.seed)
        bands = band_hashes(sig, params.lsh_bands, params.lsh_rows)
        nb = params.lsh_bands
        bucket_of_text = (np.arange(nb, dtype=np.uint64)[None, :] << np.uint64(58)) | (bands >> np.uint64(6))
        self.similar = (np.repeat(text_posts, nb), bucket_of_text[row].reshape(-1), np.repeat(row, nb), sig)
        # Which posts share a text, across parts: a 128-bit digest of each text (the reduce numbers the texts).
        self.text_posts = text_posts
        self.text_digest = key_digests(distinct)[row]
        self.activity["similar-text"] = np.bincount(self.account[text_posts], minlength=self.n_accounts)


def part_summary(columns: PartColumns, params: EngineParams, part: int) -> NpzArrays:
    """What the reduce reads of a part: per post its account and time; per account its posts and activity."""
    out: NpzArrays = {
        **_header(params),
        "meta": np.array([part, columns.offset, len(columns.account)], dtype=np.int64),
        "account": columns.account,
        "time": columns.time,
        "counts": np.bincount(columns.account, minlength=columns.n_accounts),
    }
    if hasattr(columns, "text_posts"):
        out["text_post"] = columns.text_posts + columns.offset
        out["text_digest"] = columns.text_digest
    for behaviour, activity in columns.activity.items():
        out[f"activity:{behaviour}"] = activity
    return out


def part_fragments(columns: PartColumns, params: EngineParams, part: int, n_shards: int) -> Iterator[NpzArrays]:
    """Per shard, in shard order: the part's actions on that shard's objects, each object named by its key's digest
    (``digest:<behaviour>``, (n, 2) uint64 per action) or, for similar-text, its LSH bucket (``bucket:``).

    Each distinct key of the part is hashed once: its digest gives its shard too (``shards.digest_shards``, the
    shard ``shard_of`` gives it in one process)."""
    split: dict[str, tuple] = {}
    for behaviour, (where, keys) in columns.actions.items():
        distinct, code = factorise(keys, sort=False)
        digests = key_digests(distinct)
        split[behaviour] = (where, False, digests[code], digest_shards(digests, n_shards)[code])
    if hasattr(columns, "similar"):
        where, bucket, row, _ = columns.similar
        split["similar-text"] = (where, True, bucket, bucket_shards(bucket, n_shards))
    # Each behaviour's actions in shard order (a stable sort keeps each shard's in the part's order).
    by_shard = {}
    for behaviour, (_, _, _, action_shard) in split.items():
        order = np.argsort(action_shard, kind="stable")
        by_shard[behaviour] = order, np.searchsorted(action_shard[order], np.arange(n_shards + 1))
    for shard in range(n_shards):
        out = {**_header(params), "meta": np.array([part, shard, n_shards], dtype=np.int64)}
        for behaviour, (where, similar, names, _) in split.items():
            order, bounds = by_shard[behaviour]
            mine = order[bounds[shard] : bounds[shard + 1]]
            post = where[mine]
            out[f"post:{behaviour}"] = post + columns.offset
            out[f"account:{behaviour}"] = columns.account[post]
            out[f"time:{behaviour}"] = columns.time[post]
            out[f"rank:{behaviour}"] = columns.rank[post]
            if similar:
                _, _, row, sig = columns.similar
                rows, text_row = np.unique(row[mine], return_inverse=True)
                out[f"bucket:{behaviour}"] = names[mine]
                out[f"text_row:{behaviour}"] = text_row.astype(np.int64)
                out[f"text_sig:{behaviour}"] = sig[rows]
            else:
                out[f"digest:{behaviour}"] = names[mine]
        yield out


def partition_from_fragments(
    common: NpzArrays,
    fragments: Iterable[NpzArrays],
    params: EngineParams,
    shard: int,
    counts_before: Iterable[np.ndarray] = (),
) -> NpzArrays:
    """A shard's partition from the fragments every part wrote for it, given in part order.

    counts_before: for the ranked codec, per part in the same order, its posts per account (part summaries'
    ``counts``): a post's rank among its account's posts is its rank in its part plus its account's posts in
    the parts before.
    """
    _check_header(common, params, "common file")
    _, n_accounts, _, n_shards = (int(x) for x in common["meta"])
    mode = int(common["codec"][0])
    before = iter(counts_before) if mode == RANKED else None
    seen = np.zeros(n_accounts, dtype=np.int64)
    collected: dict[str, list[NpzArrays]] = {}
    for fragment in fragments:
        _check_header(fragment, params, "fragment")
        part, frag_shard, frag_shards = (int(x) for x in fragment["meta"])
        if (frag_shard, frag_shards) != (shard, n_shards):
            raise PartError(f"part {part}'s fragment is for shard {frag_shard} of {frag_shards}, not {shard}")
        offset_rank = None
        if before is not None:
            offset_rank = seen.copy()
            seen += next(before)
        for behaviour in common["behaviours"].tolist():
            if f"post:{behaviour}" not in fragment:
                continue
            piece = {name.split(":", 1)[0]: fragment[name] for name in fragment if name.endswith(f":{behaviour}")}
            if "bucket" not in piece and "digest" not in piece:
                raise PartError(f"part {part}'s fragment names its objects by key (an earlier release): score again")
            if offset_rank is not None:
                piece["rank"] = piece["rank"] + offset_rank[piece["account"]]
            collected.setdefault(behaviour, []).append(piece)
    out = {**_header(params), "meta": np.array([shard, n_shards], dtype=np.int64)}
    for behaviour in common["behaviours"].tolist():
        out |= _shard_table(collected.get(behaviour, []), behaviour, mode, params)
    return out


def _concat(pieces: list[NpzArrays], name: str, dtype) -> np.ndarray:
    return np.concatenate([p[name] for p in pieces]) if pieces else np.zeros(0, dtype=dtype)


def _shared_names(head: np.ndarray) -> np.ndarray:
    """The actions, in their order, whose object's first digest word (or bucket) some other action has too.

    Most objects are named by one action and are dropped anyway; leaving them out before the full sort by
    (object, time, post) makes that sort several times smaller. Equal objects have equal first words, so no
    object named twice is left out."""
    by_head = np.argsort(head)
    same = head[by_head[1:]] == head[by_head[:-1]]
    shared = np.zeros(len(head), dtype=bool)
    shared[by_head[1:][same]] = True
    shared[by_head[:-1][same]] = True
    return np.flatnonzero(shared)


def _shard_table(pieces: list[NpzArrays], behaviour: str, mode: int, params: EngineParams) -> NpzArrays:
    """One behaviour's actions of a shard sorted by (object, time, post), objects of a single action dropped.

    An object is its key's digest (two uint64 columns) or its LSH bucket: one sort by (object, time, post) puts
    each object's actions together, and its codes number the objects in digest order (any order would do). The
    band hashes of the texts kept are made here from their signatures: the fragments leave them out, as most of
    the texts a fragment carries share no bucket and are dropped (a fifth of the fragments' bytes)."""
    if not pieces:
        return {}
    post, account = _concat(pieces, "post", np.int64), _concat(pieces, "account", np.int64)
    time, rank = _concat(pieces, "time", np.float64), _concat(pieces, "rank", np.int64)
    similar = behaviour == "similar-text"
    if similar:
        names = _concat(pieces, "bucket", np.uint64)[:, None]
        row_offset = np.cumsum([0] + [len(p["text_sig"]) for p in pieces])
        text_row = np.concatenate([p["text_row"] + o for p, o in zip(pieces, row_offset.tolist(), strict=False)])
    else:
        names = np.concatenate([p["digest"] for p in pieces]).reshape(-1, 2)
    shared = _shared_names(names[:, 0])
    names, post, account, time, rank = names[shared], post[shared], account[shared], time[shared], rank[shared]
    if similar:
        text_row = text_row[shared]
    order = np.lexsort((post, time, *names.T[::-1]))
    names, post, account, time, rank = names[order], post[order], account[order], time[order], rank[order]
    first = np.ones(len(names), dtype=bool)
    first[1:] = np.any(names[1:] != names[:-1], axis=1)
    obj = np.cumsum(first) - 1
    # A post naming an object twice (a URL written twice) is one action.
    keep = np.ones(len(obj), dtype=bool)
    keep[1:] = (obj[1:] != obj[:-1]) | (post[1:] != post[:-1])
    counts = np.bincount(obj[keep], minlength=int(obj.max()) + 1 if len(obj) else 0)
    keep &= counts[obj] >= 2
    kept_objects = np.flatnonzero(counts >= 2)
    recode = np.full(len(counts), -1, dtype=np.int64)
    recode[kept_objects] = np.arange(len(kept_objects))
    out = {
        f"obj:{behaviour}": recode[obj[keep]],
        f"post:{behaviour}": post[keep],
        f"account:{behaviour}": account[keep],
        f"time:{behaviour}": time[keep],
    }
    if mode == RANKED:
        out[f"rank:{behaviour}"] = rank[keep]
    if similar:
        sig = np.concatenate([p["text_sig"] for p in pieces])
        rows, text_row_kept = np.unique(text_row[order][keep], return_inverse=True)
        out[f"band:{behaviour}"] = (names[first, 0][kept_objects] >> np.uint64(58)).astype(np.int64)
        out[f"text_row:{behaviour}"] = text_row_kept.astype(np.int64).reshape(-1)
        out[f"text_sig:{behaviour}"] = sig[rows]
        out[f"text_bands:{behaviour}"] = band_hashes(sig[rows], params.lsh_bands, params.lsh_rows)
    return out


def select_inputs(common: NpzArrays, summaries: Iterable[NpzArrays]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """What ``api.select_edges_of`` reads of the parts' summaries, given in part order: per post its account, and
    per behaviour each account's activity summed over the parts."""
    n_posts, n_accounts, _, _ = (int(x) for x in common["meta"])
    activity = {b: np.zeros(n_accounts, dtype=np.int64) for b in common["behaviours"].tolist()}
    account = []
    for summary in summaries:
        account.append(summary["account"])
        for b, total in activity.items():
            if f"activity:{b}" in summary:
                total += summary[f"activity:{b}"]
    held = sum(map(len, account))
    if held != n_posts:
        raise PartError(f"the parts hold {held:,} posts, the run has {n_posts:,}")
    return (np.concatenate(account) if account else np.zeros(0, np.int64)), activity


def reduce_inputs(
    common: NpzArrays, accounts: NpzArrays, summaries: Iterable[NpzArrays], shard_pairs: Iterable[NpzArrays]
) -> tuple[NpzArrays, NpzArrays]:
    """The common file with the activity summed over the parts, and what ``arrays_from_finalise`` reads for
    ``finalise_from_pairs``: per post its account, time and text row; the co-reshare table (the one the groups'
    features read); no other object and no text signature.

    accounts: the sample's accounts in code order (``account_keys``, ``handle``, ``created`` as epoch seconds or
    NaN); summaries: the parts' summaries in part order; shard_pairs: every shard's ``shard_pairs_from_partition``.
    """
    summaries = list(summaries)
    n_posts, n_accounts, _, _ = (int(x) for x in common["meta"])
    account, activity = select_inputs(common, summaries)
    data: NpzArrays = {"account": account, "time": _concat(summaries, "time", np.float64)}
    for name in ("account_keys:utf8", "account_keys:ends", "record_handle:utf8", "record_handle:ends"):
        data[name] = accounts[name]
    data["handle:utf8"], data["handle:ends"] = accounts["record_handle:utf8"], accounts["record_handle:ends"]
    data["record"] = np.ones(n_accounts, dtype=bool)
    data["record_created"] = accounts["record_created"]
    with_text = [summary for summary in summaries if "text_post" in summary]
    if with_text:
        data["text_row"] = _text_rows(n_posts, with_text)
    pieces = [
        {"obj": pairs["obj:co-reshare"], "post": pairs["post:co-reshare"]}
        for pairs in shard_pairs
        if "obj:co-reshare" in pairs
    ]
    if pieces:
        objects = np.cumsum([0] + [int(p["obj"].max()) + 1 if len(p["obj"]) else 0 for p in pieces]).tolist()
        data["obj:co-reshare"] = np.concatenate([p["obj"] + o for p, o in zip(pieces, objects, strict=False)])
        data["post:co-reshare"] = _concat(pieces, "post", np.int64)
    common = {**common, **{f"activity:{b}": a for b, a in activity.items()}}
    return common, data


def _text_rows(n_posts: int, summaries: list[NpzArrays]) -> np.ndarray:
    """text_row as build_arrays makes it: texts numbered in the order of their first post, -1 for a post without
    one."""
    posts = _concat(summaries, "text_post", np.int64)
    digests = np.concatenate([summary["text_digest"] for summary in summaries])
    # The distinct digests by a stable sort of their two halves (np.unique on rows is several times slower): the
    # first of each run of equal digests is the text's first post.
    order = np.lexsort((digests[:, 1], digests[:, 0]))
    ordered = digests[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (ordered[1:, 0] != ordered[:-1, 0]) | (ordered[1:, 1] != ordered[:-1, 1])
    first = order[new]
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first), dtype=np.int64)
    text_row = np.full(n_posts, -1, dtype=np.int64)
    text_row[posts] = rank[inverse]
    return text_row


def partition_pair_counts(partition: NpzArrays, params: EngineParams) -> dict[str, int]:
    """Per behaviour of the run, the post pairs the sweep of this partition builds (coaction.pair_counts for one
    shard: the shards' counts add up to the run's)."""
    counts = {}
    for behaviour in params.behaviours:
        obj = partition.get(f"obj:{behaviour}")
        if obj is None or len(obj) < 2:
            counts[behaviour] = 0
        else:
            counts[behaviour] = int(_pairs_from(obj, partition[f"time:{behaviour}"], params.window_s).sum())
    return counts
